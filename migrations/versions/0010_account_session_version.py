"""account.session_version: a logout ends the session on the server

Web sessions live in a signed cookie; until now ``POST /logout`` only cleared the
browser's copy, so a cookie saved before the logout kept working until its 8 h max age.
A session now remembers the account's ``session_version`` it began with, and a logout
bumps it: every cookie of that login made before is void at once, in every worker.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('session_version')

"""rollup_key.retired_at: a child unit's key replaced by another (the directory's signing_key)

When the level above loads a directory whose unit carries a different ``signing_key`` than
the one registered, the new key is trusted and the old one retired: kept (the snapshots it
signed stay verifiable) but no longer accepted for new snapshots.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.models

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rollup_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', engine.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rollup_key', schema=None) as batch_op:
        batch_op.drop_column('retired_at')

"""outbox (level, deadline) index for escalation detection

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_level_deadline', 'outbox', ['level', 'deadline'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_level_deadline', table_name='outbox')

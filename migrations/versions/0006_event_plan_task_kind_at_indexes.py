"""event (plan_id, kind, at) and (task_id, kind, at) indexes for reports

The report reads a plan's events of a few kinds over a time range (notes and status changes
in the period, extensions approved, items changed since the previous report) and each task's
latest note or evidence; without these indexes each of those reads scans the plan's whole log.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_event_plan_kind_at', 'event', ['plan_id', 'kind', 'at'], unique=False)
    op.create_index('ix_event_task_kind_at', 'event', ['task_id', 'kind', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_event_task_kind_at', table_name='event')
    op.drop_index('ix_event_plan_kind_at', table_name='event')

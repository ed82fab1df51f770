"""outbox: dedupe key led by level and occurrence; fewer, deadline-first indexes; submitted items index

Detection's new rows of a day share a level and a narrow range of deadlines, but their item
ids are scattered: with the item id first in the unique dedupe key (and in the
(work_item_id, recipient) index) every new row dirtied index pages of its own all over two
large indexes. The key becomes ``{level}:{occurrence}:{item}:{recipient}`` (existing rows
rewritten, so nothing is notified twice); the (work_item_id, recipient) and (level, deadline)
indexes become one (deadline, level, work_item_id), which serves detection's lookup of a
level's rows for a window of deadlines and the acknowledgement lookup (an item and its
deadline); the batch_key index keeps only rows with a batch (detection writes none).
A partial index on work_item.submitted_at (status 'submitted' only) serves the incremental
verification_pending rule. The foreign key outbox.work_item_id → work_item.id goes: on
PostgreSQL its check locks each referenced item row, a third of the cost of writing a day's
rows; detection only writes ids it has just selected and items are never deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ITEM = "CAST(work_item_id AS VARCHAR(20))"


def upgrade() -> None:
    # every row detection wrote has a work item; the others (delivery failure notices) keep
    # their keys
    op.execute(sa.text(f"UPDATE outbox SET dedupe_key = level || ':' || occurrence || ':' || {_ITEM} "
                       "|| ':' || recipient WHERE work_item_id IS NOT NULL"))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_item_recipient')
        batch_op.drop_constraint('fk_outbox_work_item_id_work_item', type_='foreignkey')
        batch_op.drop_index('ix_outbox_level_deadline')
        batch_op.drop_index('ix_outbox_batch_key')
        batch_op.create_index('ix_outbox_deadline_level_item', ['deadline', 'level', 'work_item_id'], unique=False)
        batch_op.create_index('ix_outbox_batch_key', ['batch_key'], unique=False,
                              sqlite_where=sa.text("batch_key IS NOT NULL"),
                              postgresql_where=sa.text("batch_key IS NOT NULL"))
    op.create_index('ix_work_item_submitted_at', 'work_item', ['submitted_at'], unique=False,
                    sqlite_where=sa.text("status = 'submitted'"), postgresql_where=sa.text("status = 'submitted'"))


def downgrade() -> None:
    op.drop_index('ix_work_item_submitted_at', table_name='work_item')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_deadline_level_item')
        batch_op.drop_index('ix_outbox_batch_key')
        batch_op.create_index('ix_outbox_batch_key', ['batch_key'], unique=False)
        batch_op.create_index('ix_outbox_level_deadline', ['level', 'deadline'], unique=False)
        batch_op.create_index('ix_outbox_item_recipient', ['work_item_id', 'recipient'], unique=False)
        batch_op.create_foreign_key('fk_outbox_work_item_id_work_item', 'work_item', ['work_item_id'], ['id'])
    op.execute(sa.text(f"UPDATE outbox SET dedupe_key = {_ITEM} || ':' || level || ':' || occurrence "
                       "|| ':' || recipient WHERE work_item_id IS NOT NULL"))

"""outbox: two indexes fewer per written row; detection_run; dedupe key compared bytewise

Writing a day's new outbox rows cost detection more than finding them (bench/escalation_scan.py,
1M items, PostgreSQL: the ~8,000 rows of a next-day pass, ready-made, took 0.9× the time of
selecting the items that pass examines), and every index is paid once per row. Two go:

* ``ix_outbox_created_at`` served only "when did detection last run"; that is now one row per
  committed pass in ``detection_run`` (seeded here with the latest instant detection wrote
  rows, so the next pass stays incremental).
* ``ix_outbox_deadline_level_item`` served detection's lookup of a level's rows for a window
  of deadlines, and the acknowledgement's lookup of an item's rows for its deadline. Both are
  ranges of the unique dedupe key's ``"{level}:{occurrence}:"`` prefix (the occurrence of a
  level is its deadline, ISO text, which sorts like the date), read from the unique index
  instead.

On PostgreSQL the dedupe key is compared bytewise (``COLLATE "C"``): a prefix's range is then
exact whatever the database's collation, and each comparison in the unique index is a memcmp
instead of a locale-aware strcoll (measured: a third of the cost of the index's part in a
write). The index is rebuilt by the type change. SQLite's default collation (BINARY) already
compares bytes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""
from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import engine.models
from engine.clock import DEFAULT_TZ

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('detection_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('today', sa.Date(), nullable=False),
    sa.Column('incremental', sa.Boolean(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('by_level', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_detection_run'))
    )
    with op.batch_alter_table('detection_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_detection_run_at'), ['at'], unique=False)
    _seed_detection_run()
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_created_at')
        batch_op.drop_index('ix_outbox_deadline_level_item')
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE outbox ALTER COLUMN dedupe_key TYPE VARCHAR(255) COLLATE "C"')


def _seed_detection_run() -> None:
    """The latest instant detection wrote rows at, as a run (the next pass is incremental
    from it, as it was before this migration)."""
    bind = op.get_bind()
    outbox = sa.table("outbox", sa.column("created_at", engine.models.UTCDateTime(timezone=True)),
                      sa.column("work_item_id", sa.Integer()))
    latest = bind.execute(sa.select(sa.func.max(outbox.c.created_at))
                          .where(outbox.c.work_item_id.is_not(None))).scalar()
    if latest is None:  # (an aware UTC datetime otherwise: max() keeps the column's type)
        return
    tz = bind.execute(sa.text("SELECT timezone FROM committee ORDER BY id LIMIT 1")).scalar() or DEFAULT_TZ
    run = sa.table("detection_run", sa.column("at", engine.models.UTCDateTime(timezone=True)),
                   sa.column("today", sa.Date()), sa.column("incremental", sa.Boolean()),
                   sa.column("inserted", sa.Integer()), sa.column("by_level", sa.JSON()))
    bind.execute(sa.insert(run).values(at=latest, today=latest.astimezone(ZoneInfo(tz)).date(), incremental=True,
                                       inserted=0, by_level={}))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE outbox ALTER COLUMN dedupe_key TYPE VARCHAR(255) COLLATE "default"')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_deadline_level_item', ['deadline', 'level', 'work_item_id'], unique=False)
        batch_op.create_index('ix_outbox_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('detection_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_detection_run_at'))
    op.drop_table('detection_run')

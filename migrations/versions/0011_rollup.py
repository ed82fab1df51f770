"""rollup_key, rollup_snapshot: signed report snapshots received from child units;
readiness_criterion, readiness_record: readiness criteria sets and each unit's records

A level above (the centre, a province) trusts each child unit's Ed25519 public key and
stores the signed snapshots the child sends up; the roll-up heat map and report are
computed from them with the receiving level's colour rules.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.models

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rollup_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_rollup_key_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollup_key')),
    sa.UniqueConstraint('public_key', name=op.f('uq_rollup_key_public_key'))
    )
    op.create_table('rollup_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('generated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=200), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.Column('received_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_rollup_snapshot_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollup_snapshot'))
    )
    with op.batch_alter_table('rollup_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_rollup_snapshot_unit_period', ['unit_id', 'kind', 'period'], unique=False)


    op.create_table('readiness_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_code', sa.String(length=64), nullable=False),
    sa.Column('set_title', sa.String(length=500), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readiness_criterion')),
    sa.UniqueConstraint('set_code', 'code', name=op.f('uq_readiness_criterion_set_code_code'))
    )
    op.create_table('readiness_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('met', sa.Boolean(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['readiness_criterion.id'],
                            name=op.f('fk_readiness_record_criterion_id_readiness_criterion')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_readiness_record_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readiness_record'))
    )
    with op.batch_alter_table('readiness_record', schema=None) as batch_op:
        batch_op.create_index('ix_readiness_record_unit_criterion', ['unit_id', 'criterion_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('readiness_record', schema=None) as batch_op:
        batch_op.drop_index('ix_readiness_record_unit_criterion')
    op.drop_table('readiness_record')
    op.drop_table('readiness_criterion')
    with op.batch_alter_table('rollup_snapshot', schema=None) as batch_op:
        batch_op.drop_index('ix_rollup_snapshot_unit_period')
    op.drop_table('rollup_snapshot')
    op.drop_table('rollup_key')

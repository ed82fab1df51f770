"""readiness criteria: a criterion's description and whether it is required; a record's
evidence file (stored under a random name like work items' evidence files)

Criteria sets come from XLSX as well as YAML (``steer criteria load``) with a description and
a "required" column: a unit is green on the set's view when every required criterion is met.
A record's evidence may be a file (kept in the upload folder's evidence/, engine.evidence).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('readiness_criterion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('required', sa.Boolean(), server_default='1', nullable=False))
    with op.batch_alter_table('readiness_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_stored_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('file_name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('file_content_type', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('file_size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('file_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('readiness_record', schema=None) as batch_op:
        for col in ('file_sha256', 'file_size', 'file_content_type', 'file_name', 'file_stored_name'):
            batch_op.drop_column(col)
    with op.batch_alter_table('readiness_criterion', schema=None) as batch_op:
        batch_op.drop_column('required')
        batch_op.drop_column('description')

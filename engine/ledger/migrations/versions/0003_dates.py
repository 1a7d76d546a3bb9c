"""Dates: a late-started cycle's rule deadline and reason; the latest tick date per obligation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("rule_due_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("due_note", sa.Text(), nullable=True))
    op.create_table(
        "tick_marks",
        sa.Column("obligation_id", sa.String(100), nullable=False),
        sa.Column("latest_on", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("obligation_id", name="pk_tick_marks"),
    )


def downgrade() -> None:
    op.drop_table("tick_marks")
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("due_note")
        batch.drop_column("rule_due_on")

"""Delivery that survives the relay: next attempt times, per-recipient outcomes, failing
addresses, and the ledger's random installation id (which names Message-IDs).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("outbox", sa.Column("next_attempt_at", utc(), nullable=True))
    op.add_column("outbox", sa.Column("deferred_since", utc(), nullable=True))
    op.add_column("outbox", sa.Column("recipient_outcomes", sa.JSON(), nullable=True))
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"])

    op.create_table(
        "address_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.String(100), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("first_seen_at", utc(), nullable=False),
        sa.Column("last_seen_at", utc(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_address_failures"),
        sa.UniqueConstraint("body_id", "address", name="uq_address_failures_body_id_address"),
    )

    meta = op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_ledger_meta"),
    )
    # Every ledger, new or migrated, gets its own: two ledgers on one mail domain (a restore,
    # a staging copy) must never produce the same Message-ID for two different letters.
    op.bulk_insert(meta, [{"key": "installation_id", "value": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("ledger_meta")
    op.drop_table("address_failures")
    op.drop_index("ix_outbox_state_next_attempt_at", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("recipient_outcomes")
        batch.drop_column("deferred_since")
        batch.drop_column("next_attempt_at")

"""Initial ledger schema: cycles, assignments, submissions, attachments, outbox, events, files.

Written by hand to match engine/ledger/models.py; tests/ledger/test_schema.py compares them.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CYCLE_STATES = "state IN ('open', 'closed')"
ASSIGNMENT_STATES = (
    "state IN ('open', 'submitted', 'accepted', 'returned', 'resubmitted', 'waived', "
    "'closed-missing')"
)
CHANNELS = "channel IN ('portal', 'operator', 'email')"
OUTBOX_STATES = "state IN ('pending', 'sending', 'sent', 'failed')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.String(100), nullable=False),
        sa.Column("period_key", sa.String(40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("definitions_digest", sa.String(64), nullable=False),
        sa.Column("handoff_version", sa.Integer(), nullable=False),
        sa.Column("handed_off_version", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cycles"),
        sa.UniqueConstraint(
            "obligation_id", "period_key", name="uq_cycles_obligation_id_period_key"
        ),
        sa.CheckConstraint(CYCLE_STATES, name="ck_cycles_state"),
    )
    op.create_index("ix_cycles_state", "cycles", ["state"])

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.String(100), nullable=False),
        sa.Column("body_name", sa.String(300), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=True),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name="fk_assignments_cycle_id_cycles"),
        sa.UniqueConstraint("cycle_id", "body_id", name="uq_assignments_cycle_id_body_id"),
        sa.CheckConstraint(ASSIGNMENT_STATES, name="ck_assignments_state"),
    )
    op.create_index("ix_assignments_cycle_id_state", "assignments", ["cycle_id", "state"])

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", utc(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name="fk_submissions_assignment_id_assignments"
        ),
        sa.UniqueConstraint(
            "assignment_id", "version", name="uq_submissions_assignment_id_version"
        ),
        sa.CheckConstraint(CHANNELS, name="ck_submissions_channel"),
    )

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name="fk_attachments_submission_id_submissions"
        ),
    )
    op.create_index("ix_attachments_submission_id", "attachments", ["submission_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("body_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("rung", sa.String(100), nullable=True),
        sa.Column("to_addrs", sa.JSON(), nullable=False),
        sa.Column("cc_addrs", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(998), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", utc(), nullable=True),
        sa.Column("sent_at", utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name="fk_outbox_cycle_id_cycles"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
        sa.CheckConstraint(OUTBOX_STATES, name="ck_outbox_state"),
    )
    op.create_index("ix_outbox_state_claimed_at", "outbox", ["state", "claimed_at"])
    op.create_index("ix_outbox_cycle_id", "outbox", ["cycle_id"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", utc(), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("body_id", sa.String(100), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name="fk_events_cycle_id_cycles"),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name="fk_events_assignment_id_assignments"
        ),
    )
    op.create_index("ix_events_cycle_id", "events", ["cycle_id"])
    op.create_index("ix_events_kind", "events", ["kind"])

    op.create_table(
        "archived_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_archived_files"),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name="fk_archived_files_cycle_id_cycles"
        ),
    )
    op.create_index("ix_archived_files_cycle_id", "archived_files", ["cycle_id"])


def downgrade() -> None:
    for table in ("archived_files", "events", "outbox", "attachments", "submissions"):
        op.drop_table(table)
    op.drop_table("assignments")
    op.drop_table("cycles")

"""Reply intake: the inbox of agencies' replies, and headers on outgoing mail.

`inbox_messages.message_id` is unique: the same mail delivered twice, a crash between the commit
and the move out of the mailbox, or two intakes at once record one row (and one version).
Addresses that bounce go to `address_failures` (revision 0002).
`outbox.headers` carries Reply-To and threading.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

INBOX_STATES = "state IN ('recorded', 'triage', 'dismissed', 'assigned', 'bounce', 'auto-reply')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(500), nullable=False),
        sa.Column("received_at", utc(), nullable=False),
        sa.Column("from_addr", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(998), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("raw_sha256", sa.String(64), nullable=True),
        sa.Column("missing_fields", sa.JSON(), nullable=False),
        sa.Column("handled_by", sa.String(200), nullable=True),
        sa.Column("handled_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_messages"),
        sa.UniqueConstraint("message_id", name="uq_inbox_messages_message_id"),
        sa.CheckConstraint(INBOX_STATES, name="ck_inbox_messages_state"),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name="fk_inbox_messages_assignment_id_assignments",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_inbox_messages_submission_id_submissions",
        ),
    )
    op.create_index("ix_inbox_messages_state", "inbox_messages", ["state"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("headers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("headers")
    op.drop_index("ix_inbox_messages_state", table_name="inbox_messages")
    op.drop_table("inbox_messages")

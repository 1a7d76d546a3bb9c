"""ORM tables of the ledger: cycles, assignments, submissions, the outbox, the event log.

The initial Alembic revision (migrations/versions/0001_initial.py) is written by hand to match
this module; tests/ledger/test_schema.py fails on any drift between the two.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine.ledger.states import AssignmentState, Channel, CycleState, InboxState, OutboxState

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: type) -> str:
    return f"{column} IN ({', '.join(repr(str(v.value)) for v in values)})"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always UTC and aware in Python, whatever the database keeps.

    SQLite has no time zones, so values are stored there as naive UTC; a naive value from a
    caller is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp without time zone: {value!r}")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Cycle(Base):
    """One obligation for one period."""

    __tablename__ = "cycles"
    __table_args__ = (
        UniqueConstraint("obligation_id", "period_key"),
        CheckConstraint(_one_of("state", CycleState), name="state"),
        Index("ix_cycles_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    obligation_id: Mapped[str] = mapped_column(String(100))
    period_key: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    definitions_digest: Mapped[str] = mapped_column(String(64))
    handoff_version: Mapped[int] = mapped_column(Integer, default=0)
    # None until the first hand-off; a hand-off is due while this is below handoff_version.
    handed_off_version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default=CycleState.open.value)
    # A cycle opened after its request date may get a later deadline than its rule gives
    # (late start): the rule's date and the reason, in Vietnamese, are kept beside due_on.
    rule_due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_note: Mapped[str | None] = mapped_column(Text)

    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="cycle", order_by="Assignment.body_id"
    )

    @property
    def handoff_pending(self) -> bool:
        return self.state == CycleState.closed and (
            self.handed_off_version is None or self.handed_off_version < self.handoff_version
        )


class Assignment(Base):
    """One body's part of a cycle; body_name keeps the name it had when the cycle opened."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("cycle_id", "body_id"),
        CheckConstraint(_one_of("state", AssignmentState), name="state"),
        Index("ix_assignments_cycle_id_state", "cycle_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    body_id: Mapped[str] = mapped_column(String(100))
    body_name: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default=AssignmentState.open.value)
    due_on: Mapped[dt.date] = mapped_column(Date)
    requested_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Bumped by each return for revision: links signed for an earlier round stop working.
    link_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    cycle: Mapped[Cycle] = relationship(back_populates="assignments")
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="assignment", order_by="Submission.version"
    )


class Submission(Base):
    """A versioned answer to an assignment."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("assignment_id", "version"),
        CheckConstraint(_one_of("channel", Channel), name="channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    version: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(10))
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(default=False)

    assignment: Mapped[Assignment] = relationship(back_populates="submissions")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", order_by="Attachment.id"
    )


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_submission_id", "submission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))

    submission: Mapped[Submission] = relationship(back_populates="attachments")


class OutboxMessage(Base):
    """An email waiting to be sent, sent, or given up on; its key makes enqueueing idempotent."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key"),
        UniqueConstraint("message_id"),
        CheckConstraint(_one_of("state", OutboxState), name="state"),
        # The drain asks for pending rows and for 'sending' rows claimed too long ago.
        Index("ix_outbox_state_claimed_at", "state", "claimed_at"),
        Index("ix_outbox_cycle_id", "cycle_id"),
        # The drain takes pending rows whose next attempt is due.
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(200))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"))
    body_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    rung: Mapped[str | None] = mapped_column(String(100))
    to_addrs: Mapped[list[str]] = mapped_column(JSON)
    cc_addrs: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default=OutboxState.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # None: due at once. A transient failure pushes it back (jittered, bounded back-off).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the current run of transient failures began; give-up time counts from here.
    deferred_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the server said of each recipient at the last attempt: address -> "accepted" or
    # the refusal ("550 5.1.1 …").
    recipient_outcomes: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # Extra headers (Reply-To with the reply token, In-Reply-To/References of a receipt).
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)


class AddressFailure(Base):
    """An address of a body that the relay refused for good (or that bounced)."""

    __tablename__ = "address_failures"
    __table_args__ = (UniqueConstraint("body_id", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    times: Mapped[int] = mapped_column(Integer, default=1)


class LedgerMeta(Base):
    """Facts about this ledger itself, such as its random installation id."""

    __tablename__ = "ledger_meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class TickMark(Base):
    """The latest date a tick ran for an obligation: a tick for an earlier date is refused."""

    __tablename__ = "tick_marks"

    obligation_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    latest_on: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """Append-only audit log; engine.ledger.events refuses updates and deletes."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_cycle_id", "cycle_id"),
        Index("ix_events_kind", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(60))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    body_id: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ArchivedFile(Base):
    """A file produced for a cycle (a consolidated report), kept by path and checksum."""

    __tablename__ = "archived_files"
    __table_args__ = (Index("ix_archived_files_cycle_id", "cycle_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"))
    kind: Mapped[str] = mapped_column(String(60))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class InboxMessage(Base):
    """An incoming mail and what it became; the Message-ID is unique so a mail counts once."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        UniqueConstraint("message_id"),
        CheckConstraint(_one_of("state", InboxState), name="state"),
        Index("ix_inbox_messages_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    from_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    # The reply's own text, quoted history removed.
    reply_text: Mapped[str | None] = mapped_column(Text)
    # The raw mail, kept in the file store so a triaged message can be assigned later.
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    # Required form fields the reply did not give: the version is incomplete.
    missing_fields: Mapped[list[str]] = mapped_column(JSON)
    handled_by: Mapped[str | None] = mapped_column(String(200))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

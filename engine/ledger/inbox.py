"""The inbox: every incoming mail once (unique Message-ID), with what it became.

A reply recorded as an answer commits its inbox row in the same transaction as the version and
its receipt (`add_in`), so a mail can never be counted twice: the second attempt finds the row
(or collides with it on the unique key) and records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.ledger.errors import InvalidInput, InvalidTransition, NotFound
from engine.ledger.events import record_event
from engine.ledger.models import Assignment, Cycle, InboxMessage
from engine.ledger.states import InboxState
from engine.ledger.transactions import aware, committing, writing

TABLE = InboxMessage.__table__


class AlreadyRecorded(Exception):
    """The mail's Message-ID is already in the inbox: whatever was being recorded rolls back."""


@dataclass(frozen=True)
class InboxEntry:
    """An inbox row as the CLI, the portal and the artifact show it."""

    id: int
    message_id: str
    received_at: dt.datetime
    from_addr: str
    subject: str
    state: str
    reason: str
    assignment_id: int | None
    submission_id: int | None
    reply_text: str | None
    raw_sha256: str | None
    missing_fields: list[str]
    handled_by: str | None
    handled_at: dt.datetime | None
    obligation_id: str | None = None
    period_key: str | None = None
    body_id: str | None = None


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(TABLE).on_conflict_do_nothing(index_elements=["message_id"])


def make_durable(session: Session) -> None:
    """One durable commit: the relaxed commits before it reach the disk with it (SQLite's WAL
    and PostgreSQL's WAL are flushed in order), so the intake may then move the mails."""
    with writing(session):
        session.execute(
            update(TABLE)
            .where(TABLE.c.id == select(func.max(TABLE.c.id)).scalar_subquery())
            .values(id=TABLE.c.id)
        )


def is_known(session: Session, message_id: str) -> bool:
    """Whether this Message-ID was already recorded (the cheap check before any work)."""
    with committing(session):
        return (
            session.scalar(select(TABLE.c.id).where(TABLE.c.message_id == message_id)) is not None
        )


def known_ids(session: Session, message_ids: Sequence[str]) -> set[str]:
    """Those of these Message-IDs already in the inbox (one query per batch of mails)."""
    if not message_ids:
        return set()
    with committing(session):
        rows = session.execute(
            select(TABLE.c.message_id).where(TABLE.c.message_id.in_(list(message_ids)))
        )
        return {r[0] for r in rows}


def add_in(session: Session, entry: dict[str, Any], now: dt.datetime) -> int:
    """Insert the row inside the caller's transaction; AlreadyRecorded when the ID is taken."""
    new_id = session.execute(
        _insert(session).returning(TABLE.c.id), _row(entry, now)
    ).scalar_one_or_none()
    if new_id is None:
        raise AlreadyRecorded(entry["message_id"])
    return new_id


def add_all_in(session: Session, entries: Sequence[dict[str, Any]], now: dt.datetime) -> None:
    """add_in for many rows with one statement; AlreadyRecorded when any ID is taken."""
    if not entries:
        return
    rows = [_row(entry, now) for entry in entries]
    added = session.execute(_insert(session).returning(TABLE.c.message_id), rows).scalars().all()
    if len(added) != len(rows):
        taken = {row["message_id"] for row in rows} - set(added)
        raise AlreadyRecorded(", ".join(sorted(taken)) or rows[0]["message_id"])


def _row(entry: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    state = entry.get("state")
    if state not in {s.value for s in InboxState}:
        raise InvalidInput(f"Trạng thái thư đến không hợp lệ: {state!r}.")
    return {
        "message_id": entry["message_id"][:500],
        "received_at": aware(now),
        "from_addr": (entry.get("from_addr") or "")[:320],
        "subject": (entry.get("subject") or "")[:998],
        "state": state,
        "reason": entry.get("reason") or "",
        "assignment_id": entry.get("assignment_id"),
        "submission_id": entry.get("submission_id"),
        "reply_text": entry.get("reply_text"),
        "raw_sha256": entry.get("raw_sha256"),
        "missing_fields": list(entry.get("missing_fields") or []),
        "handled_by": entry.get("handled_by"),
        "handled_at": entry.get("handled_at"),
    }


def add(session: Session, entry: dict[str, Any], now: dt.datetime) -> int | None:
    """Record a mail that is not an answer (triage, bounce, auto-reply) in its own transaction;
    None when its Message-ID was already recorded."""
    try:
        with writing(session):
            return add_in(session, entry, now)
    except AlreadyRecorded:
        return None


def entries(session: Session, states: Sequence[str] | None = None) -> list[InboxEntry]:
    """Inbox rows, newest first, with the cycle and body of the assignment they went to."""
    query = (
        select(TABLE, Cycle.obligation_id, Cycle.period_key, Assignment.body_id)
        .outerjoin(Assignment, Assignment.id == TABLE.c.assignment_id)
        .outerjoin(Cycle, Cycle.id == Assignment.cycle_id)
        .order_by(TABLE.c.id.desc())
    )
    if states:
        query = query.where(TABLE.c.state.in_(list(states)))
    with committing(session):
        return [InboxEntry(**row._asdict()) for row in session.execute(query)]


def get(session: Session, message: str) -> InboxEntry:
    """One row by its number or its Message-ID, or NotFound."""
    for entry in entries_matching(session, message):
        return entry
    raise NotFound(f"Không có thư đến “{message}” trong hộp thư của hệ thống.")


def entries_matching(session: Session, message: str) -> list[InboxEntry]:
    text = message.strip()
    column = TABLE.c.id if text.isdigit() else TABLE.c.message_id
    value: Any = int(text) if text.isdigit() else (text if text.startswith("<") else f"<{text}>")
    query = (
        select(TABLE, Cycle.obligation_id, Cycle.period_key, Assignment.body_id)
        .outerjoin(Assignment, Assignment.id == TABLE.c.assignment_id)
        .outerjoin(Cycle, Cycle.id == Assignment.cycle_id)
        .where(column == value)
    )
    with committing(session):
        return [InboxEntry(**row._asdict()) for row in session.execute(query)]


def settle_in(
    session: Session,
    entry_id: int,
    *,
    state: str,
    who: str,
    reason: str,
    now: dt.datetime,
    assignment_id: int | None = None,
    submission_id: int | None = None,
    missing_fields: Sequence[str] = (),
) -> None:
    """Move a triaged row to assigned or dismissed inside the caller's transaction; refuses a
    row that is no longer in triage (two operators, or a repeated command)."""
    who = (who or "").strip()
    if not who:
        raise InvalidInput("Cần ghi rõ người xử lý thư.")
    changed = session.execute(
        update(TABLE)
        .where(TABLE.c.id == entry_id, TABLE.c.state == InboxState.triage.value)
        .values(
            state=state,
            handled_by=who[:200],
            handled_at=aware(now),
            reason=reason,
            assignment_id=assignment_id,
            submission_id=submission_id,
            missing_fields=list(missing_fields),
        )
    ).rowcount
    if changed != 1:
        raise InvalidTransition(f"Thư số {entry_id} không còn ở trạng thái chờ phân loại.")
    record_event(
        session,
        f"inbox-{state}",
        aware(now),
        assignment_id=assignment_id,
        data={"inbox_id": entry_id, "by": who, "reason": reason},
    )


def dismiss(session: Session, entry_id: int, reason: str, who: str, now: dt.datetime) -> None:
    """Set a triaged mail aside with the reason and who decided."""
    if not reason or not reason.strip():
        raise InvalidInput("Cần ghi rõ lý do bỏ qua thư.")
    with writing(session):
        settle_in(
            session,
            entry_id,
            state=InboxState.dismissed.value,
            who=who,
            reason=reason.strip(),
            now=now,
        )

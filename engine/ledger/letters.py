"""Letters as operators see them: what did not get through, and putting letters back in line.

Read models for `kehoach outbox`, `kehoach status` and `kehoach tick`'s summary, and the
requeue behind `kehoach outbox retry` (re-addressed from the current definitions by the
caller, recorded in the event log, keeping the Message-ID).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.ledger.errors import InvalidInput, NotFound
from engine.ledger.events import record_event
from engine.ledger.models import Cycle, OutboxMessage
from engine.ledger.states import OutboxState
from engine.ledger.transactions import aware, committing, writing

TABLE = OutboxMessage.__table__
REQUEUED_EVENT = "letter-requeued"


@dataclass(frozen=True)
class DeliverySummary:
    """Letters not delivered: failed for good, and waiting for a later attempt."""

    failed: int
    deferred: int
    next_attempt_at: dt.datetime | None
    last_error: str | None


def delivery_summary(session: Session) -> DeliverySummary:
    """How many letters failed, how many wait to be tried again and when the next try is."""
    with committing(session):
        failed = session.scalar(
            select(func.count()).where(TABLE.c.state == OutboxState.failed.value)
        )
        deferred, next_at = session.execute(
            select(func.count(), func.min(TABLE.c.next_attempt_at)).where(
                TABLE.c.state == OutboxState.pending.value, TABLE.c.next_attempt_at.is_not(None)
            )
        ).one()
        last_error = session.scalar(
            select(TABLE.c.last_error)
            .where(TABLE.c.state != OutboxState.sent.value, TABLE.c.last_error.is_not(None))
            .order_by(TABLE.c.id.desc())
            .limit(1)
        )
    if next_at is not None and next_at.tzinfo is None:
        next_at = next_at.replace(tzinfo=dt.UTC)
    return DeliverySummary(failed or 0, deferred or 0, next_at, last_error)


def undelivered_bodies(session: Session) -> dict[tuple[str, str, str], int]:
    """(obligation, period, body) -> how many of that body's letters failed for good."""
    query = (
        select(Cycle.obligation_id, Cycle.period_key, TABLE.c.body_id, func.count())
        .join(Cycle, Cycle.id == TABLE.c.cycle_id)
        .where(TABLE.c.state == OutboxState.failed.value)
        .group_by(Cycle.obligation_id, Cycle.period_key, TABLE.c.body_id)
    )
    with committing(session):
        return {(o, p, b): n for o, p, b, n in session.execute(query).all()}


@dataclass(frozen=True)
class LetterView:
    id: int
    key: str
    kind: str
    body_id: str
    rung: str | None
    obligation_id: str | None
    period_key: str | None
    state: str
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]


@dataclass(frozen=True)
class Requeued:
    id: int
    body_id: str
    readdressed: bool
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]


def requeue(
    session: Session,
    *,
    ids: Sequence[int] = (),
    body_id: str | None = None,
    failed: bool = False,
    readdress: Callable[[LetterView], tuple[Sequence[str], Sequence[str]] | None] | None = None,
    who: str = "operator",
    now: dt.datetime | None = None,
) -> list[Requeued]:
    """Put failed (or waiting) letters back in line, due at once, with the same Message-ID.

    Chosen by id, by body, or every failed letter. `readdress` gives a letter's current To and
    Cc (None: keep them); a change is recorded as a `letter-requeued` event either way.
    """
    now = aware(now)
    if not (ids or body_id or failed):
        raise InvalidInput("Cần chọn thư: --id, --body hoặc --failed.")
    query = (
        select(OutboxMessage, Cycle.obligation_id, Cycle.period_key)
        .outerjoin(Cycle, Cycle.id == OutboxMessage.cycle_id)
        .order_by(OutboxMessage.id)
    )
    retryable = [OutboxState.failed.value, OutboxState.pending.value]
    if ids:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    else:
        query = query.where(
            OutboxMessage.state.in_([OutboxState.failed.value] if failed else retryable)
        )
    if body_id:
        query = query.where(OutboxMessage.body_id == body_id)
    done: list[Requeued] = []
    with writing(session):
        rows = session.execute(query).all()
        missing = set(ids) - {m.id for m, _, _ in rows}
        if missing:
            raise NotFound(f"Không tìm thấy thư số {', '.join(map(str, sorted(missing)))}.")
        for message, obligation_id, period_key in rows:
            if message.state not in retryable:
                raise InvalidInput(
                    f"Thư số {message.id} đang ở trạng thái '{message.state}', không gửi lại."
                )
            old = (tuple(message.to_addrs), tuple(message.cc_addrs))
            view = LetterView(
                message.id,
                message.key,
                message.kind,
                message.body_id,
                message.rung,
                obligation_id,
                period_key,
                message.state,
                *old,
            )
            new = readdress(view) if readdress else None
            to, cc = (tuple(new[0]), tuple(new[1])) if new and new[0] else old
            session.execute(
                update(TABLE)
                .where(TABLE.c.id == message.id)
                .values(
                    state=OutboxState.pending.value,
                    to_addrs=list(to),
                    cc_addrs=list(cc),
                    next_attempt_at=None,
                    deferred_since=None,
                    claimed_by=None,
                    claimed_at=None,
                )
            )
            readdressed = (to, cc) != old
            record_event(
                session,
                REQUEUED_EVENT,
                now,
                cycle_id=message.cycle_id,
                body_id=message.body_id,
                data={
                    "outbox_id": message.id,
                    "message_id": message.message_id,
                    "previous_state": message.state,
                    "previous_error": message.last_error,
                    "readdressed": readdressed,
                    "old_to": list(old[0]),
                    "old_cc": list(old[1]),
                    "to": list(to),
                    "cc": list(cc),
                    "by": who,
                },
            )
            done.append(Requeued(message.id, message.body_id, readdressed, to, cc))
    return done

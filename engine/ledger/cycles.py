"""Opening, closing and handing off cycles; each call is one short, idempotent transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.ledger.errors import InvalidInput, InvalidTransition, NotFound
from engine.ledger.events import record_event, record_events
from engine.ledger.models import Assignment, Cycle
from engine.ledger.states import AWAITING, AssignmentState, CycleState
from engine.ledger.transactions import aware, vn_date, writing

# Two racing openers can each insert before seeing the other's row; the loser re-reads.
OPEN_ATTEMPTS = 3


class PeriodLike(Protocol):
    """What open_cycle needs from a period (engine.periods provides one)."""

    @property
    def key(self) -> str: ...

    @property
    def start(self) -> dt.date: ...

    @property
    def end(self) -> dt.date: ...


BodyEntry = tuple[str, str, dt.date]
"""(body_id, body_name at opening, due_on for that body)."""


@dataclass(frozen=True)
class CycleOpening:
    """What open_cycle found and changed, so callers can log it."""

    cycle: Cycle
    created: bool
    added_bodies: tuple[str, ...]
    # In the ledger but no longer in the definitions: kept, with their history.
    missing_bodies: tuple[str, ...]
    # The cycle was opened under other definitions; its recorded digest is left unchanged.
    digest_changed: bool


@dataclass(frozen=True)
class CycleClosing:
    cycle: Cycle
    closed_now: bool
    missing_bodies: tuple[str, ...]


def _cycle_id(cycle: Cycle | int) -> int:
    return cycle if isinstance(cycle, int) else cycle.id


def get_cycle(session: Session, obligation_id: str, period_key: str) -> Cycle | None:
    """The cycle of an obligation for a period, if it was opened."""
    query = select(Cycle).where(
        Cycle.obligation_id == obligation_id, Cycle.period_key == period_key
    )
    return session.scalar(query.execution_options(populate_existing=True))


def _check_bodies(bodies: Sequence[BodyEntry]) -> None:
    seen: set[str] = set()
    for body_id, _name, _due in bodies:
        if body_id in seen:
            raise InvalidInput(f"Cơ quan '{body_id}' xuất hiện hai lần trong danh sách giao việc.")
        seen.add(body_id)


def open_cycle(
    session: Session,
    obligation_id: str,
    period: PeriodLike,
    due_on: dt.date,
    closes_on: dt.date,
    digest: str,
    bodies: Sequence[BodyEntry],
    today: dt.date,
    *,
    now: dt.datetime | None = None,
    rule_due_on: dt.date | None = None,
    due_note: str | None = None,
) -> CycleOpening:
    """Get or create the cycle and add assignments for bodies it lacks; never removes any.

    `rule_due_on` and `due_note`: the rule's deadline and why `due_on` differs (late start)."""
    _check_bodies(bodies)
    if closes_on < due_on:
        raise InvalidInput(f"Ngày đóng kỳ {vn_date(closes_on)} sớm hơn hạn nộp {vn_date(due_on)}.")
    now = aware(now)
    for attempt in range(OPEN_ATTEMPTS):
        try:
            with writing(session):
                return _open_once(
                    session,
                    obligation_id,
                    period,
                    (due_on, closes_on, rule_due_on, due_note),
                    digest,
                    bodies,
                    today,
                    now,
                )
        except IntegrityError:
            if attempt == OPEN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _open_once(
    session: Session,
    obligation_id: str,
    period: PeriodLike,
    dates: tuple[dt.date, dt.date, dt.date | None, str | None],
    digest: str,
    bodies: Sequence[BodyEntry],
    today: dt.date,
    now: dt.datetime,
) -> CycleOpening:
    due_on, closes_on, rule_due_on, due_note = dates
    cycle = get_cycle(session, obligation_id, period.key)
    created = cycle is None
    if cycle is None:
        cycle = Cycle(
            obligation_id=obligation_id,
            period_key=period.key,
            period_start=period.start,
            period_end=period.end,
            due_on=due_on,
            opened_on=today,
            closes_on=closes_on,
            definitions_digest=digest,
            handoff_version=0,
            state=CycleState.open.value,
            rule_due_on=rule_due_on,
            due_note=due_note,
        )
        session.add(cycle)
        session.flush()
        moved = {}
        if rule_due_on is not None:
            moved = {"rule_due_on": rule_due_on.isoformat(), "due_note": due_note}
        record_event(
            session,
            "cycle-opened",
            now,
            cycle_id=cycle.id,
            data={
                "obligation_id": obligation_id,
                "period_key": period.key,
                "due_on": due_on.isoformat(),
                "closes_on": closes_on.isoformat(),
                "definitions_digest": digest,
                **moved,
            },
        )
    existing = set(
        session.scalars(select(Assignment.body_id).where(Assignment.cycle_id == cycle.id))
    )
    # A closed cycle's membership is history: bodies added to the definitions later join the
    # next cycle, not this one.
    new = (
        [b for b in bodies if b[0] not in existing] if cycle.state == CycleState.open.value else []
    )
    if new:
        rows = [
            Assignment(
                cycle_id=cycle.id,
                body_id=body_id,
                body_name=body_name,
                state=AssignmentState.open.value,
                due_on=body_due,
                updated_at=now,
            )
            for body_id, body_name, body_due in new
        ]
        session.add_all(rows)
        session.flush()
        record_events(
            session,
            (
                {
                    "kind": "assignment-opened",
                    "at": now,
                    "cycle_id": cycle.id,
                    "assignment_id": row.id,
                    "body_id": row.body_id,
                    "data": {"body_name": row.body_name, "due_on": row.due_on.isoformat()},
                }
                for row in rows
            ),
        )
    given = {b[0] for b in bodies}
    return CycleOpening(
        cycle=cycle,
        created=created,
        added_bodies=tuple(b[0] for b in new),
        missing_bodies=tuple(sorted(existing - given)),
        digest_changed=cycle.definitions_digest != digest,
    )


def close_cycle(
    session: Session, cycle: Cycle | int, today: dt.date, *, now: dt.datetime | None = None
) -> CycleClosing:
    """Close the cycle; whoever still owes a submission becomes closed-missing. Idempotent."""
    now = aware(now)
    cycle_id = _cycle_id(cycle)
    with writing(session):
        closed = session.execute(
            update(Cycle)
            .where(Cycle.id == cycle_id, Cycle.state == CycleState.open.value)
            .values(state=CycleState.closed.value, closed_on=today)
            .execution_options(synchronize_session=False)
        )
        if closed.rowcount == 0:
            return CycleClosing(_load(session, cycle_id), closed_now=False, missing_bodies=())
        missing = session.execute(
            update(Assignment)
            .where(Assignment.cycle_id == cycle_id, Assignment.state.in_(AWAITING))
            .values(state=AssignmentState.closed_missing.value, updated_at=now)
            .returning(Assignment.id, Assignment.body_id)
            # "evaluate" also updates matching assignments already loaded in this session.
            .execution_options(synchronize_session="evaluate")
        ).all()
        record_event(
            session,
            "cycle-closed",
            now,
            cycle_id=cycle_id,
            data={
                "closed_on": today.isoformat(),
                "missing": sorted(body for _id, body in missing),
            },
        )
        record_events(
            session,
            (
                {
                    "kind": "assignment-closed-missing",
                    "at": now,
                    "cycle_id": cycle_id,
                    "assignment_id": assignment_id,
                    "body_id": body_id,
                }
                for assignment_id, body_id in missing
            ),
        )
        return CycleClosing(
            _load(session, cycle_id),
            closed_now=True,
            missing_bodies=tuple(sorted(b for _i, b in missing)),
        )


def _load(session: Session, cycle_id: int) -> Cycle:
    cycle = session.get(Cycle, cycle_id, populate_existing=True)
    if cycle is None:
        raise NotFound(f"Không tìm thấy kỳ báo cáo số {cycle_id}.")
    return cycle


def mark_handed_off(
    session: Session,
    cycle: Cycle | int,
    version: int,
    *,
    now: dt.datetime | None = None,
    before_close: bool = False,
) -> bool:
    """Record that this hand-off version was delivered; False if someone already did.

    The check and the write are one UPDATE, so two processes can never both win. An open cycle
    is handed off only `before_close` (an obligation that hands off at its due date).
    """
    now = aware(now)
    cycle_id = _cycle_id(cycle)
    states = [CycleState.closed.value] + ([CycleState.open.value] if before_close else [])
    with writing(session):
        won = session.execute(
            update(Cycle)
            .where(
                Cycle.id == cycle_id,
                Cycle.state.in_(states),
                Cycle.handoff_version >= version,
                or_(Cycle.handed_off_version.is_(None), Cycle.handed_off_version < version),
            )
            .values(handed_off_version=version)
            .execution_options(synchronize_session=False)
        )
        current = _load(session, cycle_id)
        if won.rowcount == 1:
            record_event(
                session, "cycle-handed-off", now, cycle_id=cycle_id, data={"version": version}
            )
            return True
        if current.state not in states:
            raise InvalidTransition(
                f"Kỳ {current.period_key} của nghĩa vụ '{current.obligation_id}' chưa đóng, "
                "chưa thể bàn giao kết quả."
            )
        if version > current.handoff_version:
            raise InvalidInput(
                f"Phiên bản bàn giao {version} chưa tồn tại "
                f"(kỳ {current.period_key} mới có phiên bản {current.handoff_version})."
            )
        return False


def mark_requested(
    session: Session,
    assignment_ids: Sequence[int],
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Note the day the request went out, once; returns how many assignments were newly marked."""
    now = aware(now)
    if not assignment_ids:
        return 0
    with writing(session):
        result = session.execute(
            update(Assignment)
            .where(Assignment.id.in_(assignment_ids), Assignment.requested_on.is_(None))
            .values(requested_on=today, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

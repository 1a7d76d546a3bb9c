"""Read models for the decision code: the ledger as plain frozen values, in a fixed few queries.

The daily tick reads one LedgerSnapshot per obligation; its cost must not grow with the number
of open assignments (tests/ledger/test_snapshot.py counts the SQL statements).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, String, bindparam, func, or_, select
from sqlalchemy.orm import Session

from engine.ledger.models import Assignment, Cycle, OutboxMessage, Submission
from engine.ledger.states import AWAITING, CycleState
from engine.ledger.transactions import committing


@dataclass(frozen=True)
class AssignmentView:
    id: int
    cycle_id: int
    body_id: str
    body_name: str
    state: str
    due_on: dt.date
    requested_on: dt.date | None
    latest_version: int  # 0 when nothing was submitted
    last_submitted_at: dt.datetime | None
    # Returns for revision so far: the round the assignment's current link is signed for.
    link_revision: int = 0

    def is_overdue(self, today: dt.date) -> bool:
        return self.state in AWAITING and today > self.due_on


@dataclass(frozen=True)
class OutboxView:
    key: str
    cycle_id: int | None
    body_id: str
    kind: str
    rung: str | None
    state: str


@dataclass(frozen=True)
class CycleView:
    id: int
    obligation_id: str
    period_key: str
    period_start: dt.date
    period_end: dt.date
    due_on: dt.date
    opened_on: dt.date
    closes_on: dt.date
    closed_on: dt.date | None
    definitions_digest: str
    state: str
    handoff_version: int
    handed_off_version: int | None
    rule_due_on: dt.date | None = None  # set when a late start moved the deadline
    due_note: str | None = None
    assignments: tuple[AssignmentView, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state == CycleState.open.value

    @property
    def handoff_pending(self) -> bool:
        return not self.is_open and (
            self.handed_off_version is None or self.handed_off_version < self.handoff_version
        )

    def assignment(self, body_id: str) -> AssignmentView | None:
        return self._by_body.get(body_id)

    @functools.cached_property
    def _by_body(self) -> dict[str, AssignmentView]:
        # Composing one letter per assignment looks each one up: a scan per lookup made a
        # 10,000-body chase quadratic.
        return {a.body_id: a for a in self.assignments}


@dataclass(frozen=True)
class LedgerSnapshot:
    """Every cycle of one obligation; assignments and outbox rows of the active ones.

    Active: open, or closed with a hand-off still to deliver. Finished cycles are listed without
    assignments, so the decision code knows which periods were already opened.
    """

    obligation_id: str
    cycles: tuple[CycleView, ...]
    outbox: tuple[OutboxView, ...]
    outbox_keys: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outbox_keys", frozenset(m.key for m in self.outbox))

    def cycle(self, period_key: str) -> CycleView | None:
        return next((c for c in self.cycles if c.period_key == period_key), None)

    @property
    def open_cycles(self) -> tuple[CycleView, ...]:
        return tuple(c for c in self.cycles if c.is_open)

    def has_message(self, key: str) -> bool:
        return key in self.outbox_keys


def _active(hands_off: bool = True) -> ColumnElement[bool]:
    """Cycles whose assignments and letters the daily decisions still need: the open ones, and
    closed ones awaiting their hand-off when the obligation has a downstream to hand off to.
    (A closed cycle of an obligation without one never gets a hand-off recorded: counting it
    as awaiting one kept every past cycle's rows in each day's snapshot.)"""
    if not hands_off:
        return Cycle.state == CycleState.open.value
    return or_(
        Cycle.state == CycleState.open.value,
        Cycle.handed_off_version.is_(None),
        Cycle.handed_off_version < Cycle.handoff_version,
    )


def _latest_submissions() -> Select[tuple[int, int, dt.datetime]]:
    return select(
        Submission.assignment_id,
        func.max(Submission.version).label("latest_version"),
        func.max(Submission.submitted_at).label("last_submitted_at"),
    ).group_by(Submission.assignment_id)


def assignment_rows_query(*criteria: ColumnElement[bool]) -> Select[tuple[object, ...]]:
    latest = _latest_submissions().subquery()
    return (
        select(
            Assignment.id,
            Assignment.cycle_id,
            Assignment.body_id,
            Assignment.body_name,
            Assignment.state,
            Assignment.due_on,
            Assignment.requested_on,
            func.coalesce(latest.c.latest_version, 0).label("latest_version"),
            latest.c.last_submitted_at,
            Assignment.link_revision,
            Cycle.obligation_id,
            Cycle.period_key,
            Cycle.period_start,
            Cycle.state.label("cycle_state"),
            Cycle.due_on.label("cycle_due_on"),
            Cycle.closes_on,
        )
        .join(Cycle, Cycle.id == Assignment.cycle_id)
        .outerjoin(latest, latest.c.assignment_id == Assignment.id)
        .where(*criteria)
    )


CYCLE_COLUMNS = [c for c in Cycle.__table__.columns]


@functools.cache
def _open_state_statements(hands_off: bool = True) -> tuple[Select, Select, Select]:
    """The snapshot's three SELECTs, built once with the obligation as a bound parameter.

    A daily tick reads one snapshot per obligation and step; building the statements (and
    their cache keys) each time cost more than running them.
    """
    obligation = bindparam("obligation_id", type_=String)
    cycles = (
        select(*CYCLE_COLUMNS)
        .where(Cycle.obligation_id == obligation)
        .order_by(Cycle.period_start, Cycle.id)
    )
    active = _active(hands_off)
    assignments = assignment_rows_query(Cycle.obligation_id == obligation, active).order_by(
        Assignment.cycle_id, Assignment.body_id
    )
    outbox = (
        select(
            OutboxMessage.key,
            OutboxMessage.cycle_id,
            OutboxMessage.body_id,
            OutboxMessage.kind,
            OutboxMessage.rung,
            OutboxMessage.state,
        )
        .join(Cycle, Cycle.id == OutboxMessage.cycle_id)
        .where(Cycle.obligation_id == obligation, active)
        .order_by(OutboxMessage.id)
    )
    # Views are built positionally from these rows (the hot loop of every tick): the selected
    # columns must start with the views' fields, in order.
    for query, view in ((assignments, AssignmentView), (outbox, OutboxView)):
        names = [c.name for c in query.selected_columns][: len(view.__dataclass_fields__)]
        assert names == list(view.__dataclass_fields__), (view.__name__, names)
    return cycles, assignments, outbox


_ASSIGNMENT_FIELDS = len(AssignmentView.__dataclass_fields__)


def load_cycles(session: Session, obligation_id: str) -> LedgerSnapshot:
    """Only the obligation's cycles (no assignments, no outbox): which periods were opened."""
    cycles_query = _open_state_statements()[0]
    with committing(session):
        rows = session.connection().execute(cycles_query, {"obligation_id": obligation_id}).all()
    cycles = tuple(CycleView(**row._asdict()) for row in rows)
    return LedgerSnapshot(obligation_id=obligation_id, cycles=cycles, outbox=())


def load_open_state(
    session: Session, obligation_id: str, *, hands_off: bool = True
) -> LedgerSnapshot:
    """The obligation's ledger state in three SELECTs, whatever the number of assignments:
    every cycle, with the assignments and letters of the open ones and of closed ones awaiting
    a hand-off (`hands_off`: whether the obligation has a downstream)."""
    cycles_query, assignments_query, outbox_query = _open_state_statements(hands_off)
    parameters = {"obligation_id": obligation_id}
    with committing(session):
        # Plain column SELECTs: the connection runs them without the ORM's per-row machinery.
        connection = session.connection()
        cycle_rows = connection.execute(cycles_query, parameters).all()
        assignment_rows = connection.execute(assignments_query, parameters).all()
        outbox_rows = connection.execute(outbox_query, parameters).all()
    by_cycle: dict[int, list[AssignmentView]] = {}
    for row in assignment_rows:
        view = AssignmentView(*row[:_ASSIGNMENT_FIELDS])
        by_cycle.setdefault(view.cycle_id, []).append(view)
    cycles = tuple(
        CycleView(**row._asdict(), assignments=tuple(by_cycle.get(row.id, ())))
        for row in cycle_rows
    )
    outbox = tuple(OutboxView(*row) for row in outbox_rows)
    return LedgerSnapshot(obligation_id=obligation_id, cycles=cycles, outbox=outbox)

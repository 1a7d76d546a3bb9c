"""The compliance matrix: every body × obligation × period, with request, due and submission
dates and the state, and each body's on-time rate. Read in one query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions.models import Definitions
from engine.ledger.models import Assignment, Cycle, Submission
from engine.ledger.states import AssignmentState, assignment_label
from engine.ledger.transactions import committing
from engine.names import alphabetical

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class ComplianceRow:
    body_id: str
    body_name: str
    obligation_id: str
    obligation_title: str
    period_key: str
    period_end: dt.date
    requested_on: dt.date | None
    due_on: dt.date
    first_submitted_on: dt.date | None
    last_submitted_on: dt.date | None
    state: str
    on_time: bool | None  # None: not judged yet (not due, or waived)

    @property
    def state_label(self) -> str:
        return assignment_label(self.state)


@dataclass(frozen=True)
class BodyRate:
    body_id: str
    body_name: str
    on_time: int
    judged: int

    @property
    def rate(self) -> float:
        return self.on_time / self.judged if self.judged else 0.0


def vn_day(moment: dt.datetime | None) -> dt.date | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VIETNAM).date()


def _judge(state: str, due_on: dt.date, first: dt.date | None, closed: bool, today: dt.date):
    if state == AssignmentState.waived:
        return None
    if first is not None:
        return first <= due_on
    return False if (closed or today > due_on) else None


def compliance_rows(
    defs: Definitions, session: Session, *, year: int | None = None, today: dt.date
) -> list[ComplianceRow]:
    """Every assignment (of cycles whose period ends in `year`, if given), sorted for reading."""
    firsts = (
        select(
            Submission.assignment_id,
            func.min(Submission.submitted_at).label("first"),
            func.max(Submission.submitted_at).label("last"),
        )
        .group_by(Submission.assignment_id)
        .subquery()
    )
    query = (
        select(
            Assignment.body_id,
            Assignment.body_name,
            Assignment.state,
            Assignment.due_on,
            Assignment.requested_on,
            Cycle.obligation_id,
            Cycle.period_key,
            Cycle.period_end,
            Cycle.state.label("cycle_state"),
            firsts.c.first,
            firsts.c.last,
        )
        .join(Cycle, Cycle.id == Assignment.cycle_id)
        .outerjoin(firsts, firsts.c.assignment_id == Assignment.id)
    )
    if year is not None:
        query = query.where(
            Cycle.period_end >= dt.date(year, 1, 1), Cycle.period_end <= dt.date(year, 12, 31)
        )
    with committing(session):
        rows = session.execute(query).all()
    result = []
    for row in rows:
        obligation = defs.obligations.get(row.obligation_id)
        body = defs.bodies.get(row.body_id)
        first, last = vn_day(row.first), vn_day(row.last)
        result.append(
            ComplianceRow(
                body_id=row.body_id,
                body_name=body.name if body else row.body_name,
                obligation_id=row.obligation_id,
                obligation_title=obligation.title if obligation else row.obligation_id,
                period_key=row.period_key,
                period_end=row.period_end,
                requested_on=row.requested_on,
                due_on=row.due_on,
                first_submitted_on=first,
                last_submitted_on=last,
                state=row.state,
                on_time=_judge(row.state, row.due_on, first, row.cycle_state == "closed", today),
            )
        )
    return sorted(result, key=lambda r: (alphabetical(r.body_name), r.obligation_id, r.period_end))


def on_time_rates(rows: Iterable[ComplianceRow]) -> list[BodyRate]:
    """Each body's on-time submissions over the assignments that can be judged, best first."""
    tally: dict[str, list] = {}
    for row in rows:
        if row.on_time is None:
            continue
        entry = tally.setdefault(row.body_id, [row.body_name, 0, 0])
        entry[1] += int(row.on_time)
        entry[2] += 1
    rates = [BodyRate(body, name, hit, judged) for body, (name, hit, judged) in tally.items()]
    return sorted(rates, key=lambda r: (-r.rate, alphabetical(r.body_name)))

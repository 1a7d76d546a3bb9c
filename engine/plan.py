"""The dry-run calendar: every dated action of every obligation, assuming nobody answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from engine.bodies import resolve_responsible
from engine.calendar import LegalCalendar
from engine.definitions.models import Cadence, Definitions, Obligation
from engine.periods import Period, periods_between
from engine.schedule import CycleDates, cycle_dates

# Periods are enumerated this far beyond the asked range, so a cycle whose window ended last
# year but whose chasing runs into this one is still shown.
LOOKAROUND = dt.timedelta(days=400)


@dataclass(frozen=True)
class PlannedAction:
    date: dt.date
    obligation: str
    period: str
    body: str | None
    action: str
    rung: str | None = None

    def as_json(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        return data


def obligation_active(obligation: Obligation, day: dt.date) -> bool:
    return (obligation.valid_from is None or obligation.valid_from <= day) and (
        obligation.valid_to is None or day <= obligation.valid_to
    )


def cycles_in_range(
    obligation: Obligation, cal: LegalCalendar, start: dt.date, end: dt.date
) -> list[CycleDates]:
    """Dated cycles whose request goes out while the obligation is in force, near the range."""
    if obligation.schedule.every == Cadence.event:
        return []
    periods: list[Period] = periods_between(
        obligation.schedule, obligation.window, start - LOOKAROUND, end + LOOKAROUND
    )
    cycles = [cycle_dates(obligation, p, cal) for p in periods]
    return [c for c in cycles if obligation_active(obligation, c.request_on)]


def cycle_actions(
    defs: Definitions, obligation: Obligation, cycle: CycleDates
) -> list[PlannedAction]:
    """Every action of one cycle: open, a request and each rung per body, due, close."""
    key = cycle.period.key
    bodies = resolve_responsible(defs, obligation, cycle.request_on)
    actions = [PlannedAction(cycle.request_on, obligation.id, key, None, "open-cycle")]
    for body in bodies:
        actions.append(PlannedAction(cycle.request_on, obligation.id, key, body.id, "request"))
        actions.append(PlannedAction(cycle.due_on, obligation.id, key, body.id, "due"))
        actions.extend(
            PlannedAction(r.on, obligation.id, key, body.id, r.rung.kind.value, r.rung.id)
            for r in cycle.rungs
        )
    actions.append(PlannedAction(cycle.closes_on, obligation.id, key, None, "close"))
    return actions


def planned_actions(
    defs: Definitions, start: dt.date, end: dt.date, obligation_id: str | None = None
) -> list[PlannedAction]:
    cal = LegalCalendar(defs.calendars)
    actions: list[PlannedAction] = []
    for obligation in defs.obligations.values():
        if obligation_id and obligation.id != obligation_id:
            continue
        for cycle in cycles_in_range(obligation, cal, start, end):
            actions.extend(
                a for a in cycle_actions(defs, obligation, cycle) if start <= a.date <= end
            )
    order = {
        "open-cycle": 0,
        "request": 1,
        "reminder": 2,
        "due-today": 3,
        "due": 4,
        "overdue": 5,
        "escalation": 6,
        "close": 7,
    }
    actions.sort(
        key=lambda a: (a.date, a.obligation, a.period, order.get(a.action, 9), a.body or "")
    )
    return actions

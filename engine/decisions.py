"""Decide, then act: given the definitions, one obligation's ledger state and a date, what is due.

Pure functions, no I/O. The collect flow, `kehoach plan` and the simulator all act on these
answers, so a live tick and a simulated one cannot disagree about what should happen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.bodies import resolve_responsible, resolve_target
from engine.calendar import LegalCalendar
from engine.definitions.models import Definitions, Obligation, Rung, RungKind, Target
from engine.ledger.outbox import outbox_key
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot
from engine.ledger.states import AWAITING
from engine.periods import Period
from engine.plan import obligation_active
from engine.schedule import CycleDates, cycle_dates, cycle_window, rung_date


@dataclass(frozen=True)
class OpenCycle:
    obligation_id: str
    period: Period
    dates: CycleDates
    bodies: tuple[tuple[str, str, dt.date], ...]  # (body id, name at opening, due on)


@dataclass(frozen=True)
class AddAssignments:
    """Bodies the definitions now hold responsible that the open cycle does not list yet."""

    cycle_id: int
    bodies: tuple[tuple[str, str, dt.date], ...]


@dataclass(frozen=True)
class SendMessage:
    key: str
    kind: str  # request, reminder, due-today, overdue, escalation, closed-summary, digest
    obligation_id: str
    cycle_id: int
    period_key: str
    body_id: str  # the addressee body (the assignee, or the recipient for summaries)
    rung: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    due_on: dt.date


@dataclass(frozen=True)
class CloseCycle:
    cycle_id: int
    period_key: str


@dataclass(frozen=True)
class HandOff:
    cycle_id: int
    period_key: str
    version: int
    downstream: str


@dataclass(frozen=True)
class Decision:
    messages: tuple[SendMessage, ...] = ()
    closes: tuple[CloseCycle, ...] = ()
    handoffs: tuple[HandOff, ...] = ()
    additions: tuple[AddAssignments, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.messages or self.closes or self.handoffs or self.additions)


def _unique(addresses: list[str], exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    seen: list[str] = []
    for address in addresses:
        if address not in seen and address not in exclude:
            seen.append(address)
    return tuple(seen)


def _targets(defs: Definitions, targets: list[Target], body_id: str, on: dt.date) -> list[str]:
    assignee = defs.bodies.get(body_id)
    return [a for t in targets for a in resolve_target(defs, t, assignee, on)]


def openings(
    defs: Definitions,
    cal: LegalCalendar,
    obligation: Obligation,
    snapshot: LedgerSnapshot,
    periods: list[Period],
    today: dt.date,
) -> list[OpenCycle]:
    """Cycles whose request date has come and that the ledger does not hold yet.

    A cycle whose close date has already passed is not opened: a late deployment must not
    email a whole province about a period that is over.
    """
    result = []
    for period in periods:
        if snapshot.cycle(period.key) is not None:
            continue
        # The cheap dates first: the tick asks this of every unopened period every day.
        request_on, _due_on, closes_on = cycle_window(obligation, period, cal)
        if not (request_on <= today <= closes_on):
            continue
        if not obligation_active(obligation, request_on):
            continue
        dates = cycle_dates(obligation, period, cal)
        bodies = resolve_responsible(defs, obligation, today)
        entries = tuple((b.id, b.name, dates.due_on) for b in bodies)
        result.append(OpenCycle(obligation.id, period, dates, entries))
    return result


def _rung_message(
    defs: Definitions,
    obligation: Obligation,
    cycle: CycleView,
    assignment: AssignmentView,
    rung: Rung,
    today: dt.date,
) -> SendMessage:
    body = defs.bodies.get(assignment.body_id)
    own = list(body.mailboxes.to) if body else []
    cc = _targets(defs, rung.cc, assignment.body_id, today)
    if rung.kind == RungKind.escalation:
        # The head (or whoever the ladder names) is addressed; the body's own mailbox is copied.
        to = _targets(defs, rung.escalate_to, assignment.body_id, today)
        if body and not to:
            to = list(body.mailboxes.head)
        cc = own + cc
    else:
        to = own + _targets(defs, rung.escalate_to, assignment.body_id, today)
    to_t = _unique(to)
    return SendMessage(
        key=outbox_key(cycle.id, assignment.body_id, rung.id, rung.kind.value),
        kind=rung.kind.value,
        obligation_id=obligation.id,
        cycle_id=cycle.id,
        period_key=cycle.period_key,
        body_id=assignment.body_id,
        rung=rung.id,
        to=to_t,
        cc=_unique(cc, exclude=to_t),
        due_on=assignment.due_on,
    )


def _chase(
    defs: Definitions,
    cal: LegalCalendar,
    obligation: Obligation,
    cycle: CycleView,
    snapshot: LedgerSnapshot,
    today: dt.date,
) -> list[SendMessage]:
    messages = []
    # Rungs reached by due date: bodies of a cycle share a handful of due dates, and working
    # out the ladder's dates for each of 10,000 assignments was most of an idle tick.
    reached_by_due: dict[dt.date, list[Rung]] = {}
    for assignment in cycle.assignments:
        if assignment.state not in AWAITING:
            continue
        body = defs.bodies.get(assignment.body_id)
        request_key = outbox_key(cycle.id, assignment.body_id, None, "request")
        if not snapshot.has_message(request_key):
            to = tuple(body.mailboxes.to) if body else ()
            messages.append(
                SendMessage(
                    key=request_key,
                    kind="request",
                    obligation_id=obligation.id,
                    cycle_id=cycle.id,
                    period_key=cycle.period_key,
                    body_id=assignment.body_id,
                    rung=None,
                    to=to,
                    cc=(),
                    due_on=assignment.due_on,
                )
            )
            # Never a request and a reminder on the same day: the ladder starts next tick.
            continue
        reached = reached_by_due.get(assignment.due_on)
        if reached is None:
            reached = reached_by_due[assignment.due_on] = [
                r for r in obligation.ladder if rung_date(r, assignment.due_on, cal) <= today
            ]
        if not reached:
            continue
        # After missed days only the firmest rung reached goes out, never a burst of stale ones.
        rung = reached[-1]
        if not snapshot.has_message(
            outbox_key(cycle.id, assignment.body_id, rung.id, rung.kind.value)
        ):
            messages.append(_rung_message(defs, obligation, cycle, assignment, rung, today))
    return messages


def _summary(
    defs: Definitions, obligation: Obligation, cycle: CycleView, today: dt.date
) -> SendMessage | None:
    to = _unique(resolve_target(defs, obligation.recipient, None, today))
    if not to:
        return None
    recipient = obligation.recipient.body or obligation.recipient.role or "recipient"
    return SendMessage(
        key=outbox_key(cycle.id, recipient, None, "closed-summary"),
        kind="closed-summary",
        obligation_id=obligation.id,
        cycle_id=cycle.id,
        period_key=cycle.period_key,
        body_id=recipient,
        rung=None,
        to=to,
        cc=(),
        due_on=cycle.due_on,
    )


def decide(
    defs: Definitions,
    cal: LegalCalendar,
    obligation: Obligation,
    snapshot: LedgerSnapshot,
    today: dt.date,
) -> Decision:
    """Everything due today for cycles the ledger already holds (openings come first)."""
    messages: list[SendMessage] = []
    closes: list[CloseCycle] = []
    handoffs: list[HandOff] = []
    additions: list[AddAssignments] = []
    for cycle in snapshot.cycles:
        if cycle.is_open:
            if today > cycle.closes_on:
                closes.append(CloseCycle(cycle.id, cycle.period_key))
                summary = _summary(defs, obligation, cycle, today)
                if summary and not snapshot.has_message(summary.key):
                    messages.append(summary)
                if obligation.downstream:
                    handoffs.append(
                        HandOff(
                            cycle.id,
                            cycle.period_key,
                            cycle.handoff_version,
                            obligation.downstream.obligation,
                        )
                    )
                continue
            listed = {a.body_id for a in cycle.assignments}
            new = tuple(
                (b.id, b.name, cycle.due_on)
                for b in resolve_responsible(defs, obligation, today)
                if b.id not in listed
            )
            if new:
                additions.append(AddAssignments(cycle.id, new))
            messages.extend(_chase(defs, cal, obligation, cycle, snapshot, today))
        elif cycle.handoff_pending and obligation.downstream:
            handoffs.append(
                HandOff(
                    cycle.id,
                    cycle.period_key,
                    cycle.handoff_version,
                    obligation.downstream.obligation,
                )
            )
    return Decision(tuple(messages), tuple(closes), tuple(handoffs), tuple(additions))

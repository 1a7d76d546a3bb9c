"""Decide, then act: given the definitions, one obligation's ledger state and a date, what is due.

Pure functions, no I/O. The collect flow, `kehoach plan` and the simulator all act on these
answers, so a live tick and a simulated one cannot disagree about what should happen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from engine.bodies import resolve_responsible, resolve_target
from engine.calendar import LegalCalendar
from engine.definitions.models import Definitions, Obligation, Rung, RungKind, Target
from engine.ledger.outbox import outbox_key
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot
from engine.ledger.states import AWAITING
from engine.periods import Period
from engine.plan import obligation_active
from engine.schedule import (
    CycleDates,
    closing_date,
    cycle_dates,
    cycle_window,
    late_start,
    rung_date,
)


@dataclass(frozen=True)
class OpenCycle:
    obligation_id: str
    period: Period
    dates: CycleDates  # by rule
    bodies: tuple[tuple[str, str, dt.date], ...]  # (body id, name at opening, due on)
    due_on: dt.date  # the deadline the ledger enforces: the rule's, or a late start's
    closes_on: dt.date
    rule_due_on: dt.date | None = None  # set only when a late start moved the deadline
    due_note: str | None = None


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
    early: bool = False  # the cycle is still open (hand_off: at-due)


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
        # Opened after its request date: never a request whose deadline has passed.
        late = late_start(obligation, cal, dates.request_on, dates.due_on, today)
        due_on = late.due_on if late else dates.due_on
        closes_on = closing_date(obligation, due_on, cal) if late else dates.closes_on
        bodies = resolve_responsible(defs, obligation, today)
        entries = tuple((b.id, b.name, due_on) for b in bodies)
        result.append(
            OpenCycle(
                obligation.id,
                period,
                dates,
                entries,
                due_on,
                closes_on,
                late.rule_due_on if late else None,
                late.note if late else None,
            )
        )
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
    reached_by_due: dict[dt.date, list[tuple[int, Rung, dt.date]]] = {}
    firmest_sent = _firmest_sent(obligation, cycle, snapshot)
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
        if assignment.requested_on is not None and assignment.requested_on >= today:
            continue  # the request went out today (or "later", on a tick back in time)
        reached = reached_by_due.get(assignment.due_on)
        if reached is None:
            reached = reached_by_due[assignment.due_on] = [
                (index, rung, on)
                for index, rung in enumerate(obligation.ladder)
                if (on := rung_date(rung, assignment.due_on, cal)) <= today
            ]
        # A rung dated before the request (a late-opened cycle) is not owed.
        owed = [
            r for r in reached if assignment.requested_on is None or r[2] > assignment.requested_on
        ]
        if not owed:
            continue
        # After missed days only the firmest rung reached goes out, never a burst of stale ones,
        # and never one softer than a rung the body already received: dates never go back.
        index, rung, on = owed[-1]
        if index <= firmest_sent.get(assignment.body_id, -1):
            continue
        if not snapshot.has_message(
            outbox_key(cycle.id, assignment.body_id, rung.id, rung.kind.value)
        ):
            message = _rung_message(defs, obligation, cycle, assignment, rung, today)
            if rung.kind == RungKind.due_today and today != assignment.due_on:
                # "Due today" only on the due date: after it, the same rung is an overdue notice.
                message = replace(message, kind=RungKind.overdue.value)
            messages.append(message)
    return messages


def _firmest_sent(obligation: Obligation, cycle: CycleView, snapshot: LedgerSnapshot) -> dict:
    """Per body of the cycle, the ladder index of the firmest rung already queued or sent."""
    position = {rung.id: index for index, rung in enumerate(obligation.ladder)}
    firmest: dict[str, int] = {}
    for row in snapshot.outbox:
        if row.cycle_id == cycle.id and row.rung in position:
            firmest[row.body_id] = max(firmest.get(row.body_id, -1), position[row.rung])
    return firmest


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


def _early_handoff(obligation: Obligation, cycle: CycleView, today: dt.date) -> HandOff | None:
    """'hand_off: at-due': once the due date has passed, the downstream starts with what has
    arrived; later reports bump the version and it runs again (an amended report)."""
    downstream = obligation.downstream
    if downstream is None or downstream.hand_off != "at-due" or today <= cycle.due_on:
        return None
    if cycle.handed_off_version is not None and cycle.handed_off_version >= cycle.handoff_version:
        return None
    return HandOff(
        cycle.id, cycle.period_key, cycle.handoff_version, downstream.obligation, early=True
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
                delivered = (
                    cycle.handed_off_version is not None
                    and cycle.handed_off_version >= cycle.handoff_version
                )
                if obligation.downstream and not delivered:
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
            early = _early_handoff(obligation, cycle, today)
            if early is not None:
                handoffs.append(early)
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

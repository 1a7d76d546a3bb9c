"""The weekly digest: on the first working day of each week, every body that receives results
learns who still owes it what, across all obligations, overdue first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.bodies import role_holder
from engine.calendar import LegalCalendar
from engine.definitions.models import Definitions
from engine.ledger.snapshot import LedgerSnapshot
from engine.ledger.states import AWAITING


@dataclass(frozen=True)
class Outstanding:
    obligation_id: str
    period_key: str
    period_start: dt.date
    body_name: str
    due_on: dt.date
    state: str


@dataclass(frozen=True)
class Digest:
    recipient_id: str
    to: tuple[str, ...]
    week: str  # ISO week, e.g. 2026-W10: part of the outbox key, so one digest per week
    items: tuple[Outstanding, ...]


def digest_week(cal: LegalCalendar, today: dt.date) -> str | None:
    """The ISO week if today is its first working day (Tết weeks start late), else None."""
    if not cal.is_working_day(today):
        return None
    monday = today - dt.timedelta(days=today.weekday())
    first = next(
        (
            monday + dt.timedelta(days=i)
            for i in range(7)
            if cal.is_working_day(monday + dt.timedelta(days=i))
        ),
        None,
    )
    if first != today:
        return None
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


def _recipient(defs: Definitions, obligation_id: str, today: dt.date) -> str | None:
    target = defs.obligations[obligation_id].recipient
    if target.body:
        return target.body
    if target.role:
        holder = role_holder(defs, target.role, today)
        return holder.id if holder else None
    return None


def weekly_digests(
    defs: Definitions, snapshots: list[LedgerSnapshot], week: str, today: dt.date
) -> list[Digest]:
    """One digest per body that receives results, listing every assignment still owed to it."""
    owed: dict[str, list[Outstanding]] = {}
    for snapshot in snapshots:
        if snapshot.obligation_id not in defs.obligations:
            continue
        recipient = _recipient(defs, snapshot.obligation_id, today)
        if recipient is None:
            continue
        for cycle in snapshot.open_cycles:
            for a in cycle.assignments:
                if a.state in AWAITING and a.requested_on is not None:
                    owed.setdefault(recipient, []).append(
                        Outstanding(
                            snapshot.obligation_id,
                            cycle.period_key,
                            cycle.period_start,
                            a.body_name,
                            a.due_on,
                            a.state,
                        )
                    )
    digests = []
    for recipient, items in sorted(owed.items()):
        body = defs.bodies.get(recipient)
        to = tuple(body.mailboxes.to) if body else ()
        if to:
            digests.append(Digest(recipient, to, week, tuple(items)))
    return digests

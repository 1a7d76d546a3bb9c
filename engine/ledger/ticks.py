"""The latest date each obligation was ticked for: dates never go back.

A tick for an earlier date (a restored backup, a wrong `--as-of`) would chase with rungs the
assignments are already past; it is refused unless the operator forces it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.ledger.models import TickMark
from engine.ledger.transactions import aware, committing, writing


def latest_tick(session: Session, obligation_id: str) -> dt.date | None:
    """The latest date a tick ran for this obligation, if any."""
    return session.scalar(select(TickMark.latest_on).where(TickMark.obligation_id == obligation_id))


def advance_tick(
    session: Session,
    obligation_id: str,
    day: dt.date,
    *,
    force: bool = False,
    now: dt.datetime | None = None,
) -> dt.date | None:
    """Record a tick for `day`; returns the later date already ticked (and records nothing)
    when `day` is earlier and not forced. A forced earlier tick leaves the mark where it was."""
    now = aware(now)
    with committing(session):
        latest = latest_tick(session, obligation_id)
    if latest is not None and day <= latest:
        # Nothing to write (the same day again, or an earlier one): no write lock taken.
        return None if day == latest or force else latest
    for attempt in range(2):
        try:
            with writing(session):
                latest = latest_tick(session, obligation_id)
                if latest is None:
                    mark = TickMark(obligation_id=obligation_id, latest_on=day, updated_at=now)
                    session.add(mark)
                    return None
                if day < latest:
                    return None if force else latest
                session.execute(
                    update(TickMark)
                    .where(TickMark.obligation_id == obligation_id, TickMark.latest_on < day)
                    .values(latest_on=day, updated_at=now)
                )
                return None
        except IntegrityError:
            if attempt:
                raise  # two first ticks raced: the loser re-reads once
    return None

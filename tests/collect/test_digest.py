"""The weekly digest: on the week's first working day, once, listing who still owes what."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.calendar import LegalCalendar
from engine.digest import digest_week
from notifications.digest import queue_weekly_digests
from tasks import runtime, steps
from tests.collect.helpers import outbox_rows

DEFS = Path(__file__).parent / "fixtures" / "defs"


def test_first_working_day_of_the_week() -> None:
    cal = LegalCalendar()
    assert digest_week(cal, dt.date(2026, 3, 9)) == "2026-W11"  # a Monday
    assert digest_week(cal, dt.date(2026, 3, 10)) is None
    # Tết 16–20/02/2026 takes the whole week: no working day, no digest that week.
    assert all(digest_week(cal, dt.date(2026, 2, d)) is None for d in range(16, 23))
    assert digest_week(cal, dt.date(2026, 4, 28)) == "2026-W18"  # Monday 27/04 is a day off


def digest(day: dt.date) -> int:
    env = runtime.tick_env(day)
    return queue_weekly_digests(
        env.defs, env.sessions, env.renderer, env.mail_domain, env.today, env.now
    )


def test_digest_lists_outstanding_bodies_once_a_week(kehoach_env) -> None:
    kehoach_env(DEFS)
    obligation = runtime.definitions().obligations["quarterly-report"]
    opening = runtime.tick_env(dt.date(2026, 3, 4))
    steps.open_due_cycles(opening, obligation, steps.TickOutcome())
    steps.enqueue_and_close(opening, obligation, steps.TickOutcome())

    assert digest(dt.date(2026, 3, 9)) == 1
    assert digest(dt.date(2026, 3, 9)) == 0  # a second run that Monday
    assert digest(dt.date(2026, 3, 10)) == 0  # not the week's first working day
    letters = [r for r in outbox_rows() if r["kind"] == "digest"]
    assert len(letters) == 1
    assert letters[0]["to"] == ["van-thu@svhttdl.tuyenquang.example"]
    assert "3 trong hạn" in letters[0]["subject"]

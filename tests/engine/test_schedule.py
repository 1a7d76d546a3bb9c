"""Cycle dates by rule, pinned by hand on the 2026 Vietnamese calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.calendar import LegalCalendar
from engine.definitions.loader import load_definitions
from engine.definitions.models import Obligation
from engine.periods import period_for_key
from engine.schedule import cycle_dates, due_date
from engine.settings import REPO_ROOT


@pytest.fixture(scope="module")
def calendar() -> LegalCalendar:
    defs = load_definitions(REPO_ROOT / "definitions").definitions
    return LegalCalendar(defs.calendars if defs else {})


def monthly(due: dict, **extra) -> Obligation:
    return Obligation.model_validate(
        {
            "id": "thu",
            "title": "Thử",
            "description": "Thử.",
            "clauses": ["IV"],
            "responsible": {"groups": ["g"]},
            "recipient": {"role": "lead"},
            "schedule": {"every": "monthly"},
            "request": {"before_due": {"working_days": 5}},
            "due": due,
            "form": {"fields": [{"id": "x", "label": "X", "type": "text"}]},
            **extra,
        }
    )


def due(obligation: Obligation, key: str, cal: LegalCalendar) -> tuple[dt.date, list[str]]:
    return due_date(obligation, period_for_key(obligation.schedule, obligation.window, key), cal)


def test_a_due_date_in_tet_moves_to_the_first_working_day_after(calendar) -> None:
    obligation = monthly({"rule": "day-of-month", "day": 16})
    day, steps = due(obligation, "2026-02", calendar)
    assert day == dt.date(2026, 2, 23)  # Tết 16–20/02, then Saturday and Sunday
    moves = [s for s in steps if "Điều 148" in s]
    assert len(moves) == 7
    assert "Tết" in moves[0] and "Thứ Bảy" in moves[5] and "Chủ nhật" in moves[6]
    assert steps[-1] == "Hạn nộp: Thứ Hai, ngày 23 tháng 2 năm 2026."


def test_hung_kings_observed_day_moves_the_deadline(calendar) -> None:
    obligation = monthly({"rule": "day-of-month", "day": 26})
    day, _ = due(obligation, "2026-04", calendar)
    # 26/04/2026 is a Sunday (and Hùng Kings' day); its observed day off is Monday 27/04.
    assert day == dt.date(2026, 4, 28)


def test_a_weekend_deadline_rolls_to_monday(calendar) -> None:
    obligation = monthly({"rule": "day-of-month", "day": 20})
    assert due(obligation, "2026-12", calendar)[0] == dt.date(2026, 12, 21)
    assert due(obligation, "2026-11", calendar)[0] == dt.date(2026, 11, 20)  # a Friday, kept


def test_working_days_after_the_cut_off_skip_tet(calendar) -> None:
    # Decree 09 monthly window for 2026-02 ends Saturday 14/02; 2 working days after it.
    obligation = monthly({"rule": "after-period-end", "offset": {"working_days": 2}})
    assert due(obligation, "2026-02", calendar)[0] == dt.date(2026, 2, 24)


def test_day_of_month_clamps_to_the_month_length(calendar) -> None:
    obligation = monthly({"rule": "day-of-month", "day": 31})
    day, steps = due(obligation, "2026-06", calendar)
    assert day == dt.date(2026, 6, 30)
    assert any("chỉ có 30 ngày" in s for s in steps)


def test_cycle_dates_request_rungs_and_close(calendar) -> None:
    obligation = monthly(
        {"rule": "day-of-month", "day": 20},
        ladder=[
            {"id": "a", "kind": "reminder", "offset": {"working_days": -2}},
            {"id": "b", "kind": "overdue", "offset": {"days": 1}},
        ],
        grace={"working_days": 3},
    )
    dates = cycle_dates(
        obligation, period_for_key(obligation.schedule, obligation.window, "2026-12"), calendar
    )
    assert dates.due_on == dt.date(2026, 12, 21)
    assert dates.request_on == dt.date(2026, 12, 14)  # 5 working days before
    assert [r.on for r in dates.rungs] == [dt.date(2026, 12, 17), dt.date(2026, 12, 22)]
    assert dates.closes_on == dt.date(2026, 12, 24)

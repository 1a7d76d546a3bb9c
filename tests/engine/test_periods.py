"""Reporting periods: Decree 09/2019 windows, calendar windows, keys, cron, once and events."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.definitions.models import Cadence, Schedule, Window
from engine.periods import (
    Period,
    event_period,
    parse_cron,
    period_containing,
    period_for_key,
    periods_between,
)

D = dt.date
ND09 = Window(name="nd09")
CALENDAR = Window(name="calendar")
PERIODIC = ("monthly", "quarterly", "half-yearly", "annual")


def every(cadence: str, **kwargs: object) -> Schedule:
    return Schedule(every=Cadence(cadence), **kwargs)


# --- windows ---------------------------------------------------------------------------------

WINDOWS = [
    # cadence, window, key, start, end, label, last month
    ("monthly", ND09, "2026-03", D(2026, 2, 15), D(2026, 3, 14), "tháng 3 năm 2026", (2026, 3)),
    ("monthly", ND09, "2026-01", D(2025, 12, 15), D(2026, 1, 14), "tháng 1 năm 2026", (2026, 1)),
    ("monthly", CALENDAR, "2026-02", D(2026, 2, 1), D(2026, 2, 28), "tháng 2 năm 2026", (2026, 2)),
    ("quarterly", ND09, "2026-Q1", D(2025, 12, 15), D(2026, 3, 14), "quý I năm 2026", (2026, 3)),
    ("quarterly", ND09, "2026-Q4", D(2026, 9, 15), D(2026, 12, 14), "quý IV năm 2026", (2026, 12)),
    ("quarterly", CALENDAR, "2026-Q2", D(2026, 4, 1), D(2026, 6, 30), "quý II năm 2026", (2026, 6)),
    (
        "half-yearly",
        ND09,
        "2026-H1",
        D(2025, 12, 15),
        D(2026, 6, 14),
        "6 tháng đầu năm 2026",
        (2026, 6),
    ),
    (
        "half-yearly",
        ND09,
        "2026-H2",
        D(2026, 6, 15),
        D(2026, 12, 14),
        "6 tháng cuối năm 2026",
        (2026, 12),
    ),
    (
        "half-yearly",
        CALENDAR,
        "2026-H2",
        D(2026, 7, 1),
        D(2026, 12, 31),
        "6 tháng cuối năm 2026",
        (2026, 12),
    ),
    ("annual", ND09, "2026", D(2025, 12, 15), D(2026, 12, 14), "năm 2026", (2026, 12)),
    ("annual", CALENDAR, "2026", D(2026, 1, 1), D(2026, 12, 31), "năm 2026", (2026, 12)),
    (
        "monthly",
        Window(name="custom", cutoff_day=20),
        "2026-03",
        D(2026, 2, 20),
        D(2026, 3, 19),
        "tháng 3 năm 2026",
        (2026, 3),
    ),
]


@pytest.mark.parametrize(("cadence", "window", "key", "start", "end", "label", "last"), WINDOWS)
def test_window_of_each_cadence(
    cadence: str,
    window: Window,
    key: str,
    start: dt.date,
    end: dt.date,
    label: str,
    last: tuple[int, int],
) -> None:
    period = period_for_key(every(cadence), window, key)
    assert (period.start, period.end, period.label, period.key) == (start, end, label, key)
    assert period.last_month == last
    assert period.cadence == Cadence(cadence)


def test_leap_february_with_calendar_window() -> None:
    assert period_for_key(every("monthly"), CALENDAR, "2028-02").end == D(2028, 2, 29)


@pytest.mark.parametrize("cadence", PERIODIC)
@pytest.mark.parametrize("window", [ND09, CALENDAR], ids=["nd09", "calendar"])
def test_periods_tile_time_and_keys_round_trip(cadence: str, window: Window) -> None:
    schedule = every(cadence)
    periods = periods_between(schedule, window, D(2025, 1, 1), D(2027, 12, 31))
    expected = {"monthly": 36, "quarterly": 12, "half-yearly": 6, "annual": 3}[cadence]
    assert len(periods) == expected
    for before, after in zip(periods, periods[1:], strict=False):
        assert after.start == before.end + dt.timedelta(days=1), (before.key, after.key)
    for period in periods:
        assert period_for_key(schedule, window, period.key) == period
        assert period_containing(schedule, window, period.start) == period
        assert period_containing(schedule, window, period.end) == period


def test_periods_between_selects_by_window_end() -> None:
    january = periods_between(every("monthly"), ND09, D(2026, 1, 1), D(2026, 1, 31))
    assert [p.key for p in january] == ["2026-01"]  # 2026-02 ends on 14/02
    assert periods_between(every("annual"), ND09, D(2026, 12, 15), D(2027, 12, 13)) == []
    assert [
        p.key for p in periods_between(every("annual"), ND09, D(2026, 12, 14), D(2026, 12, 14))
    ] == ["2026"]
    assert periods_between(every("monthly"), ND09, D(2026, 5, 1), D(2026, 4, 1)) == []


def test_period_containing_crosses_into_next_year_with_nd09() -> None:
    assert period_containing(every("annual"), ND09, D(2026, 12, 20)).key == "2027"
    assert period_containing(every("monthly"), ND09, D(2026, 12, 20)).key == "2027-01"
    assert period_containing(every("monthly"), ND09, D(2026, 3, 14)).key == "2026-03"
    assert period_containing(every("monthly"), ND09, D(2026, 3, 15)).key == "2026-04"
    assert period_containing(every("quarterly"), CALENDAR, D(2026, 3, 31)).key == "2026-Q1"


# --- bad keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "key", "message"),
    [
        (every("monthly"), "2026-13", "YYYY-MM"),
        (every("monthly"), "2026-3", "YYYY-MM"),
        (every("monthly"), "2026", "YYYY-MM"),
        (every("quarterly"), "2026-Q5", "YYYY-Qn"),
        (every("half-yearly"), "2026-H3", "YYYY-H1"),
        (every("annual"), "26", "YYYY"),
        (every("annual"), "0000", "năm 0"),
        (every("once", on=D(2026, 7, 1)), "2026-07-02", "chỉ có kỳ '2026-07-01'"),
        (every("cron", cron="0 8 * * 1"), "không-phải-ngày", "YYYY-MM-DD"),
        (every("cron", cron="0 8 * * 1"), "2026-03-03", "không chạy vào ngày này"),
        (every("event", event="huong-dan-bnv"), "2026-03", "event-<tên>"),
        (every("event", event="huong-dan-bnv"), "event-dot-1", "cần ngày xảy ra sự kiện"),
    ],
)
def test_bad_key_gives_a_vietnamese_message(schedule: Schedule, key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        period_for_key(schedule, ND09, key)


# --- once and event --------------------------------------------------------------------------


def test_once_period() -> None:
    schedule = every("once", on=D(2026, 7, 1))
    (period,) = periods_between(schedule, ND09, D(2026, 1, 1), D(2026, 12, 31))
    assert period == Period(
        Cadence.once, "2026-07-01", D(2026, 7, 1), D(2026, 7, 1), "đợt ngày 01/07/2026"
    )
    assert periods_between(schedule, ND09, D(2027, 1, 1), D(2027, 12, 31)) == []
    assert period_for_key(schedule, ND09, "2026-07-01") == period
    assert period_containing(schedule, ND09, D(2026, 7, 1)) == period
    assert period_containing(schedule, ND09, D(2026, 7, 2)) is None


def test_event_periods_come_from_the_caller() -> None:
    schedule = every("event", event="huong-dan-bnv")
    assert periods_between(schedule, ND09, D(2026, 1, 1), D(2026, 12, 31)) == []
    assert period_containing(schedule, ND09, D(2026, 5, 5)) is None
    period = period_for_key(schedule, ND09, "event-dot-1", on=D(2026, 5, 5))
    assert period == event_period("dot-1", D(2026, 5, 5))
    assert (period.key, period.end, period.last_month) == ("event-dot-1", D(2026, 5, 5), (2026, 5))
    with pytest.raises(ValueError, match="tên đợt 'Đợt 1' không hợp lệ"):
        event_period("Đợt 1", D(2026, 5, 5))


# --- cron ------------------------------------------------------------------------------------


def test_weekly_cron_windows_run_from_the_previous_fire_date() -> None:
    schedule = every("cron", cron="0 8 * * 1")
    periods = periods_between(schedule, ND09, D(2026, 3, 1), D(2026, 3, 31))
    assert [p.key for p in periods] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
    ]
    assert periods[0].start == D(2026, 2, 24)  # the Monday before, plus one day
    assert periods[1].start == D(2026, 3, 3)
    assert periods[0].label == "kỳ ngày 02/03/2026"
    for period in periods:
        assert period_for_key(schedule, ND09, period.key) == period
    assert period_containing(schedule, ND09, D(2026, 3, 4)) == periods[1]


@pytest.mark.parametrize(
    ("expression", "days"),
    [
        ("0 0 1,15 * *", [1, 15]),
        ("0 0 */10 * *", [1, 11, 21, 31]),
        ("0 0 5-7 * *", [5, 6, 7]),
        ("0 0 20/5 * *", [20, 25, 30]),
        (
            "0 0 * * mon-fri",
            [2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 23, 24, 25, 26, 27, 30, 31],
        ),
        ("0 0 * * 0,7", [1, 8, 15, 22, 29]),
        # Both day fields restricted: either matches (the 13th, or a Friday).
        ("0 0 13 * 5", [6, 13, 20, 27]),
        ("0 0 13 * 2", [3, 10, 13, 17, 24, 31]),
        ("@monthly", [1]),
        ("0 0 1 jan,mar *", [1]),
        ("0 0 1 feb *", []),
    ],
)
def test_cron_fire_days_in_march_2026(expression: str, days: list[int]) -> None:
    periods = periods_between(every("cron", cron=expression), ND09, D(2026, 3, 1), D(2026, 3, 31))
    assert [p.end.day for p in periods] == days


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 * *", "5 trường"),
        ("0 0 * * * *", "5 trường"),
        ("60 0 * * *", "phút: 60 nằm ngoài"),
        ("0 24 * * *", "giờ: 24 nằm ngoài"),
        ("0 0 32 * *", "ngày trong tháng: 32"),
        ("0 0 0 * *", "ngày trong tháng: 0"),
        ("0 0 * 13 *", "tháng: 13"),
        ("0 0 * * 8", "thứ trong tuần: 8"),
        ("0 0 */0 * *", "bước"),
        ("0 0 7-3 * *", "bị ngược"),
        ("x 0 * * *", "không phải là số"),
        ("0 0 1,,2 * *", "thiếu giá trị"),
        ("0 0 31 2 *", "không bao giờ chạy"),
        ("", "5 trường"),
    ],
)
def test_bad_cron_gives_a_vietnamese_message(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)
    with pytest.raises(ValueError, match="cron"):
        periods_between(every("cron", cron=expression), ND09, D(2026, 1, 1), D(2026, 1, 31))


def test_leap_day_cron_reaches_back_four_years() -> None:
    (period,) = periods_between(
        every("cron", cron="0 0 29 2 *"), ND09, D(2028, 1, 1), D(2028, 12, 31)
    )
    assert (period.start, period.end) == (D(2024, 3, 1), D(2028, 2, 29))


# --- "6 tháng và năm" ------------------------------------------------------------------------


def test_half_year_and_year_has_the_first_half_then_the_whole_year() -> None:
    schedule = every("half-yearly-and-annual")
    periods = periods_between(schedule, CALENDAR, D(2026, 1, 1), D(2027, 12, 31))
    assert [(p.key, p.start, p.end, p.label) for p in periods] == [
        ("2026-H1", D(2026, 1, 1), D(2026, 6, 30), "6 tháng đầu năm 2026"),
        ("2026", D(2026, 1, 1), D(2026, 12, 31), "năm 2026"),
        ("2027-H1", D(2027, 1, 1), D(2027, 6, 30), "6 tháng đầu năm 2027"),
        ("2027", D(2027, 1, 1), D(2027, 12, 31), "năm 2027"),
    ]
    for period in periods:
        assert period_for_key(schedule, CALENDAR, period.key) == period
    # Decree 09 windows: the year ends on 14 December, like an annual report's.
    assert period_for_key(schedule, ND09, "2026").end == D(2026, 12, 14)
    assert period_for_key(schedule, ND09, "2026-H1").end == D(2026, 6, 14)


def test_half_year_and_year_gives_a_day_to_the_period_ending_first() -> None:
    schedule = every("half-yearly-and-annual")
    assert period_containing(schedule, CALENDAR, D(2026, 3, 1)).key == "2026-H1"
    assert period_containing(schedule, CALENDAR, D(2026, 8, 1)).key == "2026"
    assert period_containing(schedule, ND09, D(2026, 12, 20)).key == "2027-H1"


def test_half_year_and_year_has_no_second_half_key() -> None:
    schedule = every("half-yearly-and-annual")
    with pytest.raises(ValueError, match="không có kỳ 6 tháng cuối năm.*'2026'"):
        period_for_key(schedule, CALENDAR, "2026-H2")
    with pytest.raises(ValueError, match="YYYY-H1 \\(6 tháng đầu năm\\) hoặc YYYY"):
        period_for_key(schedule, CALENDAR, "2026-Q2")

"""The legal calendar against the real 2026 schedule (definitions/calendars/2026.yaml)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from engine.calendar import LegalCalendar, Step, today_in_vietnam
from engine.definitions.models import CalendarFile, CalendarOverride, NamedDay, Offset

CALENDAR_2026 = Path(__file__).resolve().parents[2] / "definitions" / "calendars" / "2026.yaml"
D = dt.date


@pytest.fixture(scope="module")
def official() -> LegalCalendar:
    override = CalendarFile.model_validate(yaml.safe_load(CALENDAR_2026.read_text())).calendar
    assert override.year == 2026
    return LegalCalendar({override.year: override})


@pytest.fixture(scope="module")
def package_only() -> LegalCalendar:
    return LegalCalendar()


def naive_add(cal: LegalCalendar, day: dt.date, n: int) -> dt.date:
    """Reference implementation: walk day by day."""
    step = dt.timedelta(days=1 if n > 0 else -1)
    for _ in range(abs(n)):
        day += step
        while not cal.is_working_day(day):
            day += step
    return day


# --- 2026 facts ------------------------------------------------------------------------------


def test_tet_2026_is_off_and_work_resumes_monday_23rd(official: LegalCalendar) -> None:
    for day in range(16, 21):
        assert not official.is_working_day(D(2026, 2, day))
        assert "Tết Nguyên đán" in (official.day_off_reason(D(2026, 2, day)) or "")
    assert official.day_off_reason(D(2026, 2, 21)) == "Thứ Bảy"
    assert official.day_off_reason(D(2026, 2, 22)) == "Chủ nhật"
    assert official.is_working_day(D(2026, 2, 13))
    assert official.is_working_day(D(2026, 2, 23))
    assert official.day_off_reason(D(2026, 2, 23)) is None


def test_tet_2026_also_known_to_the_package(package_only: LegalCalendar) -> None:
    assert all(not package_only.is_working_day(D(2026, 2, day)) for day in range(14, 23))
    assert package_only.is_working_day(D(2026, 2, 23))


def test_hung_kings_2026_sunday_observed_on_monday(official: LegalCalendar) -> None:
    assert D(2026, 4, 26).weekday() == 6
    assert "Hùng Vương" in (official.day_off_reason(D(2026, 4, 26)) or "")
    reason = official.day_off_reason(D(2026, 4, 27)) or ""
    assert "Giỗ Tổ Hùng Vương" in reason and "nghỉ bù" in reason
    assert official.is_working_day(D(2026, 4, 28))


def test_reunification_and_labour_day_2026(official: LegalCalendar) -> None:
    assert official.is_working_day(D(2026, 4, 29))
    assert official.day_off_reason(D(2026, 4, 30)) == "Ngày Chiến thắng"
    assert official.day_off_reason(D(2026, 5, 1)) == "Ngày Quốc tế Lao động"
    assert official.is_working_day(D(2026, 5, 4))


def test_national_day_2026_with_the_swap_to_saturday_22_august(
    official: LegalCalendar, package_only: LegalCalendar
) -> None:
    for cal in (official, package_only):
        assert cal.day_off_reason(D(2026, 9, 1)) == "Quốc khánh"
        assert cal.day_off_reason(D(2026, 9, 2)) == "Quốc khánh"
        assert not cal.is_working_day(D(2026, 8, 31))
        assert D(2026, 8, 22).weekday() == 5 and cal.is_working_day(D(2026, 8, 22))
        assert cal.is_working_day(D(2026, 9, 3))
    assert official.roll_forward(D(2026, 8, 29))[0] == D(2026, 9, 3)


def test_new_year_2026_swap_comes_from_the_override_file(
    official: LegalCalendar, package_only: LegalCalendar
) -> None:
    assert not official.is_working_day(D(2026, 1, 2))
    assert official.is_working_day(D(2026, 1, 10))
    # Without the official file the package's estimate stands: proof the file is what changed it.
    assert package_only.is_working_day(D(2026, 1, 2))
    assert package_only.day_off_reason(D(2026, 1, 10)) == "Thứ Bảy"


def test_holidays_in_lists_no_plain_weekends(official: LegalCalendar) -> None:
    listed = official.holidays_in(2026)
    assert D(2026, 2, 17) in listed and D(2026, 11, 24) in listed
    assert D(2026, 2, 21) not in listed
    assert D(2026, 2, 21) in official.days_off(2026)


# --- Civil Code Art. 148 ---------------------------------------------------------------------


def test_roll_forward_across_tet_records_every_step(official: LegalCalendar) -> None:
    final, steps = official.roll_forward(D(2026, 2, 14))
    assert final == D(2026, 2, 23)
    assert [s.date for s in steps] == [D(2026, 2, day) for day in range(14, 23)]
    reasons = [s.reason for s in steps]
    assert reasons[:2] == ["Thứ Bảy", "Chủ nhật"]
    assert all("Tết Nguyên đán" in r for r in reasons[2:7])
    assert reasons[7:] == ["Thứ Bảy", "Chủ nhật"]
    assert all(isinstance(s, Step) for s in steps)


def test_roll_forward_leaves_a_working_day_alone(official: LegalCalendar) -> None:
    assert official.roll_forward(D(2026, 2, 23)) == (D(2026, 2, 23), [])


def test_roll_forward_refuses_an_endless_break() -> None:
    start = D(2026, 3, 1)
    override = CalendarOverride(
        year=2026,
        days_off=[NamedDay(date=start + dt.timedelta(days=i), name="Nghỉ") for i in range(90)],
    )
    with pytest.raises(ValueError, match="không tìm thấy ngày làm việc"):
        LegalCalendar({2026: override}).roll_forward(start)


# --- working-day arithmetic ------------------------------------------------------------------


def test_add_working_days_across_tet(official: LegalCalendar) -> None:
    assert official.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 23)
    assert official.add_working_days(D(2026, 2, 10), 5) == D(2026, 2, 24)
    assert official.add_working_days(D(2026, 2, 23), -1) == D(2026, 2, 13)
    # Counting from a day off: the first working day after it is day 1.
    assert official.add_working_days(D(2026, 2, 17), 1) == D(2026, 2, 23)
    assert official.add_working_days(D(2026, 2, 17), -1) == D(2026, 2, 13)
    assert official.add_working_days(D(2026, 2, 17), 0) == D(2026, 2, 17)


def test_add_working_days_across_the_year_boundary(official: LegalCalendar) -> None:
    # 01/01 holiday, 02/01 swapped day off, 03–04/01 weekend.
    assert official.add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 5)
    assert official.add_working_days(D(2026, 1, 5), -1) == D(2025, 12, 31)
    assert official.add_working_days(D(2026, 12, 31), 250) == naive_add(
        official, D(2026, 12, 31), 250
    )


def test_add_working_days_agrees_with_a_day_by_day_walk(official: LegalCalendar) -> None:
    for offset in range(0, 400, 7):
        day = D(2025, 12, 1) + dt.timedelta(days=offset)
        for n in (-23, -5, -1, 1, 2, 10, 31):
            assert official.add_working_days(day, n) == naive_add(official, day, n), (day, n)


def test_working_days_between_inverts_add(official: LegalCalendar) -> None:
    start = D(2026, 2, 10)
    for n in (-30, -3, -1, 0, 1, 4, 30):
        end = official.add_working_days(start, n)
        assert official.working_days_between(start, end) == n
    assert official.working_days_between(D(2026, 2, 13), D(2026, 2, 22)) == 0
    assert official.working_days_between(D(2026, 2, 21), D(2026, 2, 13)) == -1


def test_shift_by_offset(official: LegalCalendar) -> None:
    assert official.shift(D(2026, 2, 13), Offset(working_days=1)) == D(2026, 2, 23)
    assert official.shift(D(2026, 2, 23), Offset(working_days=-1)) == D(2026, 2, 13)
    assert official.shift(D(2026, 2, 13), Offset(days=3)) == D(2026, 2, 16)
    assert official.add_days(D(2026, 3, 1), -1) == D(2026, 2, 28)


# --- override precedence ---------------------------------------------------------------------


def test_override_make_up_saturday_and_extra_day_off() -> None:
    override = CalendarOverride(
        year=2026,
        source="Thử nghiệm",
        working_days=[
            NamedDay(date=D(2026, 3, 7), name="Làm bù cho ngày 11/03/2026"),
            NamedDay(date=D(2026, 11, 24), name="Ngày Văn hóa Việt Nam chưa có hiệu lực"),
        ],
        days_off=[NamedDay(date=D(2026, 3, 11), name="Nghỉ hoán đổi")],
    )
    cal = LegalCalendar({2026: override})
    assert D(2026, 3, 7).weekday() == 5 and cal.is_working_day(D(2026, 3, 7))
    assert cal.day_off_reason(D(2026, 3, 11)) == "Nghỉ hoán đổi"
    assert cal.is_working_day(D(2026, 11, 24))  # beats the package holiday
    assert cal.add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 7)
    assert cal.add_working_days(D(2026, 3, 10), 1) == D(2026, 3, 12)
    assert cal.roll_forward(D(2026, 3, 11)) == (
        D(2026, 3, 12),
        [Step(D(2026, 3, 11), "Nghỉ hoán đổi")],
    )
    # The plain calendar disagrees on each of these days.
    plain = LegalCalendar()
    assert not plain.is_working_day(D(2026, 3, 7))
    assert plain.is_working_day(D(2026, 3, 11))
    assert not plain.is_working_day(D(2026, 11, 24))


def test_override_day_listed_both_ways_is_refused() -> None:
    day = NamedDay(date=D(2026, 3, 9), name="Mâu thuẫn")
    override = CalendarOverride(year=2026, days_off=[day], working_days=[day])
    with pytest.raises(ValueError, match="09/03/2026 vừa là ngày nghỉ vừa là ngày làm việc"):
        LegalCalendar({2026: override})


# --- civil dates -----------------------------------------------------------------------------


def test_today_in_vietnam_is_the_civil_date_not_utc() -> None:
    evening_utc = dt.datetime(2026, 12, 31, 18, 0, tzinfo=dt.UTC)
    assert today_in_vietnam(evening_utc) == D(2027, 1, 1)
    assert today_in_vietnam(dt.datetime(2026, 12, 31, 16, 59, tzinfo=dt.UTC)) == D(2026, 12, 31)
    with pytest.raises(ValueError, match="múi giờ"):
        today_in_vietnam(dt.datetime(2026, 1, 1, 12, 0))
    before = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    assert today_in_vietnam() in (before, before + dt.timedelta(days=1))


# --- speed -----------------------------------------------------------------------------------


def test_ten_thousand_additions_are_fast() -> None:
    cal = LegalCalendar()
    started = time.perf_counter()
    results = {
        cal.add_working_days(D(2026, 1, 1) + dt.timedelta(days=i % 730), 10 if i % 2 else -10)
        for i in range(10_000)
    }
    elapsed = time.perf_counter() - started
    assert len(results) > 300
    assert elapsed < 1.0, f"10 000 additions took {elapsed:.2f} s"

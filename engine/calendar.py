"""The legal calendar: which civil dates are working days for Vietnamese civil servants.

Public holidays come from the `holidays` package (country VN); a per-year override file, edited
by administrators when the Government publishes the official schedule, beats the package.
"""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from engine.definitions.models import CalendarOverride, Offset
from engine.vndates import short_date, weekday_name

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# Civil Code Art. 148 never needs long: the longest break (Tết plus weekends) is about ten days.
# The cap only turns a misconfigured override (a whole month off) into a clear error.
MAX_ROLL_DAYS = 60


def today_in_vietnam(now: dt.datetime | None = None) -> dt.date:
    """Today's civil date in Asia/Ho_Chi_Minh (or the date of an aware `now` there)."""
    moment = now if now is not None else dt.datetime.now(VIETNAM)
    if moment.tzinfo is None:
        raise ValueError("cần thời điểm có múi giờ (aware datetime) để đổi sang giờ Việt Nam")
    return moment.astimezone(VIETNAM).date()


@dataclass(frozen=True)
class Step:
    """One move of a computation: the day concerned and why, in Vietnamese."""

    date: dt.date
    reason: str


@dataclass(frozen=True)
class _Year:
    days_off: dict[dt.date, str]
    # Sorted ordinals of the year's working days: add_working_days becomes a bisect.
    working: list[int]


@functools.cache
def _package_holidays(year: int) -> tuple[dict[dt.date, str], frozenset[dt.date]]:
    # Imported here: loading the package costs over a second, which every CLI start would pay.
    # Cached per process: every tick step builds its own LegalCalendar, and computing a year's
    # lunar holidays takes milliseconds. Callers only read the result.
    import holidays

    table = holidays.country_holidays("VN", years=year, language="vi")
    # Vietnamese orthography writes "Tết Nguyên đán"; the package capitalises the second word.
    names = {d: n.replace("Nguyên Đán", "Nguyên đán") for d, n in table.items() if d.year == year}
    # The package also knows the make-up Saturdays behind its swapped days off.
    makeup = frozenset(d for d in table.weekend_workdays if d.year == year)
    return names, makeup


class LegalCalendar:
    """Working days, day-off reasons and deadline arithmetic, cached per year."""

    def __init__(self, overrides: Mapping[int, CalendarOverride] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._extra_off: dict[dt.date, str] = {}
        self._extra_working: dict[dt.date, str] = {}
        for override in self.overrides.values():
            for entry in override.days_off:
                self._extra_off[entry.date] = entry.name
            for entry in override.working_days:
                self._extra_working[entry.date] = entry.name
        both = sorted(set(self._extra_off) & set(self._extra_working))
        if both:
            listed = ", ".join(short_date(d) for d in both)
            raise ValueError(
                f"ngày {listed} vừa là ngày nghỉ vừa là ngày làm việc trong tệp lịch: giữ một"
            )
        self._years: dict[int, _Year] = {}

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        package_off, makeup = _package_holidays(year)
        days_off: dict[dt.date, str] = {}
        working: list[int] = []
        day = dt.date(year, 1, 1)
        one = dt.timedelta(days=1)
        while day.year == year:
            reason = self._reason(day, package_off, makeup)
            if reason is None:
                working.append(day.toordinal())
            else:
                days_off[day] = reason
            day += one
        cached = self._years[year] = _Year(days_off, working)
        return cached

    def _reason(
        self, day: dt.date, package_off: dict[dt.date, str], makeup: frozenset[dt.date]
    ) -> str | None:
        # Precedence: the administrators' file, then the package, then the weekly rest.
        if day in self._extra_working:
            return None
        if day in self._extra_off:
            return self._extra_off[day]
        if day in package_off:
            return package_off[day]
        if day in makeup:
            return None
        if day.weekday() >= 5:
            return weekday_name(day)
        return None

    # --- questions about one day -----------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        return day not in self._year(day.year).days_off

    def day_off_reason(self, day: dt.date) -> str | None:
        """Why `day` is off ("Thứ Bảy", "Chủ nhật", a holiday's name), or None on a working day."""
        return self._year(day.year).days_off.get(day)

    def days_off(self, year: int) -> dict[dt.date, str]:
        """Every day off of `year` with its reason, weekends included."""
        return dict(self._year(year).days_off)

    def holidays_in(self, year: int) -> dict[dt.date, str]:
        """The year's days off other than ordinary weekends (holidays, swaps, official breaks)."""
        return {d: r for d, r in self._year(year).days_off.items() if r != weekday_name(d)}

    # --- deadline arithmetic ---------------------------------------------------------------

    def roll_forward(self, day: dt.date) -> tuple[dt.date, list[Step]]:
        """Civil Code 2015 Art. 148: a deadline on a day off moves to the next working day."""
        steps: list[Step] = []
        while (reason := self.day_off_reason(day)) is not None:
            steps.append(Step(day, reason))
            if len(steps) > MAX_ROLL_DAYS:
                raise ValueError(
                    f"không tìm thấy ngày làm việc trong {MAX_ROLL_DAYS} ngày kể từ "
                    f"{short_date(steps[0].date)}: kiểm tra lại tệp lịch nghỉ"
                )
            day += dt.timedelta(days=1)
        return day, steps

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (n > 0) or before it (n < 0), never counting `day`."""
        if n == 0:
            return day
        ordinal, year = day.toordinal(), day.year
        if n > 0:
            while True:
                working = self._year(year).working
                index = bisect_right(working, ordinal) + n - 1
                if index < len(working):
                    return dt.date.fromordinal(working[index])
                n -= len(working) - bisect_right(working, ordinal)
                year += 1
        remaining = -n
        while True:
            working = self._year(year).working
            before = bisect_left(working, ordinal)
            if remaining <= before:
                return dt.date.fromordinal(working[before - remaining])
            remaining -= before
            year -= 1

    def add_days(self, day: dt.date, n: int) -> dt.date:
        return day + dt.timedelta(days=n)

    def shift(self, day: dt.date, offset: Offset) -> dt.date:
        """Move `day` by an Offset: working days or calendar days (negative = earlier)."""
        if offset.working_days is not None:
            return self.add_working_days(day, offset.working_days)
        return self.add_days(day, offset.days or 0)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end], or minus those in [end, start) when end is earlier.

        So `add_working_days(start, working_days_between(start, end)) == end` for a working `end`.
        """
        if end < start:
            one = dt.timedelta(days=1)
            return -self.working_days_between(end - one, start - one)
        count = 0
        for year in range(start.year, end.year + 1):
            working = self._year(year).working
            count += bisect_right(working, end.toordinal()) - bisect_right(
                working, start.toordinal()
            )
        return count

"""Reporting periods: which data window a cycle covers and the key that names it.

Windows follow Decree 09/2019/NĐ-CP Art. 12 (day 15 of the previous month to day 14) or plain
calendar months, per obligation. Keys ("2026", "2026-H1", "2026-Q1", "2026-03", an ISO date,
"event-<slug>") are stable: the ledger stores them.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import re
from dataclasses import dataclass

from engine.definitions.models import ID_PATTERN, Cadence, Schedule, Window
from engine.vndates import short_date

ROMAN = ("I", "II", "III", "IV")
ONE_DAY = dt.timedelta(days=1)
# A cron like "0 0 29 2 1" can go years without firing; past this we call it "never".
CRON_HORIZON_DAYS = 366 * 9

PERIODIC = {
    Cadence.monthly: "YYYY-MM, ví dụ 2026-03",
    Cadence.quarterly: "YYYY-Qn, ví dụ 2026-Q1",
    Cadence.half_yearly: "YYYY-H1 hoặc YYYY-H2, ví dụ 2026-H1",
    Cadence.half_yearly_and_annual: "YYYY-H1 (6 tháng đầu năm) hoặc YYYY (năm), ví dụ 2026-H1",
    Cadence.annual: "YYYY, ví dụ 2026",
}
KEY_PATTERNS = {
    Cadence.monthly: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    Cadence.quarterly: re.compile(r"^(\d{4})-Q([1-4])$"),
    Cadence.half_yearly: re.compile(r"^(\d{4})-H([12])$"),
    # The second cycle of "6 tháng và năm" is the year: "2026" is part 2, "2026-H1" part 1.
    Cadence.half_yearly_and_annual: re.compile(r"^(\d{4})(?:-H(1))?$"),
    Cadence.annual: re.compile(r"^(\d{4})$"),
}
EVENT_KEY = re.compile(r"^event-(.+)$")


@dataclass(frozen=True)
class Period:
    """One reporting period; `end` is the last day of the data window (inclusive)."""

    cadence: Cadence
    key: str
    start: dt.date
    end: dt.date
    label: str

    @property
    def last_month(self) -> tuple[int, int]:
        """(year, month) of the period's nominal last month, for "day N of the last month"."""
        # The window always ends inside the nominal last month (day S-1, or its last day).
        return self.end.year, self.end.month

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


# --- calendar-based cadences -----------------------------------------------------------------


def _month_shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _window(
    first: tuple[int, int], last: tuple[int, int], start_day: int
) -> tuple[dt.date, dt.date]:
    """The data window of the months first..last: calendar months, or shifted to day S."""
    if start_day == 1:
        end_day = pycalendar.monthrange(*last)[1]
        return dt.date(*first, 1), dt.date(*last, end_day)
    before = _month_shift(*first, -1)
    return dt.date(*before, start_day), dt.date(*last, start_day - 1)


def _periodic(cadence: Cadence, window: Window, year: int, part: int) -> Period:
    if cadence == Cadence.monthly:
        first = last = (year, part)
        key, label = f"{year}-{part:02d}", f"tháng {part} năm {year}"
    elif cadence == Cadence.quarterly:
        first, last = (year, 3 * part - 2), (year, 3 * part)
        key, label = f"{year}-Q{part}", f"quý {ROMAN[part - 1]} năm {year}"
    elif cadence == Cadence.half_yearly:
        first, last = (year, 6 * part - 5), (year, 6 * part)
        half = "đầu" if part == 1 else "cuối"
        key, label = f"{year}-H{part}", f"6 tháng {half} năm {year}"
    elif cadence == Cadence.half_yearly_and_annual and part == 1:
        first, last = (year, 1), (year, 6)
        key, label = f"{year}-H1", f"6 tháng đầu năm {year}"
    else:  # annual, and the year cycle of "6 tháng và năm"
        first, last = (year, 1), (year, 12)
        key, label = str(year), f"năm {year}"
    start, end = _window(first, last, window.start_day)
    return Period(cadence, key, start, end, label)


def _parts(cadence: Cadence) -> range:
    return {
        Cadence.monthly: range(1, 13),
        Cadence.quarterly: range(1, 5),
        Cadence.half_yearly: range(1, 3),
        Cadence.half_yearly_and_annual: range(1, 3),
        Cadence.annual: range(1, 2),
    }[cadence]


def _periods_of_year(cadence: Cadence, window: Window, year: int) -> list[Period]:
    return [_periodic(cadence, window, year, part) for part in _parts(cadence)]


# --- cron ------------------------------------------------------------------------------------

MONTH_NAMES = {
    n: i
    for i, n in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
DAY_NAMES = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
}
CRON_FIELDS = (
    ("phút", 0, 59, {}),
    ("giờ", 0, 23, {}),
    ("ngày trong tháng", 1, 31, {}),
    ("tháng", 1, 12, MONTH_NAMES),
    ("thứ trong tuần", 0, 7, DAY_NAMES),
)


@dataclass(frozen=True)
class Cron:
    """A parsed 5-field cron expression; only the date fields decide which days fire."""

    expression: str
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as in cron
    days_restricted: bool
    weekdays_restricted: bool

    def fires_on(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.isoweekday() % 7) in self.weekdays
        # Vixie cron: when both day fields are restricted, either one matching is enough.
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def next_on_or_after(self, day: dt.date) -> dt.date | None:
        for _ in range(CRON_HORIZON_DAYS):
            if self.fires_on(day):
                return day
            day += ONE_DAY
        return None

    def previous_before(self, day: dt.date) -> dt.date | None:
        for _ in range(CRON_HORIZON_DAYS):
            day -= ONE_DAY
            if self.fires_on(day):
                return day
        return None


def _cron_value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    value = names.get(text.lower()) if names else None
    if value is None:
        if not text.isdigit():
            raise ValueError(f"trường {field}: '{text}' không phải là số")
        value = int(text)
    if not low <= value <= high:
        raise ValueError(f"trường {field}: {value} nằm ngoài khoảng {low}–{high}")
    return value


def _cron_field(text: str, low: int, high: int, names: dict[str, int], field: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"trường {field}: bước '{step_text}' phải là số nguyên dương")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first = _cron_value(a, low, high, names, field)
            last = _cron_value(b, low, high, names, field)
            if first > last:
                raise ValueError(f"trường {field}: khoảng '{base}' bị ngược")
        elif base:
            first = _cron_value(base, low, high, names, field)
            last = high if step_text else first
        else:
            raise ValueError(f"trường {field}: thiếu giá trị trong '{text}'")
        values.update(range(first, last + 1, step))
    return values


def parse_cron(expression: str) -> Cron:
    """Parse a 5-field cron expression, raising ValueError with a Vietnamese message."""
    text = MACROS.get(expression.strip().lower(), expression.strip())
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(
            f"biểu thức cron '{expression}' cần đúng 5 trường (phút giờ ngày tháng thứ), "
            f"ví dụ '0 8 25 * *'"
        )
    try:
        fields = [
            _cron_field(part, low, high, names, field)
            for part, (field, low, high, names) in zip(parts, CRON_FIELDS, strict=True)
        ]
    except ValueError as error:
        raise ValueError(f"biểu thức cron '{expression}' không hợp lệ: {error}") from None
    weekdays = frozenset(d % 7 for d in fields[4])
    cron = Cron(
        expression,
        frozenset(fields[2]),
        frozenset(fields[3]),
        weekdays,
        not parts[2].startswith("*"),
        not parts[4].startswith("*"),
    )
    if cron.next_on_or_after(dt.date(2000, 1, 1)) is None:
        raise ValueError(f"biểu thức cron '{expression}' không bao giờ chạy (ví dụ ngày 31/2)")
    return cron


def _cron_period(cron: Cron, fire: dt.date) -> Period:
    previous = cron.previous_before(fire)
    start = previous + ONE_DAY if previous is not None else fire
    return Period(Cadence.cron, fire.isoformat(), start, fire, f"kỳ ngày {short_date(fire)}")


# --- one-off and event periods ---------------------------------------------------------------


def _once_period(schedule: Schedule) -> Period:
    on = schedule.on
    assert on is not None  # the Schedule model requires `on` for cadence once
    return Period(Cadence.once, on.isoformat(), on, on, f"đợt ngày {short_date(on)}")


def event_period(slug: str, on: dt.date) -> Period:
    """The period of an event-started cycle: the caller names it and gives the event's date."""
    if not re.match(ID_PATTERN, slug):
        raise ValueError(
            f"tên đợt '{slug}' không hợp lệ: chỉ dùng chữ thường không dấu, số và gạch nối"
        )
    return Period(Cadence.event, f"event-{slug}", on, on, f"đợt ngày {short_date(on)}")


# --- public API ------------------------------------------------------------------------------


def period_for_key(
    schedule: Schedule, window: Window, key: str, *, on: dt.date | None = None
) -> Period:
    """The period a key names; ValueError (Vietnamese) for a key this schedule cannot have.

    `on` is the event's date, needed only for event keys.
    """
    cadence = schedule.every
    if cadence in PERIODIC:
        match = KEY_PATTERNS[cadence].match(key)
        if match is None and cadence == Cadence.half_yearly_and_annual and key.endswith("-H2"):
            raise ValueError(
                f"mã kỳ '{key}' không hợp lệ: lịch 6 tháng và năm không có kỳ 6 tháng cuối năm, "
                f"kỳ thứ hai là cả năm: '{key[:-3]}'"
            )
        if match is None:
            raise ValueError(f"mã kỳ '{key}' không hợp lệ: cần dạng {PERIODIC[cadence]}")
        year = int(match.group(1))
        if not 1900 < year < 2200:
            raise ValueError(f"mã kỳ '{key}' không hợp lệ: năm {year} ngoài khoảng cho phép")
        if cadence == Cadence.half_yearly_and_annual:
            part = 1 if match.group(2) else 2
        else:
            part = int(match.group(2)) if match.lastindex == 2 else 1
        return _periodic(cadence, window, year, part)
    if cadence == Cadence.once:
        period = _once_period(schedule)
        if key != period.key:
            raise ValueError(
                f"mã kỳ '{key}' không hợp lệ: nghĩa vụ một lần chỉ có kỳ '{period.key}'"
            )
        return period
    if cadence == Cadence.cron:
        cron = parse_cron(schedule.cron or "")
        try:
            fire = dt.date.fromisoformat(key)
        except ValueError:
            raise ValueError(
                f"mã kỳ '{key}' không hợp lệ: cần ngày dạng YYYY-MM-DD, ví dụ 2026-03-10"
            ) from None
        if fire.isoformat() != key or not cron.fires_on(fire):
            raise ValueError(
                f"mã kỳ '{key}' không hợp lệ: lịch '{schedule.cron}' không chạy vào ngày này"
            )
        return _cron_period(cron, fire)
    match = EVENT_KEY.match(key)
    if match is None:
        raise ValueError(f"mã kỳ '{key}' không hợp lệ: cần dạng event-<tên>, ví dụ event-dot-1")
    if on is None:
        raise ValueError(f"kỳ '{key}' khởi động bởi sự kiện: cần ngày xảy ra sự kiện")
    return event_period(match.group(1), on)


def periods_between(
    schedule: Schedule, window: Window, start: dt.date, end: dt.date
) -> list[Period]:
    """Every period whose window ends in [start, end], oldest first (none for event cadences)."""
    cadence = schedule.every
    if end < start:
        return []
    if cadence in PERIODIC:
        # A window ends inside its nominal last month, so the years to scan are start..end's.
        return [
            period
            for year in range(start.year, end.year + 1)
            for period in _periods_of_year(cadence, window, year)
            if start <= period.end <= end
        ]
    if cadence == Cadence.once:
        period = _once_period(schedule)
        return [period] if start <= period.end <= end else []
    if cadence == Cadence.cron:
        cron = parse_cron(schedule.cron or "")
        fires: list[dt.date] = []
        day = start
        while day <= end:
            if cron.fires_on(day):
                fires.append(day)
            day += ONE_DAY
        periods = []
        for index, fire in enumerate(fires):
            # The previous fire date is known inside the range: no backward search needed.
            if index:
                periods.append(
                    Period(
                        Cadence.cron,
                        fire.isoformat(),
                        fires[index - 1] + ONE_DAY,
                        fire,
                        f"kỳ ngày {short_date(fire)}",
                    )
                )
            else:
                periods.append(_cron_period(cron, fire))
        return periods
    return []


def period_containing(schedule: Schedule, window: Window, day: dt.date) -> Period | None:
    """The period whose window holds `day` (None for events, or a one-off on another day).

    With "6 tháng và năm" a first-half day is in both cycles: the one ending first (the
    half-year) is the period it belongs to; the year then holds the second half's days.
    """
    cadence = schedule.every
    if cadence in PERIODIC:
        # With day S > 1 the window of a year's first period starts in December before it.
        for year in (day.year, day.year + 1):
            for period in _periods_of_year(cadence, window, year):
                if period.contains(day):
                    return period
        return None
    if cadence == Cadence.once:
        period = _once_period(schedule)
        return period if period.contains(day) else None
    if cadence == Cadence.cron:
        cron = parse_cron(schedule.cron or "")
        fire = cron.next_on_or_after(day)
        return _cron_period(cron, fire) if fire is not None else None
    return None

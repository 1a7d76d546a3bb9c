"""The dates of one cycle: when the request goes out, when it is due, each ladder rung, the close.

Every date is a Vietnamese civil date. Each computation also returns its steps in Vietnamese so
that `kehoach explain` can show an administrator exactly how a deadline was reached.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass

from engine.calendar import LegalCalendar
from engine.definitions.models import Cadence, DueRule, Obligation, Offset, Rung
from engine.periods import Period
from engine.vndates import long_date, short_date, weekday_name


class ScheduleError(ValueError):
    """A cycle whose dates cannot be computed (e.g. an event-started one without its event)."""


@dataclass(frozen=True)
class RungDate:
    rung: Rung
    on: dt.date


@dataclass(frozen=True)
class CycleDates:
    period: Period
    request_on: dt.date
    due_on: dt.date
    rungs: tuple[RungDate, ...]
    closes_on: dt.date
    due_steps: tuple[str, ...]


def describe_offset(offset: Offset) -> str:
    if offset.working_days is not None:
        return f"{abs(offset.working_days)} ngày làm việc"
    return f"{abs(offset.days or 0)} ngày"


def _shift(cal: LegalCalendar, day: dt.date, offset: Offset, sign: int = 1) -> dt.date:
    if offset.working_days is not None:
        return cal.add_working_days(day, sign * offset.working_days)
    return day + dt.timedelta(days=sign * (offset.days or 0))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def raw_due_date(
    rule: DueRule, period: Period, cal: LegalCalendar, event_on: dt.date | None
) -> tuple[dt.date, list[str]]:
    """The due date the rule names, before Art. 148 moves it off a day off."""
    if rule.rule == "day-of-month":
        year, month = _add_months(*period.last_month, rule.months_after(*period.last_month))
        last_day = pycalendar.monthrange(year, month)[1]
        day = min(rule.day or 1, last_day)
        if rule.in_month is not None:
            where = "năm sau" if rule.year == "next" else "cùng năm"
            basis = f"tháng {rule.in_month} {where} so với tháng cuối của kỳ {period.label}"
        else:
            basis = f"tháng cuối của kỳ {period.label}" + (
                f", cộng {rule.month} tháng" if rule.month else ""
            )
        steps = [f"Quy tắc: ngày {rule.day} của tháng {month}/{year} ({basis})."]
        if day != rule.day:
            steps.append(f"Tháng {month}/{year} chỉ có {last_day} ngày: lấy ngày {day}.")
        return dt.date(year, month, day), steps
    assert rule.offset is not None  # the model guarantees it for relative rules
    if rule.rule == "after-event":
        if event_on is None:
            raise ScheduleError("nghĩa vụ khởi động bởi sự kiện: cần ngày xảy ra sự kiện")
        anchor, what, sign = event_on, "ngày xảy ra sự kiện", 1
    elif rule.rule == "after-period-end":
        anchor, what, sign = period.end, "ngày cuối của kỳ số liệu", 1
    else:
        anchor, what, sign = period.end, "ngày cuối của kỳ số liệu", -1
    direction = "sau" if sign > 0 else "trước"
    day = _shift(cal, anchor, rule.offset, sign)
    steps = [f"Quy tắc: {describe_offset(rule.offset)} {direction} {what} ({long_date(anchor)})."]
    if rule.offset.working_days is not None:
        steps.append("Chỉ đếm ngày làm việc: bỏ qua thứ Bảy, Chủ nhật và ngày nghỉ lễ, Tết.")
    return day, steps


def _weekdays_after(day: dt.date, n: int) -> dt.date:
    """`day` moved by n Monday–Friday days, ignoring holidays (n < 0: earlier)."""
    step = dt.timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        day += step
        if day.weekday() < 5:
            remaining -= 1
    return day


def due_month(rule: DueRule, period: Period) -> tuple[int, int]:
    """The month a monthly cycle's due date belongs to: where the rule lands in an ordinary
    week without holidays, so a holiday block never pushes a cycle into the next month."""
    if rule.rule == "day-of-month":
        return _add_months(*period.last_month, rule.month)
    assert rule.offset is not None  # the model guarantees it for relative rules
    sign = -1 if rule.rule == "before-period-end" else 1
    if rule.offset.working_days is not None:
        day = _weekdays_after(period.end, sign * rule.offset.working_days)
    else:
        day = period.end + dt.timedelta(days=sign * (rule.offset.days or 0))
    return day.year, day.month


def _keep_in_month(
    cal: LegalCalendar, day: dt.date, month: tuple[int, int], since: dt.date
) -> tuple[dt.date, str | None]:
    """Move `day` back inside `month` (its last working day, or the first one when `day` fell
    before the month); the reason names the holidays between `since` and `day`."""
    first = dt.date(*month, 1)
    last = dt.date(*month, pycalendar.monthrange(*month)[1])
    if first <= day <= last:
        return day, None
    if day > last:
        target = last
        while target >= first and not cal.is_working_day(target):
            target -= dt.timedelta(days=1)
        span = (min(since, day), day)
        where = "ngày làm việc cuối cùng của tháng"
    else:
        target = first
        while target <= last and not cal.is_working_day(target):
            target += dt.timedelta(days=1)
        span = (day, max(since, target))
        where = "ngày làm việc đầu tiên của tháng"
    if not first <= target <= last:
        return day, None  # a month with no working day at all: nothing better to offer
    holidays = []  # (date, name without its parenthesised detail), weekends left out
    probe = span[0]
    while probe <= span[1]:
        reason = cal.day_off_reason(probe)
        if reason is not None and reason != weekday_name(probe):
            holidays.append((probe, reason.split(" (")[0]))
        probe += dt.timedelta(days=1)
    because = ""
    if holidays:
        names = list(dict.fromkeys(name for _day, name in holidays))
        first_off, last_off = holidays[0][0], holidays[-1][0]
        days = (
            short_date(first_off)
            if first_off == last_off
            else f"{short_date(first_off)}–{short_date(last_off)}"
        )
        because = f" vì ngày nghỉ {days} ({', '.join(names)})"
    return target, (
        f"Ngày {short_date(day)} nằm ngoài tháng {month[1]}/{month[0]} của kỳ{because}: "
        f"mỗi tháng đúng một kỳ, nên hạn chuyển về {where}, {weekday_name(target)}, "
        f"{long_date(target)}."
    )


def due_date(
    obligation: Obligation, period: Period, cal: LegalCalendar, event_on: dt.date | None = None
) -> tuple[dt.date, list[str]]:
    """The legal due date and the steps that produced it (Civil Code Art. 148 roll-forward;
    a monthly cycle's date then stays inside its month)."""
    raw, steps = raw_due_date(obligation.due, period, cal, event_on)
    steps.append(f"Ngày tính được: {weekday_name(raw)}, {long_date(raw)}.")
    final, moves = cal.roll_forward(raw)
    for move in moves:
        steps.append(
            f"{long_date(move.date)} là ngày nghỉ ({move.reason}): chuyển sang ngày "
            "làm việc tiếp theo (Điều 148 Bộ luật Dân sự 2015)."
        )
    if keeps_in_month(obligation):
        final, why = _keep_in_month(cal, final, due_month(obligation.due, period), period.end)
        if why:
            steps.append(why)
    steps.append(f"Hạn nộp: {weekday_name(final)}, {long_date(final)}.")
    return final, steps


def keeps_in_month(obligation: Obligation) -> bool:
    """Whether a cycle's due date is held inside its month (monthly cadences, by default)."""
    return obligation.schedule.every == Cadence.monthly and obligation.due.keep_in_month


def _legal_due(
    obligation: Obligation, period: Period, cal: LegalCalendar, event_on: dt.date | None
) -> dt.date:
    """due_date without the explanation: the tick asks this of every unopened period."""
    raw, _steps = raw_due_date(obligation.due, period, cal, event_on)
    day = cal.roll_forward(raw)[0]
    if keeps_in_month(obligation):
        day = _keep_in_month(cal, day, due_month(obligation.due, period), period.end)[0]
    return day


def _previous_working_day(cal: LegalCalendar, day: dt.date) -> dt.date:
    while not cal.is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def request_date(
    obligation: Obligation, period: Period, due_on: dt.date, cal: LegalCalendar
) -> dt.date:
    """When the request goes out; a request never lands on a day off."""
    rule = obligation.request
    if rule.before_due is not None:
        # Earlier rather than later: moving a request back gives the body more time, not less.
        return _previous_working_day(cal, _shift(cal, due_on, rule.before_due, -1))
    edge = period.start if rule.at == "period-start" else period.end
    return cal.roll_forward(edge)[0]


def closing_date(obligation: Obligation, due_on: dt.date, cal: LegalCalendar) -> dt.date:
    """The close: the due date plus the grace, on a working day."""
    return cal.roll_forward(_shift(cal, due_on, obligation.grace))[0]


def rung_date(rung: Rung, due_on: dt.date, cal: LegalCalendar) -> dt.date:
    """A ladder rung's date; mail goes out on working days only."""
    return cal.roll_forward(_shift(cal, due_on, rung.offset))[0]


def cycle_window(
    obligation: Obligation,
    period: Period,
    cal: LegalCalendar,
    event_on: dt.date | None = None,
) -> tuple[dt.date, dt.date, dt.date]:
    """(request_on, due_on, closes_on) as cycle_dates computes them, without the rung dates
    and the explanation: what the daily tick asks of every period it has not opened yet."""
    due_on = _legal_due(obligation, period, cal, event_on)
    closes_on = closing_date(obligation, due_on, cal)
    return request_date(obligation, period, due_on, cal), due_on, closes_on


def cycle_dates(
    obligation: Obligation,
    period: Period,
    cal: LegalCalendar,
    event_on: dt.date | None = None,
) -> CycleDates:
    due_on, steps = due_date(obligation, period, cal, event_on)
    closes_on = closing_date(obligation, due_on, cal)
    return CycleDates(
        period=period,
        request_on=request_date(obligation, period, due_on, cal),
        due_on=due_on,
        rungs=tuple(RungDate(r, rung_date(r, due_on, cal)) for r in obligation.ladder),
        closes_on=closes_on,
        due_steps=tuple(steps),
    )


@dataclass(frozen=True)
class LateStart:
    """A deadline set on opening because the rule's one had passed or left too little time."""

    due_on: dt.date
    rule_due_on: dt.date
    note: str


def late_start(
    obligation: Obligation,
    cal: LegalCalendar,
    request_on: dt.date,
    rule_due_on: dt.date,
    today: dt.date,
) -> LateStart | None:
    """For a cycle opened after its request date: the new deadline when the rule's one has
    passed or leaves fewer than `late_start.min_working_days` working days, else None."""
    if today <= request_on:
        return None
    needed = obligation.late_start.min_working_days
    left = cal.working_days_between(today, rule_due_on)
    if rule_due_on >= today and left >= needed:
        return None
    due_on = cal.add_working_days(today, needed)
    why = (
        f"đã qua ({short_date(rule_due_on)})"
        if rule_due_on < today
        else f"({short_date(rule_due_on)}) chỉ còn {left} ngày làm việc"
    )
    note = (
        f"Kỳ được mở muộn ngày {short_date(today)}, sau ngày gửi yêu cầu theo quy tắc "
        f"({short_date(request_on)}); hạn theo quy tắc {why}, nên hạn mới là {needed} ngày làm "
        f"việc kể từ ngày mở: {weekday_name(due_on)}, {long_date(due_on)}."
    )
    return LateStart(due_on, rule_due_on, note)

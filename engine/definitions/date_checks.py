"""Cross-checks that need the legal calendar: computed on real periods, not guessed from offsets.

Offsets mix working and calendar days and move past holidays, so an order that looks right on
paper can still collide on a real date; checking several years of actual cycles catches that.
"""

from __future__ import annotations

import datetime as dt

from engine.calendar import LegalCalendar
from engine.definitions.findings import Finding
from engine.definitions.models import Cadence, Definitions, Obligation, RungKind
from engine.periods import (
    Period,
    event_period,
    parse_cron,
    period_containing,
    period_for_key,
    periods_between,
)
from engine.plan import obligation_active
from engine.schedule import cycle_dates, cycle_window
from engine.vndates import short_date

YEARS_CHECKED = 4
# Calendar checks (one cycle a month, hand-off time, runs on every working day) look this many
# years past the last year anyone wrote a calendar for, and past this year.
YEARS_AHEAD = 5
MONTHS_LISTED = 4


def _sample_periods(obligation: Obligation, first_year: int) -> list[tuple[Period, dt.date | None]]:
    start, end = dt.date(first_year, 1, 1), dt.date(first_year + YEARS_CHECKED - 1, 12, 31)
    if obligation.schedule.every == Cadence.event:
        days = [dt.date(first_year, month, 1) + dt.timedelta(days=month) for month in range(1, 13)]
        return [(event_period(f"kiem-tra-{d.isoformat()}", d), d) for d in days]
    return [(p, None) for p in periods_between(obligation.schedule, obligation.window, start, end)]


def _static_rung_findings(obligation: Obligation) -> list[Finding]:
    findings = []
    for index, rung in enumerate(obligation.ladder):
        amount = (
            rung.offset.working_days if rung.offset.working_days is not None else rung.offset.days
        )
        wrong = (
            (rung.kind == RungKind.reminder and amount >= 0)
            or (rung.kind == RungKind.due_today and amount != 0)
            or (rung.kind in (RungKind.overdue, RungKind.escalation) and amount <= 0)
        )
        if wrong:
            findings.append(
                Finding(
                    "obligations",
                    obligation.id,
                    ("ladder", index, "offset"),
                    f"nấc '{rung.id}' loại '{rung.kind.value}' có khoảng cách "
                    f"{amount} không phù hợp (nhắc trước hạn: âm; đến hạn: 0; "
                    "quá hạn, đôn đốc: dương)",
                )
            )
    return findings


def check_obligation_dates(
    obligation: Obligation, cal: LegalCalendar, first_year: int
) -> list[Finding]:
    findings = _static_rung_findings(obligation)
    seen: set[tuple] = {f.keys for f in findings}

    def add(keys: tuple, message: str) -> None:
        if keys not in seen:
            seen.add(keys)
            findings.append(Finding("obligations", obligation.id, keys, message))

    for period, event_on in _sample_periods(obligation, first_year):
        dates = cycle_dates(obligation, period, cal, event_on)
        where = f"kỳ {period.key}"
        if dates.request_on >= dates.due_on:
            add(
                ("request",),
                f"{where}: yêu cầu gửi ngày {short_date(dates.request_on)}, không "
                f"trước hạn nộp {short_date(dates.due_on)}",
            )
        previous = None
        for index, rung in enumerate(dates.rungs):
            keys = ("ladder", index, "offset")
            if previous is not None and rung.on <= previous.on:
                add(
                    keys,
                    f"{where}: nấc '{rung.rung.id}' ({short_date(rung.on)}) không sau nấc "
                    f"'{previous.rung.id}' ({short_date(previous.on)}); các nấc phải theo thứ tự",
                )
            if rung.on <= dates.request_on:
                add(
                    keys,
                    f"{where}: nấc '{rung.rung.id}' ({short_date(rung.on)}) không sau ngày "
                    f"gửi yêu cầu ({short_date(dates.request_on)})",
                )
            if rung.on > dates.closes_on:
                add(
                    keys,
                    f"{where}: nấc '{rung.rung.id}' ({short_date(rung.on)}) sau ngày đóng "
                    f"kỳ ({short_date(dates.closes_on)}) nên không bao giờ được gửi",
                )
            previous = rung
    return findings


def check_dates(defs: Definitions) -> list[Finding]:
    cal = LegalCalendar(defs.calendars)
    plan_year = int(defs.plan.date[:4])
    last_year = max([plan_year, dt.date.today().year, *defs.calendars]) + YEARS_AHEAD
    findings: list[Finding] = []
    for obligation in defs.obligations.values():
        first_year = obligation.valid_from.year if obligation.valid_from else plan_year
        findings.extend(check_obligation_dates(obligation, cal, first_year))
        years = range(first_year, last_year + 1)
        if obligation.schedule.every == Cadence.monthly:
            findings.extend(check_one_per_month(obligation, cal, years))
        if obligation.downstream and not _in_loop(defs, obligation.id):
            findings.extend(check_handoff_time(defs, obligation, cal, years))
        if obligation.deployment is not None:
            findings.extend(check_run_days(obligation, cal, years))
    return findings


def _in_loop(defs: Definitions, start: str) -> bool:
    """Whether following `downstream` from `start` leads to a missing obligation or back to
    one already seen (reported by the cross-reference checks, not timed here)."""
    seen: set[str] = set()
    current: str | None = start
    while current is not None:
        if current in seen or current not in defs.obligations:
            return True
        seen.add(current)
        downstream = defs.obligations[current].downstream
        current = downstream.obligation if downstream else None
    return False


def _months(years: range) -> list[tuple[int, int]]:
    return [(year, month) for year in years for month in range(1, 13)]


def check_one_per_month(obligation: Obligation, cal: LegalCalendar, years: range) -> list[Finding]:
    """A monthly obligation has exactly one cycle due in every calendar month it is in force."""
    start, end = dt.date(years.start - 1, 12, 1), dt.date(years.stop, 1, 31)
    due_in: dict[tuple[int, int], list[str]] = {}
    active: set[tuple[int, int]] = set()
    for period in periods_between(obligation.schedule, obligation.window, start, end):
        request_on, due_on, _closes = cycle_window(obligation, period, cal)
        if obligation_active(obligation, request_on):
            due_in.setdefault((due_on.year, due_on.month), []).append(period.key)
            active.add((period.end.year, period.end.month))
    wrong = []
    for month in _months(years):
        # Only months the obligation covers: before valid_from or after valid_to nothing is owed.
        if month not in active:
            continue
        keys = due_in.get(month, [])
        if len(keys) != 1:
            what = "không có kỳ nào" if not keys else f"có {len(keys)} kỳ ({', '.join(keys)})"
            wrong.append(f"tháng {month[1]}/{month[0]} {what}")
    if not wrong:
        return []
    shown = "; ".join(wrong[:MONTHS_LISTED]) + (
        f" và {len(wrong) - MONTHS_LISTED} tháng khác" if len(wrong) > MONTHS_LISTED else ""
    )
    message = (
        f"nghĩa vụ hằng tháng phải có đúng một kỳ có hạn trong mỗi tháng: {shown} "
        "(giữ 'keep_in_month: true' hoặc sửa quy tắc hạn)"
    )
    return [Finding("obligations", obligation.id, ("due",), message)]


def _downstream_period(downstream: Obligation, upstream: Period) -> Period | None:
    """The downstream's period a hand-off of `upstream` feeds: the same key, else the period
    that holds the upstream's last day."""
    try:
        return period_for_key(downstream.schedule, downstream.window, upstream.key)
    except ValueError:
        return period_containing(downstream.schedule, downstream.window, upstream.end)


def handoff_date(obligation: Obligation, due_on: dt.date, closes_on: dt.date, cal) -> dt.date:
    """The first tick that hands a cycle off: the working day after its due date ('at-due')
    or after its close ('at-close')."""
    assert obligation.downstream is not None
    after = due_on if obligation.downstream.hand_off == "at-due" else closes_on
    return cal.roll_forward(after + dt.timedelta(days=1))[0]


def check_handoff_time(
    defs: Definitions, obligation: Obligation, cal: LegalCalendar, years: range
) -> list[Finding]:
    """Every hand-off leaves the downstream at least `min_working_days` before its deadline."""
    assert obligation.downstream is not None
    target = defs.obligations[obligation.downstream.obligation]
    minimum = obligation.downstream.min_working_days
    if minimum == 0 or target.schedule.every in (Cadence.event, Cadence.once):
        return []
    start, end = dt.date(years.start, 1, 1), dt.date(years.stop - 1, 12, 31)
    short = []
    for period in periods_between(obligation.schedule, obligation.window, start, end):
        request_on, due_on, closes_on = cycle_window(obligation, period, cal)
        fed = _downstream_period(target, period)
        if fed is None or not obligation_active(obligation, request_on):
            continue
        _r, target_due, _c = cycle_window(target, fed, cal)
        handed = handoff_date(obligation, due_on, closes_on, cal)
        left = cal.working_days_between(handed, target_due)
        if left < minimum:
            short.append((period, handed, target_due, left))
    if not short:
        return []
    period, handed, target_due, left = short[0]
    more = f" (và {len(short) - 1} kỳ khác)" if len(short) > 1 else ""
    message = (
        f"năm {period.end.year}, kỳ {period.key}: bàn giao cho '{target.id}' ngày "
        f"{short_date(handed)} chỉ còn {max(left, 0)} ngày làm việc đến hạn "
        f"{short_date(target_due)}, cần ít nhất {minimum} (min_working_days){more}; "
        "dùng 'hand_off: at-due' hoặc dời hạn"
    )
    return [Finding("obligations", obligation.id, ("downstream",), message)]


def check_run_days(obligation: Obligation, cal: LegalCalendar, years: range) -> list[Finding]:
    """A declared run schedule fires on every working day, make-up Saturdays included."""
    assert obligation.deployment is not None
    cron = parse_cron(obligation.deployment.cron)
    day, end = dt.date(years.start, 1, 1), dt.date(years.stop - 1, 12, 31)
    missed = []
    while day <= end:
        if cal.is_working_day(day) and not cron.fires_on(day):
            missed.append(day)
        day += dt.timedelta(days=1)
    if not missed:
        return []
    listed = ", ".join(
        ("thứ Bảy " if d.weekday() == 5 else "") + short_date(d) for d in missed[:MONTHS_LISTED]
    )
    more = "…" if len(missed) > MONTHS_LISTED else ""
    message = (
        f"lịch chạy '{obligation.deployment.cron}' bỏ sót {len(missed)} ngày làm việc "
        f"({listed}{more}): lượt chạy phải có mỗi ngày (ngày nghỉ tự kết thúc ngay), "
        "ví dụ '30 7 * * *'"
    )
    return [Finding("obligations", obligation.id, ("deployment", "cron"), message)]

"""Cross-checks that need the legal calendar: computed on real periods, not guessed from offsets.

Offsets mix working and calendar days and move past holidays, so an order that looks right on
paper can still collide on a real date; checking several years of actual cycles catches that.
"""

from __future__ import annotations

import datetime as dt

from engine.calendar import LegalCalendar
from engine.definitions.findings import Finding
from engine.definitions.models import Cadence, Definitions, Obligation, RungKind
from engine.periods import Period, event_period, periods_between
from engine.schedule import cycle_dates
from engine.vndates import short_date

YEARS_CHECKED = 4


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
    findings: list[Finding] = []
    for obligation in defs.obligations.values():
        first_year = obligation.valid_from.year if obligation.valid_from else plan_year
        findings.extend(check_obligation_dates(obligation, cal, first_year))
    return findings

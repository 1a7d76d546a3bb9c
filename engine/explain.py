"""`kehoach explain`: how one cycle's dates were computed, step by step, in Vietnamese."""

from __future__ import annotations

import datetime as dt

from engine.bodies import resolve_responsible
from engine.calendar import LegalCalendar
from engine.definitions.models import Definitions, Obligation
from engine.periods import period_for_key
from engine.schedule import cycle_dates, describe_offset
from engine.vndates import long_date, weekday_name


def explain_lines(
    defs: Definitions, obligation: Obligation, key: str, event_on: dt.date | None = None
) -> list[str]:
    cal = LegalCalendar(defs.calendars)
    period = period_for_key(obligation.schedule, obligation.window, key, on=event_on)
    dates = cycle_dates(obligation, period, cal, event_on)
    lines = [
        f"{obligation.title} — {period.label} (kỳ {period.key})",
        f"Trích dẫn: mục {', '.join(obligation.clauses)} của kế hoạch.",
        f"Kỳ số liệu: từ {long_date(period.start)} đến {long_date(period.end)} "
        f"(cửa sổ '{obligation.window.name}').",
        "",
        "Cách tính hạn nộp:",
    ]
    lines += [f"  {i}. {step}" for i, step in enumerate(dates.due_steps, 1)]
    lines += [
        "",
        f"Gửi yêu cầu: {weekday_name(dates.request_on)}, {long_date(dates.request_on)}.",
        "Thang nhắc và đôn đốc:",
    ]
    for rung in dates.rungs:
        amount = rung.rung.offset.working_days or rung.rung.offset.days or 0
        when = (
            "đúng ngày hạn"
            if amount == 0
            else (f"{describe_offset(rung.rung.offset)} {'trước' if amount < 0 else 'sau'} hạn")
        )
        lines.append(
            f"  - {rung.rung.id} ({rung.rung.kind.value}): {weekday_name(rung.on)}, "
            f"{long_date(rung.on)} — {when}."
        )
    if not dates.rungs:
        lines.append("  (không có)")
    lines.append(
        f"Đóng kỳ (hạn + gia hạn {describe_offset(obligation.grace)}): "
        f"{weekday_name(dates.closes_on)}, {long_date(dates.closes_on)}."
    )
    bodies = resolve_responsible(defs, obligation, dates.request_on)
    lines.append(
        f"Cơ quan thực hiện vào ngày gửi yêu cầu ({len(bodies)}): "
        + ", ".join(b.short_name for b in bodies)
    )
    return lines


def recorded_lines(
    opened_on: dt.date, due_on: dt.date, rule_due_on: dt.date | None, due_note: str | None
) -> list[str]:
    """What the ledger holds for an opened cycle, when its deadline differs from the rule's."""
    if rule_due_on is None:
        return []
    return [
        "",
        f"Sổ theo dõi: kỳ đã mở {long_date(opened_on)}; hạn đang áp dụng là "
        f"{weekday_name(due_on)}, {long_date(due_on)} "
        f"(hạn theo quy tắc: {long_date(rule_due_on)}).",
        f"Lý do: {due_note or 'kỳ mở muộn'}",
    ]

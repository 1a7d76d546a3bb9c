"""The per-cycle status table an operator reads in the Prefect UI (and `kehoach status`)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from engine.definitions.models import Obligation
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot
from engine.ledger.states import ASSIGNMENT_LABELS, AWAITING
from engine.schedule import rung_date
from engine.vndates import short_date
from tasks.steps import TickEnv

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
RUNG_NAMES = {
    "reminder": "Nhắc trước hạn",
    "due-today": "Nhắc đến hạn",
    "overdue": "Nhắc quá hạn",
    "escalation": "Đôn đốc, báo thủ trưởng",
}


def artifact_key(obligation_id: str, period_key: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{obligation_id}-{period_key}".lower()).strip("-")


def _next_action(
    env: TickEnv, obligation: Obligation, cycle: CycleView, a: AssignmentView, sent: set[str]
) -> tuple[str, str]:
    if not cycle.is_open:
        return "Kỳ đã đóng", short_date(cycle.closed_on or cycle.closes_on)
    if a.state not in AWAITING:
        return "Chờ xem xét" if a.state in ("submitted", "resubmitted") else "Không", ""
    for rung in obligation.ladder:
        on = rung_date(rung, a.due_on, env.cal)
        if rung.id not in sent and on > env.today:
            return RUNG_NAMES[rung.kind.value], short_date(on)
    return "Đóng kỳ", short_date(cycle.closes_on)


def cycle_table(
    env: TickEnv, obligation: Obligation, cycle: CycleView, snapshot: LedgerSnapshot
) -> list[dict[str, str | int]]:
    sent_by_body: dict[str, set[str]] = {}
    for m in snapshot.outbox:
        if m.cycle_id == cycle.id and m.rung:
            sent_by_body.setdefault(m.body_id, set()).add(m.rung)
    rows = []
    for a in cycle.assignments:
        sent = sent_by_body.get(a.body_id, set())
        state = ASSIGNMENT_LABELS.get(a.state, a.state)
        if a.is_overdue(env.today):
            state += " (quá hạn)"
        action, on = _next_action(env, obligation, cycle, a, sent)
        submitted = a.last_submitted_at.astimezone(VIETNAM) if a.last_submitted_at else None
        rows.append(
            {
                "Cơ quan": a.body_name,
                "Trạng thái": state,
                "Nộp lúc": submitted.strftime("%H:%M %d/%m/%Y") if submitted else "",
                "Số lần nhắc": len(sent),
                "Việc tiếp theo": action,
                "Ngày": on,
            }
        )
    return rows


def status_tables(env: TickEnv, obligation: Obligation) -> list[tuple[str, str, list[dict]]]:
    """(artifact key, Vietnamese title, rows) for every cycle still open or being handed off."""
    snapshot = env.snapshot(obligation.id)
    tables = []
    for cycle in snapshot.cycles:
        if not cycle.assignments:
            continue
        title = (
            f"{obligation.title} — kỳ {cycle.period_key}: hạn {short_date(cycle.due_on)}, "
            f"đóng kỳ {short_date(cycle.closes_on)} (tình hình ngày {short_date(env.today)})"
        )
        tables.append(
            (
                artifact_key(obligation.id, cycle.period_key),
                title,
                cycle_table(env, obligation, cycle, snapshot),
            )
        )
    return tables


def quiet_status(env: TickEnv, obligation: Obligation) -> str:
    """Markdown for a run that found no open cycle: when the next one opens."""
    from engine.definitions.models import Cadence
    from engine.periods import periods_between
    from engine.schedule import cycle_window

    lines = [
        f"**{obligation.title}**",
        "",
        f"Ngày {short_date(env.today)}: không có kỳ nào đang mở hoặc chờ bàn giao.",
    ]
    if obligation.schedule.every == Cadence.event:
        lines.append("Nghĩa vụ này chỉ mở kỳ khi có sự kiện bên ngoài.")
        return "\n".join(lines)
    upcoming = periods_between(
        obligation.schedule, obligation.window, env.today, env.today + dt.timedelta(days=800)
    )
    for period in upcoming:
        request_on, due_on, _closes_on = cycle_window(obligation, period, env.cal)
        if request_on > env.today:
            lines.append(
                f"Kỳ tiếp theo: {period.label} — gửi yêu cầu ngày "
                f"{short_date(request_on)}, hạn nộp {short_date(due_on)}."
            )
            break
    return "\n".join(lines)

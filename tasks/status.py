"""The per-cycle status an operator reads in the Prefect UI: totals per group and who still owes."""

from __future__ import annotations

import datetime as dt
import re

from engine.definitions.models import Obligation
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot
from engine.ledger.states import ASSIGNMENT_LABELS, AWAITING
from engine.names import alphabetical
from engine.schedule import rung_date
from engine.vndates import short_date
from tasks.oplog import period_label
from tasks.steps import TickEnv

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


# Bodies that still owe, listed by name in a cycle's artifact; the full list is one command away.
OWING_LISTED = 100


def _shown(env: TickEnv, obligation: Obligation, cycle: CycleView) -> bool:
    """Open cycles, a cycle closed today (its final state), and closed cycles whose hand-off
    to a downstream obligation is still to deliver; other closed cycles leave the snapshot."""
    if not cycle.assignments:
        return False
    if cycle.is_open or cycle.closed_on == env.today:
        return True
    return obligation.downstream is not None and cycle.handoff_pending


def _group_of(env: TickEnv, obligation: Obligation, body_id: str) -> str:
    body = env.defs.bodies.get(body_id)
    wanted = obligation.responsible.groups
    for group in body.groups if body else ():
        if group in wanted:
            return env.defs.groups[group].name if group in env.defs.groups else group
    return "Cơ quan khác"


def _cell(text: object) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def cycle_markdown(
    env: TickEnv, obligation: Obligation, cycle: CycleView, snapshot: LedgerSnapshot
) -> str:
    """A summary per group (how many owe, how many are late) and the bodies that still owe,
    at most OWING_LISTED of them: small at any number of bodies."""
    groups: dict[str, list[int]] = {}
    owing: list[AssignmentView] = []
    for a in cycle.assignments:
        counts = groups.setdefault(_group_of(env, obligation, a.body_id), [0, 0, 0, 0, 0])
        counts[0] += 1
        if a.state in AWAITING or a.state == "closed-missing":
            counts[1] += 1
            counts[2] += a.is_overdue(env.today) or a.state == "closed-missing"
            owing.append(a)
        elif a.state == "waived":
            counts[4] += 1
        else:
            counts[3] += 1
    lines = [
        f"**{obligation.title}** — {period_label(obligation, cycle.period_key)}: hạn nộp "
        f"{short_date(cycle.due_on)}, đóng kỳ {short_date(cycle.closes_on)}; tình hình ngày "
        f"{short_date(env.today)}.",
        "",
        "| Nhóm | Phải nộp | Đã nộp | Còn nợ | Trong đó quá hạn | Miễn nộp |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, (total, owe, late, done, waived) in sorted(groups.items()):
        lines.append(f"| {_cell(name)} | {total} | {done} | {owe} | {late} | {waived} |")
    totals = [sum(column) for column in zip(*groups.values(), strict=True)] or [0] * 5
    lines.append(
        f"| **Tổng** | {totals[0]} | {totals[3]} | {totals[1]} | {totals[2]} | {totals[4]} |"
    )
    command = f"`kehoach status --obligation {obligation.id} --period {cycle.period_key}`"
    if not owing:
        lines += ["", "Không còn cơ quan nào nợ báo cáo kỳ này."]
        return "\n".join(lines)
    sent_by_body: dict[str, set[str]] = {}
    for m in snapshot.outbox:
        if m.cycle_id == cycle.id and m.rung:
            sent_by_body.setdefault(m.body_id, set()).add(m.rung)
    owing.sort(key=lambda a: (not a.is_overdue(env.today), a.due_on, alphabetical(a.body_name)))
    lines += [
        "",
        f"Cơ quan còn nợ ({len(owing)}):",
        "",
        "| Cơ quan | Trạng thái | Số lần nhắc | Việc tiếp theo | Ngày |",
        "|---|---|---:|---|---|",
    ]
    for a in owing[:OWING_LISTED]:
        sent = sent_by_body.get(a.body_id, set())
        state = ASSIGNMENT_LABELS.get(a.state, a.state)
        if a.is_overdue(env.today):
            state += " (quá hạn)"
        action, on = _next_action(env, obligation, cycle, a, sent)
        lines.append(f"| {_cell(a.body_name)} | {state} | {len(sent)} | {action} | {on} |")
    if len(owing) > OWING_LISTED:
        lines += ["", f"… và {len(owing) - OWING_LISTED} cơ quan khác."]
    lines += ["", f"Danh sách đầy đủ từng cơ quan: {command}"]
    return "\n".join(lines)


def status_artifacts(env: TickEnv, obligation: Obligation) -> list[tuple[str, str, str]]:
    """(artifact key, Vietnamese title, markdown) for every cycle in the daily snapshot."""
    snapshot = env.snapshot(obligation.id)
    artifacts = []
    for cycle in snapshot.cycles:
        if not _shown(env, obligation, cycle):
            continue
        title = (
            f"{obligation.title} — {period_label(obligation, cycle.period_key)}: hạn "
            f"{short_date(cycle.due_on)} (tình hình ngày {short_date(env.today)})"
        )
        artifacts.append(
            (
                artifact_key(obligation.id, cycle.period_key),
                title,
                cycle_markdown(env, obligation, cycle, snapshot),
            )
        )
    return artifacts


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

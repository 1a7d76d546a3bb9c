"""Commands over the definitions alone: validate, plan, explain, schema (no Prefect, no ledger)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from cli.common import (
    DefinitionsOption,
    definitions_dir,
    fail,
    load_or_exit,
    load_result_or_exit,
    print_table,
)

ACTION_NAMES = {
    "open-cycle": "Mở kỳ",
    "request": "Gửi yêu cầu",
    "reminder": "Nhắc trước hạn",
    "due-today": "Nhắc đến hạn",
    "due": "Hạn nộp",
    "overdue": "Nhắc quá hạn",
    "escalation": "Đôn đốc (báo thủ trưởng)",
    "close": "Đóng kỳ",
}


class Format(StrEnum):
    table = "table"
    json = "json"


def validate(definitions: Path | None = DefinitionsOption) -> None:
    """Kiểm tra toàn bộ định nghĩa; in lỗi dạng tệp:dòng:cột."""
    from engine.bodies import placeholder_bodies
    from engine.calendar import today_in_vietnam
    from engine.definitions.coverage import coverage

    result = load_result_or_exit(definitions)
    defs = result.definitions
    assert defs is not None
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    cov = coverage(defs)
    today = today_in_vietnam()
    active = sum(body.exists_on(today) for body in defs.bodies.values())
    placeholders = len(placeholder_bodies(defs, today))
    warned = f"; {len(result.warnings)} cảnh báo (xem ở trên)" if result.warnings else ""
    print(
        f"Định nghĩa hợp lệ: {len(defs.bodies)} cơ quan, {len(defs.groups)} nhóm, "
        f"{len(defs.roles)} vai trò, {len(defs.obligations)} nghĩa vụ; "
        f"{cov.cited}/{cov.total} mục của kế hoạch được trích dẫn; "
        f"mục giao việc có nghĩa vụ: {cov.required_covered}/{cov.required_total} "
        f"({cov.required_span}){warned}."
    )
    print(
        f"Hộp thư mẫu (.example): {placeholders}/{active} cơ quan đang hoạt động chưa có hộp thư"
        " thật; nhập danh bạ bằng `kehoach bodies import`."
    )


def plan(
    start: dt.datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="Từ ngày."),
    end: dt.datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Đến ngày."),
    output: Format = typer.Option(Format.table, "--format", help="table hoặc json."),
    obligation: str | None = typer.Option(None, "--obligation", help="Chỉ một nghĩa vụ."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Lịch chạy thử: mọi việc có ngày, giả định không cơ quan nào trả lời."""
    from engine.plan import planned_actions

    if end < start:
        fail("--to phải không sớm hơn --from", 2)
    defs = load_or_exit(definitions)
    if obligation and obligation not in defs.obligations:
        fail(f"không có nghĩa vụ '{obligation}'", 2)
    actions = planned_actions(defs, start.date(), end.date(), obligation)
    if output == Format.json:
        print(json.dumps([a.as_json() for a in actions], ensure_ascii=False, indent=1))
        return
    rows = [
        [a.date.isoformat(), a.obligation, a.period, a.body or "", ACTION_NAMES[a.action]]
        for a in actions
    ]
    print_table(["Ngày", "Nghĩa vụ", "Kỳ", "Cơ quan", "Việc"], rows)
    print(f"\n{len(actions)} việc từ {start.date()} đến {end.date()}.")


def explain(
    obligation: str = typer.Argument(..., help="Mã nghĩa vụ, ví dụ annual-results-report."),
    period: str = typer.Argument(..., help="Kỳ: 2026, 2026-H1, 2026-Q1, 2026-03…"),
    event_date: dt.datetime | None = typer.Option(
        None,
        "--event-date",
        formats=["%Y-%m-%d"],
        help="Ngày xảy ra sự kiện (nghĩa vụ theo sự kiện).",
    ),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Giải thích từng bước cách tính hạn nộp của một kỳ."""
    from engine.explain import explain_lines

    defs = load_or_exit(definitions)
    if obligation not in defs.obligations:
        fail(f"không có nghĩa vụ '{obligation}'; xem `kehoach validate`", 2)
    try:
        lines = explain_lines(
            defs, defs.obligations[obligation], period, event_date.date() if event_date else None
        )
    except ValueError as error:
        fail(str(error), 2)
    print("\n".join(lines + _recorded(obligation, period)))


def _recorded(obligation: str, period: str) -> list[str]:
    """A late start recorded on the cycle in the ledger, if there is a ledger to read."""
    from engine.explain import recorded_lines
    from engine.ledger.cycles import get_cycle
    from engine.ledger.db import make_engine, session_factory
    from engine.settings import get_settings

    url = get_settings().ledger_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []  # no ledger yet: do not create an empty one just to look
    try:
        with session_factory(make_engine(url))() as session:
            cycle = get_cycle(session, obligation, period)
    except Exception:  # noqa: BLE001 - explain works from the definitions alone
        return []
    if cycle is None:
        return []
    return recorded_lines(cycle.opened_on, cycle.due_on, cycle.rule_due_on, cycle.due_note)


def schema(
    check: bool = typer.Option(False, "--check", help="Chỉ kiểm tra, báo lỗi nếu lược đồ đã cũ."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Ghi JSON Schema cho trình soạn thảo vào definitions/schema/."""
    from engine.definitions.schema import write_schemas

    target = definitions_dir(definitions) / "schema"
    stale = write_schemas(target, check_only=check)
    if check and stale:
        fail("lược đồ đã cũ, chạy `kehoach schema`: " + ", ".join(stale))
    if not check:
        print(f"Đã ghi lược đồ vào {target}.")


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(plan)
    app.command()(explain)
    app.command()(schema)

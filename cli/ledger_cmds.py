"""Commands over the ledger: db upgrade, status, submit, waive, outbox."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer
import yaml

from cli.common import DefinitionsOption, fail, load_or_exit, print_table
from cli.definitions_cmds import Format

db_app = typer.Typer(help="Sổ theo dõi (cơ sở dữ liệu).", no_args_is_help=True)


def _settings():
    from engine.settings import get_settings

    return get_settings()


def _sessions():
    from engine.ledger.db import make_engine, session_factory

    return session_factory(make_engine(_settings().ledger_url))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Tạo hoặc nâng cấp cấu trúc sổ theo dõi lên phiên bản mới nhất."""
    from engine.ledger.db import upgrade

    url = _settings().ledger_url
    try:
        upgrade(url)
    except Exception as error:  # noqa: BLE001 - a clear message beats a traceback here
        fail(f"không nâng cấp được sổ theo dõi ({url.split('@')[-1]}): {error}")
    print("Sổ theo dõi đã ở phiên bản mới nhất.")


def _today(value: dt.datetime | None) -> dt.date:
    from engine.calendar import today_in_vietnam

    return value.date() if value else today_in_vietnam()


AsOfOption = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="Ngày tính (mặc định: hôm nay)."
)


def _check_filters(obligation: str | None, period: str | None, definitions: Path | None) -> None:
    """Exit 1 with a Vietnamese message for an unknown obligation or a malformed period."""
    from engine.periods import period_for_key

    if obligation is None and period is None:
        return
    defs = load_or_exit(definitions)
    if obligation is not None and obligation not in defs.obligations:
        fail(f"không có nghĩa vụ '{obligation}' (xem thư mục definitions/obligations)")
    if period is None:
        return
    candidates = [defs.obligations[obligation]] if obligation else defs.obligations.values()
    problems = []
    for item in candidates:
        try:
            period_for_key(item.schedule, item.window, period, on=dt.date(2000, 1, 1))
            return
        except ValueError as error:
            problems.append(str(error))
    fail(problems[0] if obligation else f"mã kỳ '{period}' không hợp lệ với nghĩa vụ nào")


def _totals(rows: list) -> dict[str, dict[str, int]]:
    """Per cycle: submitted, late (owing past the due date), missing (owing or closed
    missing), waived."""
    from engine.ledger.states import AWAITING

    totals: dict[str, dict[str, int]] = {}
    for r in rows:
        line = totals.setdefault(
            f"{r.obligation_id} kỳ {r.period_key}",
            {"submitted": 0, "late": 0, "missing": 0, "waived": 0, "total": 0},
        )
        line["total"] += 1
        if r.state in AWAITING and r.overdue:
            line["late"] += 1
        elif r.state in AWAITING or r.state == "closed-missing":
            line["missing"] += 1
        elif r.state == "waived":
            line["waived"] += 1
        else:
            line["submitted"] += 1
    return totals


def status(
    obligation: str | None = typer.Option(None, "--obligation", help="Chỉ một nghĩa vụ."),
    period: str | None = typer.Option(None, "--period", help="Chỉ một kỳ, ví dụ 2026."),
    output: Format = typer.Option(Format.table, "--format", help="table hoặc json."),
    as_of: dt.datetime | None = AsOfOption,
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Tình hình từng phần việc: ai đã nộp, ai còn nợ, ai quá hạn; một dòng tổng mỗi kỳ."""
    from engine.ledger.letters import undelivered_bodies
    from engine.ledger.queries import status_rows
    from engine.ledger.states import ASSIGNMENT_LABELS

    _check_filters(obligation, period, definitions)
    today = _today(as_of)
    with _sessions()() as session:
        rows = status_rows(session, obligation, period, today=today)
        undelivered = undelivered_bodies(session)
        moved = _moved_deadlines(session, {(r.obligation_id, r.period_key) for r in rows})

    def missed(r) -> int:
        return undelivered.get((r.obligation_id, r.period_key, r.body_id), 0)

    if output == Format.json:
        print(
            json.dumps(
                [
                    {
                        "obligation": r.obligation_id,
                        "period": r.period_key,
                        "cycle_state": r.cycle_state,
                        "body": r.body_id,
                        "body_name": r.body_name,
                        "state": r.state,
                        "due_on": r.due_on.isoformat(),
                        "rule_due_on": moved[(r.obligation_id, r.period_key)][0].isoformat()
                        if (r.obligation_id, r.period_key) in moved
                        else None,
                        "overdue": r.overdue,
                        "undelivered_letters": missed(r),
                        "version": r.latest_version,
                        "submitted_at": r.last_submitted_at.isoformat()
                        if r.last_submitted_at
                        else None,
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    if not rows:
        print("Chưa có kỳ nào khớp điều kiện trong sổ theo dõi.")
        return
    print_table(
        ["Nghĩa vụ", "Kỳ", "Cơ quan", "Trạng thái", "Hạn", "Bản"],
        [
            [
                r.obligation_id,
                r.period_key,
                r.body_name,
                ASSIGNMENT_LABELS.get(r.state, r.state)
                + (" (quá hạn)" if r.overdue else "")
                + (f" · {missed(r)} thư không tới" if missed(r) else ""),
                r.due_on.isoformat(),
                str(r.latest_version or ""),
            ]
            for r in rows
        ],
    )
    print()
    for cycle, t in _totals(rows).items():
        print(
            f"Tổng {cycle}: {t['total']} cơ quan — đã nộp {t['submitted']}, quá hạn chưa nộp "
            f"{t['late']}, chưa nộp {t['missing']}, miễn nộp {t['waived']}."
        )
    for (obligation_id, period_key), (_rule_due, note) in sorted(moved.items()):
        print(f"Hạn mới của {obligation_id} · {period_key}: {note}")


def _moved_deadlines(session, cycles: set[tuple[str, str]]) -> dict:
    """(obligation, period) → (the rule's deadline, why it moved) for late-started cycles."""
    from sqlalchemy import select

    from engine.ledger.models import Cycle

    query = select(Cycle.obligation_id, Cycle.period_key, Cycle.rule_due_on, Cycle.due_note)
    found = session.execute(query.where(Cycle.rule_due_on.is_not(None))).all()
    return {(o, p): (rule, note or "") for o, p, rule, note in found if (o, p) in cycles}


def _desk(definitions: Path | None):
    from cli.portal_cmds import build_desk

    return build_desk(definitions)


def _read_data(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        fail(f"không đọc được tệp dữ liệu {path}: {error}", 2)
    if not isinstance(data, dict):
        fail(f"tệp dữ liệu {path} phải là một bảng 'trường: giá trị' (JSON hoặc YAML)", 2)
    return data


def submit(
    obligation: str = typer.Argument(..., help="Mã nghĩa vụ."),
    period: str = typer.Argument(..., help="Kỳ, ví dụ 2026."),
    body: str = typer.Argument(..., help="Mã cơ quan nộp."),
    data: Path = typer.Option(..., "--data", help="Tệp JSON/YAML các trường của biểu mẫu."),
    attach: list[Path] = typer.Option([], "--attach", help="Tệp đính kèm (có thể lặp lại)."),
    who: str = typer.Option("cán bộ vận hành", "--who", help="Người ghi nhận."),
    late: bool = typer.Option(False, "--allow-late", help="Nhận báo cáo sau khi kỳ đã đóng."),
    as_of: dt.datetime | None = AsOfOption,
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Ghi nhận báo cáo nhận qua giấy hoặc thư (kiểm tra theo biểu mẫu), gửi thư xác nhận."""
    from engine.forms import FormErrors
    from engine.ledger.errors import LedgerError
    from notifications.receipts import find_assignment
    from notifications.receipts import submit as record

    desk = _desk(definitions)
    values = _read_data(data)
    uploads = []
    for path in attach:
        try:
            uploads.append((path.name, path.read_bytes()))
        except OSError as error:
            fail(f"không đọc được tệp đính kèm {path}: {error.strerror}", 2)
    try:
        assignment = find_assignment(desk, obligation, period, body)
        recorded = record(
            desk,
            assignment,
            values,
            uploads,
            channel="operator",
            who=who,
            today=_today(as_of),
            now=dt.datetime.now(dt.UTC),
            allow_late=late,
        )
    except FormErrors as errors:
        for key, message in errors.errors.items():
            print(f"{key or 'biểu mẫu'}: {message}", file=sys.stderr)
        fail("báo cáo không hợp lệ, chưa ghi nhận gì")
    except LedgerError as error:
        fail(str(error))
    note = "" if recorded.created else " (trùng bản trước, không ghi thêm)"
    print(
        f"Đã ghi nhận bản {recorded.version} của {body} cho {obligation} kỳ {period}"
        f"{' (nộp muộn)' if recorded.late else ''}{note}."
    )
    if recorded.created:
        _deliver_receipt(desk)


def _deliver_receipt(desk) -> None:
    """Send the queued receipt now; if the relay is down it stays queued for the next tick."""
    from notifications.sender import Sender
    from tasks.steps import drain_outbox

    try:
        report = drain_outbox(desk.sessions, Sender(retries=1))
    except Exception as error:  # noqa: BLE001 - the answer is recorded; mail can wait
        print(
            f"Chưa gửi được thư xác nhận ({error}); thư sẽ được gửi ở lần chạy sau.",
            file=sys.stderr,
        )
        return
    if report.sent:
        print(f"Đã gửi {report.sent} thư.")
    else:
        print("Thư xác nhận đang chờ trong hộp thư đi, sẽ được gửi ở lần chạy sau.")


def waive(
    obligation: str = typer.Argument(...),
    period: str = typer.Argument(...),
    body: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Lý do miễn nộp."),
    who: str = typer.Option("cán bộ vận hành", "--who"),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Miễn nộp cho một cơ quan trong một kỳ (ghi rõ lý do)."""
    from engine.ledger.assignments import waive as ledger_waive
    from engine.ledger.errors import LedgerError
    from notifications.receipts import find_assignment

    desk = _desk(definitions)
    try:
        assignment = find_assignment(desk, obligation, period, body)
        with desk.sessions() as session:
            ledger_waive(session, assignment.assignment_id, reason, who=who)
    except LedgerError as error:
        fail(str(error))
    print(f"Đã miễn nộp cho {body} ({obligation} kỳ {period}): {reason}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    for command in (status, submit, waive):
        app.command()(command)

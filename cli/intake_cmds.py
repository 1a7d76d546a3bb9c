"""Commands over agencies' replies: read the intake mailbox, and the triage inbox."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer

from cli.common import DefinitionsOption, fail, print_table
from cli.definitions_cmds import Format

inbox_app = typer.Typer(
    help="Thư đến: danh sách, gán thư chờ phân loại cho một phần việc, bỏ qua thư.",
    invoke_without_command=True,
)
AsOfOption = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="Ngày tính (mặc định: hôm nay)."
)


def _today(value: dt.datetime | None) -> dt.date:
    from engine.calendar import today_in_vietnam

    return value.date() if value else today_in_vietnam()


def _desk(definitions: Path | None):
    from cli.portal_cmds import build_desk

    return build_desk(definitions)


def intake(
    as_of: dt.datetime | None = AsOfOption,
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Đọc hộp thư nhận báo cáo (IMAP hoặc Maildir cục bộ): ghi nhận thư trả lời, gửi xác nhận."""
    from engine.ledger.errors import LedgerError
    from engine.settings import get_settings
    from notifications.mailbox import MailboxUnavailable
    from tasks.intake_steps import open_mailbox, read_mailbox, rules_from

    settings = get_settings()
    desk = _desk(definitions)
    try:
        source = open_mailbox(settings)
    except MailboxUnavailable as error:
        fail(str(error))
    rules = rules_from(settings, desk.links.secret)
    try:
        report = read_mailbox(desk, source, rules, today=_today(as_of))
    except (MailboxUnavailable, LedgerError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"mất kết nối tới hộp thư: {error}")
    finally:
        source.close()
    print(report.summary())
    for outcome in report.outcomes:
        if outcome.state in {"triage", "bounce"} and not outcome.duplicate:
            print(f"- {outcome.message_id}: {outcome.reason}")
    if any(o.version for o in report.outcomes if not o.duplicate):
        _deliver(desk)


def _deliver(desk) -> None:
    from notifications.sender import Sender
    from tasks.steps import drain_outbox

    try:
        report = drain_outbox(desk.sessions, Sender(retries=1))
    except Exception as error:  # noqa: BLE001 - the answers are recorded; mail can wait
        print(f"Chưa gửi được thư xác nhận ({error}); sẽ gửi ở lần chạy sau.", file=sys.stderr)
        return
    print(f"Đã gửi {report.sent} thư xác nhận.")


def _sessions():
    from engine.ledger.db import make_engine, session_factory
    from engine.settings import get_settings

    return session_factory(make_engine(get_settings().ledger_url))


@inbox_app.callback()
def inbox(
    context: typer.Context,
    output: Format = typer.Option(Format.table, "--format", help="table hoặc json."),
    all_states: bool = typer.Option(False, "--all", help="Cả thư đã xử lý (mặc định: chờ xử lý)."),
) -> None:
    """Thư đến chờ phân loại (hoặc mọi thư với --all)."""
    if context.invoked_subcommand is not None:
        return
    from engine.ledger import inbox as ledger_inbox
    from engine.ledger.states import INBOX_LABELS

    with _sessions()() as session:
        entries = ledger_inbox.entries(session, None if all_states else ["triage"])
    if output == Format.json:
        items = [
            {
                "id": e.id,
                "message_id": e.message_id,
                "received_at": e.received_at.isoformat(),
                "from": e.from_addr,
                "subject": e.subject,
                "state": e.state,
                "reason": e.reason,
                "obligation": e.obligation_id,
                "period": e.period_key,
                "body": e.body_id,
                "missing_fields": e.missing_fields,
                "handled_by": e.handled_by,
            }
            for e in entries
        ]
        print(json.dumps(items, ensure_ascii=False, indent=1))
        return
    if not entries:
        print("Không có thư chờ phân loại." if not all_states else "Chưa có thư đến.")
        return
    print_table(
        ["Số", "Người gửi", "Tiêu đề", "Trạng thái", "Lý do"],
        [
            [
                str(e.id),
                e.from_addr,
                e.subject[:50],
                INBOX_LABELS.get(e.state, e.state),
                e.reason[:80],
            ]
            for e in entries
        ],
    )


@inbox_app.command("assign")
def assign(
    message: str = typer.Argument(..., help="Số thư (cột Số) hoặc Message-ID."),
    obligation: str = typer.Argument(..., help="Mã nghĩa vụ."),
    period: str = typer.Argument(..., help="Kỳ, ví dụ 2026-Q1."),
    body: str = typer.Argument(..., help="Mã cơ quan."),
    who: str = typer.Option(..., "--who", help="Người quyết định (ghi vào sổ)."),
    as_of: dt.datetime | None = AsOfOption,
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Ghi nhận một thư chờ phân loại là báo cáo của cơ quan trong kỳ; gửi thư xác nhận."""
    from engine.ledger.errors import LedgerError
    from notifications.intake import assign as assign_mail

    desk = _desk(definitions)
    try:
        outcome = assign_mail(
            desk,
            message,
            obligation,
            period,
            body,
            who=who,
            today=_today(as_of),
            now=dt.datetime.now(dt.UTC),
        )
    except LedgerError as error:
        fail(str(error))
    except OSError as error:
        fail(f"không đọc được nội dung thư đã lưu: {error.strerror}")
    missing = f" (thiếu: {'; '.join(outcome.missing)})" if outcome.missing else ""
    print(f"Đã ghi nhận thư là lần gửi thứ {outcome.version} của {body}{missing}.")
    _deliver(desk)


@inbox_app.command("dismiss")
def dismiss(
    message: str = typer.Argument(..., help="Số thư hoặc Message-ID."),
    reason: str = typer.Option(..., "--reason", help="Lý do bỏ qua."),
    who: str = typer.Option(..., "--who", help="Người quyết định."),
) -> None:
    """Bỏ qua một thư chờ phân loại (ghi lý do và người quyết định)."""
    from engine.ledger import inbox as ledger_inbox
    from engine.ledger.errors import LedgerError

    try:
        with _sessions()() as session:
            entry = ledger_inbox.get(session, message)
            ledger_inbox.dismiss(session, entry.id, reason, who, dt.datetime.now(dt.UTC))
    except LedgerError as error:
        fail(str(error))
    print(f"Đã bỏ qua thư số {entry.id}.")


def register(app: typer.Typer) -> None:
    app.command()(intake)
    app.add_typer(inbox_app, name="inbox")

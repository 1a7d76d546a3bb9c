"""`kehoach outbox` (every letter, its state and why it did not go) and `outbox retry`."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import typer

from cli.common import DefinitionsOption, fail, load_or_exit, print_table
from cli.definitions_cmds import Format

outbox_app = typer.Typer(
    help="Hộp thư đi: từng thư, trạng thái gửi, số lần thử, lý do chưa tới nơi.",
    invoke_without_command=True,
)

STATE_LABELS = {
    "pending": "chờ gửi",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "failed": "không gửi được",
}
# Our own wording of delivery problems (the relay's reply text follows as it came).
_REASONS = [
    (re.compile(r"^given up after (\d+) h of failed attempts: "), r"thôi gửi sau \1 giờ thử: "),
    (re.compile(r"^given up after (\d+) s of failed attempts: "), r"thôi gửi sau \1 giây thử: "),
    (re.compile(r"^given up after (\d+) attempts: "), r"thôi gửi sau \1 lần thử: "),
    (re.compile(r"^To refused: "), "địa chỉ nhận chính bị từ chối: "),
    (re.compile(r"\(only (.*) accepted it\)"), r"(chỉ \1 nhận được)"),
    (re.compile(r"all recipients refused: "), "mọi địa chỉ bị từ chối: "),
    (re.compile(r"recipients refused for now: "), "địa chỉ tạm thời bị từ chối: "),
    (re.compile(r"cannot connect to ([^:]+:\d+): "), r"không kết nối được máy chủ thư \1: "),
    (re.compile(r"document files missing: "), "thiếu tệp văn bản: "),
]


def reason_vi(error: str | None) -> str:
    """The stored reason in Vietnamese words (server replies are quoted as they came)."""
    text = (error or "").strip()
    for pattern, replacement in _REASONS:
        text = pattern.sub(replacement, text)
    return text


def _sessions():
    from engine.ledger.db import make_engine, session_factory
    from engine.settings import get_settings

    return session_factory(make_engine(get_settings().ledger_url))


def _local(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    from zoneinfo import ZoneInfo

    from engine.settings import get_settings

    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%d/%m %H:%M")


@outbox_app.callback()
def outbox(ctx: typer.Context, output: Format = typer.Option(Format.table, "--format")) -> None:
    """Hộp thư đi: từng thư, trạng thái gửi, số lần thử, lý do chưa tới nơi."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy import select

    from engine.ledger.models import OutboxMessage

    with _sessions()() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        items = [
            {
                "id": m.id,
                "key": m.key,
                "message_id": m.message_id,
                "kind": m.kind,
                "body": m.body_id,
                "state": m.state,
                "attempts": m.attempts,
                "to": list(m.to_addrs),
                "cc": list(m.cc_addrs),
                "subject": m.subject,
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
                "recipients": m.recipient_outcomes or {},
                "error": m.last_error,
                "reason": reason_vi(m.last_error) or None,
            }
            for m in rows
        ]
        next_at = {m.id: m.next_attempt_at for m in rows}
    if output == Format.json:
        print(json.dumps(items, ensure_ascii=False, indent=1))
        return
    print_table(
        ["#", "Loại", "Cơ quan", "Trạng thái", "Lần", "Gửi tới", "Lý do / lần thử tới"],
        [
            [
                str(i["id"]),
                i["kind"],
                i["body"],
                STATE_LABELS.get(i["state"], i["state"]),
                str(i["attempts"]),
                ", ".join(i["to"]),
                _why(i, next_at[i["id"]]),
            ]
            for i in items
        ],
    )


def _why(item: dict, next_at: dt.datetime | None) -> str:
    if item["state"] == "sent":
        return ""
    reason = (item["reason"] or "")[:90]
    if item["state"] == "pending" and next_at is not None:
        return f"thử lại lúc {_local(next_at)}: {reason}"
    return reason


@outbox_app.command("retry")
def retry(
    ids: list[int] = typer.Option([], "--id", help="Số thư (có thể lặp lại)."),
    body: str | None = typer.Option(None, "--body", help="Mọi thư chưa tới của một cơ quan."),
    failed: bool = typer.Option(False, "--failed", help="Mọi thư không gửi được."),
    send: bool = typer.Option(True, "--send/--no-send", help="Gửi ngay sau khi xếp lại."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Xếp lại thư chưa tới nơi để gửi lại (giữ Message-ID, lấy địa chỉ theo định nghĩa mới)."""
    from engine.calendar import today_in_vietnam
    from engine.ledger.errors import LedgerError
    from engine.ledger.letters import requeue
    from engine.readdress import current_addresses

    if not (ids or body or failed):
        fail("cần chọn thư: --id SỐ, --body MÃ_CƠ_QUAN hoặc --failed", 2)
    defs = load_or_exit(definitions)
    today = today_in_vietnam()
    sessions = _sessions()
    try:
        with sessions() as session:
            done = requeue(
                session,
                ids=ids,
                body_id=body,
                failed=failed,
                readdress=lambda letter: current_addresses(defs, letter, today),
            )
    except LedgerError as error:
        fail(str(error))
    if not done:
        print("Không có thư nào cần gửi lại.")
        return
    for item in done:
        note = f" (địa chỉ mới: {', '.join(item.to_addrs)})" if item.readdressed else ""
        print(f"Thư số {item.id} gửi {item.body_id} đã được xếp lại{note}.")
    if send:
        _send_now(sessions, len(done))


def _send_now(sessions, asked: int) -> None:
    from engine.ledger.meta import clear_relay_pause
    from tasks import runtime
    from tasks.steps import drain_outbox

    with sessions() as session:
        clear_relay_pause(session)  # the operator asks for a try now

    report = drain_outbox(sessions, runtime.sender(), policy=runtime.retry_policy())
    print(f"Đã gửi {report.sent} thư.")
    missed = report.failed
    if missed:
        fail(f"{missed} thư vẫn chưa tới nơi; xem `kehoach outbox` để biết lý do")


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")

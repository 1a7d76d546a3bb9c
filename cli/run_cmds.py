"""Commands that run things: tick (real Prefect flow runs), mail-sink."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer

from cli.common import DefinitionsOption, fail, load_or_exit


def tick(
    as_of: dt.datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Ngày chạy (mặc định: hôm nay)."
    ),
    obligation: str | None = typer.Option(None, "--obligation", help="Chỉ một nghĩa vụ."),
    force_date: bool = typer.Option(
        False,
        "--force-date",
        help="Vẫn chạy khi ngày chạy sớm hơn ngày đã chạy gần nhất (mặc định: từ chối).",
    ),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Chạy luồng thu thập (collect) cho từng nghĩa vụ đang hiệu lực, như các lượt chạy Prefect."""
    from engine.calendar import today_in_vietnam
    from engine.plan import obligation_active

    # Called as a plain function (the simulator's agreement test does), the option's default
    # is typer's OptionInfo, not False.
    force_date = force_date is True
    defs = load_or_exit(definitions)
    if obligation and obligation not in defs.obligations:
        fail(f"không có nghĩa vụ '{obligation}'", 2)
    day = as_of.date() if as_of else today_in_vietnam()
    chosen = [
        o
        for o in defs.obligations.values()
        if (obligation is None or o.id == obligation) and obligation_active(o, day)
    ]
    from prefect import tags

    from cli.errors import quiet_console_tracebacks

    quiet_console_tracebacks()
    from flows.collect import collect
    from flows.deployments import run_tags
    from flows.zombies import crash_dead_runs

    for run in crash_dead_runs():
        print(f"Lượt chạy {run.name} bị bỏ dở (tiến trình đã dừng): đánh dấu gặp sự cố.")
    failed_before = _delivery().failed
    failed, refused = [], []
    for item in chosen:
        with tags(*run_tags(defs, item)):
            state = collect(obligation=item.id, as_of=day, force_date=force_date, return_state=True)
        if not state.is_completed():
            failed.append(item.id)
            print(f"{item.id}: lượt chạy {state.name}: {state.message or ''}", file=sys.stderr)
            continue
        result = state.result()
        stopped = result.get("stopped")
        if result.get("back_in_time"):
            refused.append(item.id)
            print(f"Cảnh báo: {stopped}", file=sys.stderr)
        elif stopped:
            print(f"{item.id}: {stopped}")
        else:
            print(
                f"{item.id}: mở {len(result['opened'])} kỳ, xếp {result['enqueued']} thư, "
                f"đã gửi {result['sent']}, đóng {len(result['closed'])} kỳ."
            )
    undelivered = _undelivered_line(failed_before)
    if failed:
        fail(
            f"{len(failed)} lượt chạy không thành công: {', '.join(failed)}"
            + (f"; {undelivered}" if undelivered else "")
        )
    if undelivered:
        fail(undelivered)
    if refused:
        fail(f"{len(refused)} nghĩa vụ không chạy vì ngày chạy lùi về trước: {', '.join(refused)}")


def _delivery():
    from engine.ledger.letters import delivery_summary
    from tasks import runtime

    with runtime.sessions()() as session:
        return delivery_summary(session)


def _undelivered_line(failed_before: int) -> str | None:
    """One Vietnamese line on letters that did not get through: given up by this tick, or
    still waiting for their next attempt; None when there are none."""
    from zoneinfo import ZoneInfo

    from cli.outbox_cmds import reason_vi
    from tasks import runtime

    summary = _delivery()
    failed_now = max(summary.failed - failed_before, 0)
    if not (failed_now or summary.deferred):
        return None
    parts = []
    if failed_now:
        parts.append(f"{failed_now} thư không gửi được")
    if summary.deferred:
        when = summary.next_attempt_at.astimezone(ZoneInfo(runtime.settings().timezone))
        parts.append(f"{summary.deferred} thư chờ gửi lại (lần tới lúc {when:%H:%M %d/%m})")
    reason = reason_vi(summary.last_error)[:120]
    return (
        f"{', '.join(parts)}"
        + (f"; lý do gần nhất: {reason}" if reason else "")
        + ". Xem `kehoach outbox`."
    )


def mail_sink(
    port: int = typer.Option(1025, "--port", help="Cổng SMTP."),
    http_port: int = typer.Option(8025, "--http-port", help="Cổng trang xem thư."),
    mail_dir: Path | None = typer.Option(None, "--dir", help="Thư mục lưu thư (.eml)."),
) -> None:
    """Máy chủ thư thử nghiệm: nhận mọi thư trên 127.0.0.1 và lưu thành tệp .eml."""
    import logging

    from engine.settings import get_settings
    from notifications.mailsink import run_sink

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # aiosmtpd narrates every connection at INFO ("mail.log"); our handler logs each message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    target = mail_dir or get_settings().var_dir / "mail"
    print(
        f"Hộp thư thử nghiệm: SMTP 127.0.0.1:{port}, trang xem thư http://127.0.0.1:{http_port}/, "
        f"lưu tại {target}. Nhấn Ctrl-C để dừng."
    )
    try:
        run_sink(port=port, mail_dir=target, http_port=http_port)
    except OSError as error:
        fail(f"không mở được cổng: {error.strerror}")


def register(app: typer.Typer) -> None:
    app.command()(tick)
    app.command("mail-sink")(mail_sink)

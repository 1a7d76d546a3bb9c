"""Commands that run things: tick (real Prefect flow runs), mail-sink."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import typer

from cli.common import DefinitionsOption, fail, load_or_exit


def tick(
    as_of: dt.datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Ngày chạy (mặc định: hôm nay)."
    ),
    obligation: str | None = typer.Option(None, "--obligation", help="Chỉ một nghĩa vụ."),
    temporary_server: bool = typer.Option(
        False,
        "--temporary-server",
        help="Cho phép chạy trên máy chủ Prefect tạm thời khi không có `kehoach up` đang chạy "
        "và chưa đặt PREFECT_API_URL (giao diện Prefect sẽ không thấy các lượt chạy).",
    ),
    workers: int = typer.Option(
        4, "--workers", min=1, max=16, help="Số lượt chạy cùng lúc (mỗi nghĩa vụ một lượt)."
    ),
    force_date: bool = typer.Option(
        False,
        "--force-date",
        help="Vẫn chạy khi ngày chạy sớm hơn ngày đã chạy gần nhất (mặc định: từ chối).",
    ),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Chạy luồng thu thập (collect) cho từng nghĩa vụ đang hiệu lực, như các lượt chạy Prefect
    trên máy chủ của `kehoach up` đang chạy (hoặc PREFECT_API_URL)."""
    from cli.stack import api
    from engine.calendar import today_in_vietnam
    from engine.plan import obligation_active
    from engine.settings import get_settings

    # Called as a plain function (the simulator's agreement test does), the option's default
    # is typer's OptionInfo, not False.
    force_date = force_date is True
    temporary_server = temporary_server is True
    workers = workers if isinstance(workers, int) else 4
    defs = load_or_exit(definitions)
    from cli.common import definitions_dir
    from tasks import runtime

    runtime.share_definitions(definitions_dir(definitions), defs)
    if obligation and obligation not in defs.obligations:
        fail(f"không có nghĩa vụ '{obligation}'", 2)
    day = as_of.date() if as_of else today_in_vietnam()
    chosen = [
        o
        for o in defs.obligations.values()
        if (obligation is None or o.id == obligation) and obligation_active(o, day)
    ]
    server = api.resolve(get_settings().var_dir.resolve())
    if server.url is None and not temporary_server:
        fail(
            "không thấy máy chủ Prefect: chưa có `kehoach up` nào đang chạy với thư mục "
            f"{get_settings().var_dir} và chưa đặt PREFECT_API_URL. Chạy `make run` (hoặc "
            "`kehoach up`) rồi chạy lại lệnh này; hoặc thêm --temporary-server nếu chấp nhận "
            "chạy trên máy chủ tạm thời mà giao diện Prefect không thấy (sổ theo dõi và thư "
            "vẫn là thật)."
        )
    if server.url is None:
        print(
            "Cảnh báo: chạy trên máy chủ Prefect tạm thời; các lượt chạy sẽ không hiện trong "
            "giao diện Prefect, nhưng sổ theo dõi và thư gửi đi vẫn là thật.",
            file=sys.stderr,
        )
    api.use(server)
    print(f"Chạy {len(chosen)} nghĩa vụ ngày {day.isoformat()} trên {server.describe()}.")
    from cli.errors import quiet_console_tracebacks
    from flows.ticking import run_ticks
    from flows.zombies import crash_dead_runs

    quiet_console_tracebacks()

    for run in crash_dead_runs():
        print(f"Lượt chạy {run.name} bị bỏ dở (tiến trình đã dừng): đánh dấu gặp sự cố.")
    failed_before = _delivery().failed
    failed, refused = [], []
    for run in run_ticks(defs, chosen, day, workers=workers, force_date=force_date):
        if not run.completed:
            failed.append(run.obligation)
            print(f"{run.obligation}: lượt chạy {run.state}: {run.message}", file=sys.stderr)
            continue
        result = run.result
        stopped = result.get("stopped")
        if result.get("back_in_time"):
            refused.append(run.obligation)
            print(f"Cảnh báo: {stopped}", file=sys.stderr)
        elif stopped:
            print(f"{run.obligation}: {stopped}")
        else:
            print(
                f"{run.obligation}: mở {len(result['opened'])} kỳ, xếp {result['enqueued']} thư, "
                f"đã gửi {result['sent']}, đóng {len(result['closed'])} kỳ."
            )
    digest = _digest(day)
    if digest is not None and not digest.completed:
        failed.append(digest.obligation)
        print(f"{digest.obligation}: lượt chạy {digest.state}: {digest.message}", file=sys.stderr)
    elif digest is not None:
        print(
            f"Tổng hợp tuần {digest.result['week']}: xếp {digest.result['queued']} thư, "
            f"đã gửi {digest.result['sent']}."
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


def _digest(day: dt.date):
    """The weekly digest's run when `day` is the week's first working day, after the tick's
    obligations' runs (so it lists what they opened this morning); else None. Queued once a
    week: the first tick of that day that gets here decides (run the whole day's tick)."""
    from flows.digest import week_of
    from flows.ticking import run_digest

    return run_digest(day) if week_of(day) is not None else None


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
    settings = get_settings()
    target = mail_dir or settings.var_dir / "mail"
    # Replies to the intake mailbox land in a local Maildir when no IMAP mailbox is configured.
    intake = None
    if settings.reply_to and not os.environ.get("KEHOACH_IMAP_HOST"):
        intake = (settings.reply_to, settings.intake_maildir)
    print(
        f"Hộp thư thử nghiệm: SMTP 127.0.0.1:{port}, trang xem thư http://127.0.0.1:{http_port}/, "
        f"lưu tại {target}. Nhấn Ctrl-C để dừng."
    )
    try:
        run_sink(port=port, mail_dir=target, http_port=http_port, intake=intake)
    except OSError as error:
        fail(f"không mở được cổng: {error.strerror}")


def register(app: typer.Typer) -> None:
    app.command()(tick)
    app.command("mail-sink")(mail_sink)

"""One place where infrastructure failures become one Vietnamese line and a non-zero exit.

Prefect unreachable, the ledger unreachable or read-only, a full disk: the operator reads what
is wrong and what to check; the traceback goes to var/log/kehoach-cli.log, and to the terminal
only with `kehoach --debug …` (or KEHOACH_DEBUG=1).
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import sys
import traceback
from collections.abc import Iterator

import click
import typer
from typer.core import TyperGroup

DEBUG_ENV = "KEHOACH_DEBUG"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and the members of exception groups."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend([current.__cause__, current.__context__])
        stack.extend(getattr(current, "exceptions", ()) or ())


def _ledger_place() -> str:
    from engine.settings import get_settings

    url = get_settings().ledger_url
    return url.split("@")[-1] if "@" in url else url.removeprefix("sqlite:///")


def _prefect_place() -> str:
    try:
        from prefect.settings import PREFECT_API_URL

        return PREFECT_API_URL.value() or "máy chủ Prefect tạm thời"
    except Exception:  # noqa: BLE001 - only for the message
        return "máy chủ Prefect"


def infrastructure_message(error: BaseException) -> str | None:
    """What is wrong and what to check, in Vietnamese; None when it is not infrastructure."""
    for item in _chain(error):
        text = str(item).lower()
        name = type(item).__name__
        if isinstance(item, OSError) and item.errno == errno.ENOSPC or "disk is full" in text:
            return (
                "ổ đĩa đã đầy, không ghi được dữ liệu: giải phóng dung lượng ổ chứa "
                f"{_ledger_place()} (và thư mục var/) rồi chạy lại"
            )
        if "readonly database" in text or "read-only" in text or name == "ReadOnlySqlTransaction":
            return (
                f"sổ theo dõi {_ledger_place()} đang ở chế độ chỉ đọc: kiểm tra quyền ghi tệp "
                "và thư mục của nó, hoặc máy chủ PostgreSQL (bản sao chỉ đọc?)"
            )
    for item in _chain(error):
        text = str(item).lower()
        module = type(item).__module__
        if "failed to reach api" in text or (
            module.startswith(("httpx", "httpcore")) and "connect" in type(item).__name__.lower()
        ):
            return (
                f"không kết nối được máy chủ Prefect ({_prefect_place()}): kiểm tra máy chủ "
                "đang chạy (`kehoach up`) và biến PREFECT_API_URL"
            )
        if module.startswith(("sqlalchemy", "psycopg", "sqlite3")) and (
            "operationalerror" in type(item).__name__.lower()
            or "connection" in text
            or "unable to open database" in text
        ):
            return (
                f"không kết nối được sổ theo dõi ({_ledger_place()}): kiểm tra PostgreSQL đang "
                "chạy, biến KEHOACH_DATABASE_URL và quyền truy cập tệp"
            )
    return None


def _log(error: BaseException) -> str | None:
    """Append the traceback to var/log/kehoach-cli.log; returns its path (None if unwritable)."""
    return _log_text("".join(traceback.format_exception(error)))


def _log_text(text: str) -> str | None:
    try:
        from engine.settings import get_settings

        path = get_settings().var_dir / "log" / "kehoach-cli.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} {' '.join(sys.argv)}\n")
            handle.write(text if text.endswith("\n") else text + "\n")
        return str(path)
    except Exception:  # noqa: BLE001 - the disk may be the very problem
        return None


class _TracebacksToLogFile(logging.Filter):
    """On the console, a log record keeps its message; its traceback goes to the log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not debugging():
            formatted = "".join(traceback.format_exception(*record.exc_info))
            _log_text(f"{record.name}: {record.getMessage()}\n{formatted}")
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_console_tracebacks() -> None:
    """Keep tracebacks logged by Prefect's engine (a run that failed, a lost server) off the
    terminal, unless --debug: the CLI ends with one line saying what is wrong."""
    names = ["", "prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.server"]
    for name in names:
        for handler in logging.getLogger(name or None).handlers:
            if isinstance(handler, logging.StreamHandler) and not any(
                isinstance(f, _TracebacksToLogFile) for f in handler.filters
            ):
                handler.addFilter(_TracebacksToLogFile())


# Set by `kehoach --debug` for this invocation (cli.main's root callback).
debug_flag = False


def debugging() -> bool:
    return debug_flag or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0", "false")


class GuardedGroup(TyperGroup):
    """The root command group: infrastructure errors end as one line and exit code 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, typer.Exit):
            raise
        except Exception as error:
            message = infrastructure_message(error)
            if message is None:
                raise
            where = _log(error)
            if debugging():
                traceback.print_exception(error, file=sys.stderr)
            suffix = f" (chi tiết: {where})" if where else ""
            print(f"Lỗi: {message}{suffix}", file=sys.stderr)
            raise typer.Exit(1) from None

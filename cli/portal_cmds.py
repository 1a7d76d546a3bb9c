"""Commands for the portal area: run the portal, review answers, hash the operator password."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from cli.common import DefinitionsOption, fail, load_or_exit

review_app = typer.Typer(
    help="Xem xét báo cáo đã nhận: chấp nhận, hoặc trả lại để chỉnh sửa.", no_args_is_help=True
)


def build_desk(definitions: Path | None = None):
    """The Desk from the environment (KEHOACH_*), exiting with a clear message when it cannot."""
    from pydantic import ValidationError

    from tasks import runtime

    defs = load_or_exit(definitions)
    try:
        return runtime.desk(defs)
    except (ValidationError, ValueError, OSError) as error:
        fail(f"cấu hình không hợp lệ: {error}")


def deliver() -> object:
    """Drain the outbox with the process's ledger and SMTP settings."""
    from tasks import runtime
    from tasks.steps import drain_outbox

    return drain_outbox(runtime.sessions(), runtime.sender(), policy=runtime.retry_policy())


def build_app(definitions: Path | None = None):
    """The portal app wired from the environment; also a uvicorn factory (`--factory`)."""
    from portal.app import PortalConfig, create_app
    from portal.limits import RateLimits
    from portal.settings import PortalSettings
    from tasks import runtime

    desk = build_desk(definitions)
    try:
        settings = PortalSettings()
        credential = settings.operator_credential()
    except ValueError as error:
        fail(f"cấu hình tài khoản vận hành không hợp lệ: {error}")
    try:
        limits = RateLimits.from_env()
    except ValueError as error:
        fail(f"cấu hình giới hạn của cổng tiếp nhận không hợp lệ: {error}")
    config = PortalConfig(
        desk=desk,
        secret=runtime.links().secret,
        operator=credential,
        deliver=deliver,
        base_path=settings.portal_base_path,
        limits=limits,
    )
    return create_app(config)


def portal(
    host: str = typer.Option("127.0.0.1", "--host", help="Địa chỉ lắng nghe."),
    port: int = typer.Option(8080, "--port", help="Cổng."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Chạy cổng tiếp nhận báo cáo (biểu mẫu cho các cơ quan, trang vận hành)."""
    import logging

    import uvicorn

    from engine.settings import get_settings
    from portal.security import RedactLinks

    _check_port(host, port)
    app = build_app(definitions)
    _check_ledger()
    print(
        f"Cổng tiếp nhận: http://{host}:{port}/ (đường liên kết trong thư: "
        f"{get_settings().portal_url}/s/…). Nhấn Ctrl-C để dừng."
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=True)
    # The access log would otherwise keep every agency's personal link in clear.
    logging.getLogger("uvicorn.access").addFilter(RedactLinks())
    uvicorn.Server(config).run()


def _check_port(host: str, port: int) -> None:
    """Say in Vietnamese when the address is taken (uvicorn would only log it in English)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        fail(f"không mở được {host}:{port}: {error.strerror}", 1)


def _check_ledger() -> None:
    """Refuse to start on a ledger that is missing or not migrated, rather than fail per page."""
    from sqlalchemy import select

    from engine.ledger.models import Cycle
    from tasks import runtime

    with ledger_errors(), runtime.sessions()() as session:
        session.execute(select(Cycle.id).limit(1)).all()


def portal_password(
    user: str = typer.Option("vanhanh", "--user", help="Tên đăng nhập của cán bộ vận hành."),
) -> None:
    """In mã băm mật khẩu vận hành để đặt vào KEHOACH_OPERATOR_PASSWORD_HASH."""
    from portal.security import hash_password

    password = typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        fail("mật khẩu cần ít nhất 12 ký tự", 2)
    print(f"KEHOACH_OPERATOR_USER={user}")
    print(f"KEHOACH_OPERATOR_PASSWORD_HASH='{hash_password(password)}'")


AsOfOption = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="Ngày tính (mặc định: hôm nay)."
)
WhoOption = typer.Option("cán bộ vận hành", "--who", help="Người xem xét.")


@contextlib.contextmanager
def ledger_errors() -> Iterator[None]:
    """A refused review or an unreachable ledger becomes one Vietnamese line and exit code 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine.ledger.errors import LedgerError

    try:
        yield
    except LedgerError as error:
        fail(str(error))
    except SQLAlchemyError as error:
        fail(
            "không đọc hoặc ghi được sổ theo dõi (đã chạy `kehoach db upgrade` chưa?): "
            f"{type(error.orig or error).__name__}"
        )


@review_app.command("accept")
def review_accept(
    obligation: str = typer.Argument(..., help="Mã nghĩa vụ."),
    period: str = typer.Argument(..., help="Kỳ, ví dụ 2026."),
    body: str = typer.Argument(..., help="Mã cơ quan."),
    who: str = WhoOption,
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Chấp nhận lần gửi mới nhất của một cơ quan."""
    from notifications.receipts import find_assignment
    from notifications.revisions import accept_submission

    desk = build_desk(definitions)
    with ledger_errors():
        assignment = find_assignment(desk, obligation, period, body)
        accept_submission(desk, assignment, who=who, now=dt.datetime.now(dt.UTC))
    print(f"Đã chấp nhận bản {assignment.latest_version} của {body} cho {obligation} kỳ {period}.")


@review_app.command("return")
def review_return(
    obligation: str = typer.Argument(..., help="Mã nghĩa vụ."),
    period: str = typer.Argument(..., help="Kỳ, ví dụ 2026."),
    body: str = typer.Argument(..., help="Mã cơ quan."),
    comment: str = typer.Option(..., "--comment", help="Ý kiến đề nghị chỉnh sửa, bổ sung."),
    who: str = WhoOption,
    as_of: dt.datetime | None = AsOfOption,
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Trả lại lần gửi mới nhất để chỉnh sửa; gửi thư kèm ý kiến và đường liên kết."""
    from engine.calendar import today_in_vietnam
    from notifications.receipts import find_assignment
    from notifications.revisions import return_submission

    desk = build_desk(definitions)
    today = as_of.date() if as_of else today_in_vietnam()
    with ledger_errors():
        assignment = find_assignment(desk, obligation, period, body)
        review = return_submission(
            desk, assignment, comment, who=who, today=today, now=dt.datetime.now(dt.UTC)
        )
    print(f"Đã trả lại bản {review.version} của {body} cho {obligation} kỳ {period}.")
    if not review.queued:
        print("Thư đề nghị chỉnh sửa cho bản này đã được xếp gửi trước đó.")
    try:
        report = deliver()
    except Exception as error:  # noqa: BLE001 - the message stays queued for the next tick
        print(f"Chưa gửi được thư ngay ({error}); thư chờ trong hộp thư đi.", file=sys.stderr)
        return
    print(f"Hộp thư đi: đã gửi {report.sent} thư, lỗi {report.failed}.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `kehoach` app."""
    app.command()(portal)
    app.command("portal-password")(portal_password)
    app.add_typer(review_app, name="review")

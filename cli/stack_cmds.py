"""The stack: `kehoach up`, `serve`, `reload`, and `deployments sync|automation|prune`."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import typer

from cli.common import DefinitionsOption, definitions_dir, fail, load_or_exit

deployments_app = typer.Typer(
    help="Triển khai Prefect sinh từ định nghĩa (prefect.yaml, tự động hóa báo lỗi).",
    no_args_is_help=True,
)


def _settings():
    from engine.settings import get_settings

    return get_settings()


def _require_api() -> None:
    """The running stack's server, else PREFECT_API_URL; never a throw-away server that runs
    no schedule and that nobody sees."""
    from cli.stack import api

    chosen = api.resolve(_settings().var_dir.resolve())
    if chosen.url is None:
        fail(
            "không thấy máy chủ Prefect: chưa có `kehoach up` nào đang chạy với thư mục "
            f"{_settings().var_dir} và chưa đặt PREFECT_API_URL (ví dụ "
            "http://127.0.0.1:4200/api)"
        )
    api.use(chosen)


def _paths():
    from cli.stack.state import StackPaths

    return StackPaths(_settings().var_dir.resolve())


def up(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Địa chỉ lắng nghe của cổng thông tin (các cơ quan truy cập)."
    ),
    prefect_host: str = typer.Option(
        "127.0.0.1",
        "--prefect-host",
        envvar="KEHOACH_PREFECT_HOST",
        help="Địa chỉ của máy chủ Prefect và hộp thư thử nghiệm; ngoài 127.0.0.1 cần "
        "PREFECT_SERVER_API_AUTH_STRING.",
    ),
    prefect_port: int = typer.Option(
        4200, "--prefect-port", envvar="KEHOACH_PREFECT_PORT", help="Cổng máy chủ Prefect."
    ),
    portal_port: int = typer.Option(
        8080, "--portal-port", envvar="KEHOACH_PORTAL_PORT", help="Cổng của cổng thông tin."
    ),
    smtp_port: int = typer.Option(
        1025, "--smtp-port", envvar="KEHOACH_SINK_SMTP_PORT", help="Cổng SMTP hộp thư thử nghiệm."
    ),
    mail_port: int = typer.Option(
        8025, "--mail-port", envvar="KEHOACH_MAIL_PAGE_PORT", help="Cổng trang xem thư."
    ),
    mail_sink: bool = typer.Option(
        True, "--mail-sink/--no-mail-sink", help="Gửi thư vào hộp thư thử nghiệm trên máy này."
    ),
    portal: bool = typer.Option(True, "--portal/--no-portal", help="Chạy cổng thông tin."),
) -> None:
    """Chạy toàn bộ hệ thống trên máy này: Prefect, các triển khai, cổng thông tin, hộp thư."""
    from cli.stack.supervisor import StackError, StackOptions, check_prefect_host, run_stack
    from engine.ledger.db import upgrade

    for port in (prefect_port, portal_port, smtp_port, mail_port):
        if not 0 < port < 65536:
            fail(f"cổng không hợp lệ: {port}", 2)
    try:
        check_prefect_host(prefect_host)
    except StackError as error:
        fail(str(error), 2)
    settings = _settings()
    load_or_exit(settings.definitions)
    try:
        upgrade(settings.ledger_url)
    except Exception as error:  # noqa: BLE001 - a clear message beats a traceback here
        fail(f"không nâng cấp được sổ theo dõi ({settings.ledger_url.split('@')[-1]}): {error}")
    options = StackOptions(
        host,
        prefect_port,
        portal_port,
        smtp_port,
        mail_port,
        mail_sink,
        portal,
        prefect_host=prefect_host,
    )
    try:
        code = run_stack(options, settings)
    except StackError as error:
        fail(str(error))
    raise typer.Exit(code)


def serve(
    watch: bool = typer.Option(
        False, "--watch", help="Theo dõi thư mục định nghĩa, tự nạp lại khi có thay đổi."
    ),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Phục vụ mỗi nghĩa vụ một triển khai Prefect (cần PREFECT_API_URL tới máy chủ Prefect)."""
    from cli.stack.serving import serve as serve_deployments

    source = definitions_dir(definitions).resolve()
    if not source.is_dir():
        fail(f"không tìm thấy thư mục định nghĩa: {source}")
    _require_api()
    raise typer.Exit(serve_deployments(source, _paths(), watch=watch))


def reload(
    timeout: float = typer.Option(60, "--timeout", help="Số giây chờ kết quả."),
) -> None:
    """Yêu cầu `kehoach up` đang chạy nạp lại định nghĩa ngay, và in kết quả."""
    from cli.stack.state import read_json

    paths = _paths()
    if not paths.current.exists():
        fail(
            f"không có `kehoach up` nào đang chạy với thư mục {paths.var_dir} "
            "(đặt KEHOACH_VAR_DIR như lúc khởi động)"
        )
    nonce = uuid.uuid4().hex
    tmp = paths.reload_request.with_suffix(".tmp")
    tmp.write_text(nonce)
    tmp.replace(paths.reload_request)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = read_json(paths.reload_result) or {}
        if result.get("nonce") == nonce:
            break
        time.sleep(0.2)
    else:
        fail(f"không nhận được kết quả nạp lại sau {timeout:.0f} giây")
    if not result.get("accepted"):
        print("Định nghĩa mới bị từ chối; vẫn chạy phiên bản đang dùng. Lỗi:", file=sys.stderr)
        for problem in result.get("problems", []):
            print(f"  {problem}", file=sys.stderr)
        raise typer.Exit(1)
    from cli.stack.state import describe

    if result.get("changed"):
        print(f"Đã nạp định nghĩa mới {describe(result)}")
    else:
        print(f"Định nghĩa không đổi, đã đăng ký lại: {describe(result)}")


@deployments_app.command("sync")
def deployments_sync(
    check: bool = typer.Option(False, "--check", help="Chỉ kiểm tra, lỗi nếu tệp đã cũ."),
    output: Path | None = typer.Option(None, "--output", help="Mặc định: prefect.yaml của repo."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Sinh prefect.yaml (nhóm máy chạy `kehoach`) từ định nghĩa."""
    from cli.stack.prefect_yaml import render
    from engine.settings import REPO_ROOT
    from flows.deployments import deployment_set

    defs = load_or_exit(definitions)
    wanted = deployment_set(defs)
    for line in wanted.skipped:
        print(f"Cảnh báo: {line}", file=sys.stderr)
    text = render(wanted)
    target = output or REPO_ROOT / "prefect.yaml"
    if check:
        try:
            current = target.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            fail(f"{target} đã cũ so với định nghĩa: chạy `kehoach deployments sync`")
        print(f"{target} khớp với định nghĩa ({len(wanted.specs)} triển khai).")
        return
    target.write_text(text, encoding="utf-8")
    print(f"Đã ghi {target}: {len(wanted.specs)} triển khai.")


def _with_client(work):
    import asyncio

    from prefect import get_client

    _require_api()

    async def run():
        async with get_client() as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except Exception as error:  # noqa: BLE001 - the server may be down or refuse us
        fail(f"không làm việc được với máy chủ Prefect: {error}")


@deployments_app.command("automation")
def deployments_automation(definitions: Path | None = DefinitionsOption) -> None:
    """Sau `prefect deploy --all`: tạo tự động hóa báo lỗi và đặt lược đồ tham số tiếng Việt."""
    from cli.stack.automation import (
        AUTOMATION_NAME,
        apply_parameter_schemas,
        ensure_for_deployment,
    )
    from flows.deployments import deployment_set

    specs = deployment_set(load_or_exit(definitions)).specs

    async def work(client):
        return await ensure_for_deployment(client), await apply_parameter_schemas(client, specs)

    automation_id, updated = _with_client(work)
    print(f"Tự động hóa {AUTOMATION_NAME} đã sẵn sàng ({automation_id}).")
    print(f"Đã đặt lược đồ tham số (danh sách nghĩa vụ, tên tiếng Việt) cho {updated} triển khai.")


@deployments_app.command("prune")
def deployments_prune(definitions: Path | None = DefinitionsOption) -> None:
    """Xóa trên máy chủ Prefect các triển khai của nghĩa vụ không còn trong định nghĩa."""
    from cli.stack.pruning import remove_undefined
    from flows.deployments import deployment_set

    keep = deployment_set(load_or_exit(definitions)).names()
    removed = _with_client(lambda client: remove_undefined(client, keep))
    print(f"Đã xóa {len(removed)} triển khai: {', '.join(removed) or 'không có'}.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `kehoach` app."""
    app.command()(up)
    app.command()(serve)
    app.command()(reload)
    app.add_typer(deployments_app, name="deployments")

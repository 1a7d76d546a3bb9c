"""`kehoach up`: the whole embedded stack under one supervisor.

Starts, in order, the mail sink, a local Prefect server (SQLite under var/prefect/), the served
deployments (`kehoach serve --watch`) and the portal; prints where to find them; then watches
them. Ctrl-C or SIGTERM stops every child, each with its process group, and waits for them.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli.stack.api import forget_stack_api, record_stack_api
from cli.stack.processes import Child, cmdline, emit, stop_recorded
from cli.stack.state import StackPaths, read_json, take_snapshot, write_json
from engine.settings import REPO_ROOT, Settings
from notifications.operators import DEFAULT_OPERATOR_MAILBOX


@dataclass(frozen=True)
class StackOptions:
    # The portal's address (agencies reach it); Prefect and the mail sink listen on
    # `prefect_host`, loopback unless the operator asks otherwise (see check_prefect_host).
    host: str = "127.0.0.1"
    prefect_port: int = 4200
    portal_port: int = 8080
    smtp_port: int = 1025
    mail_port: int = 8025
    mail_sink: bool = True
    portal: bool = True
    start_timeout: float = 180.0
    prefect_host: str = "127.0.0.1"


class StackError(Exception):
    """The stack cannot start; the message says why, in Vietnamese."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_prefect_host(host: str, environ: dict[str, str] | None = None) -> None:
    """Refuse to expose Prefect's API beyond this machine without basic auth: the open-source
    server has no users, and whoever reaches it can start any run with any `as_of` (closing
    cycles, sending escalations)."""
    environ = os.environ if environ is None else environ
    if is_loopback(host) or environ.get("PREFECT_SERVER_API_AUTH_STRING"):
        return
    raise StackError(
        f"không mở máy chủ Prefect trên {host}: API của Prefect không có tài khoản, ai truy cập "
        "được đều có thể chạy mọi quy trình (đóng kỳ, gửi thư đôn đốc). Giữ Prefect trên "
        "127.0.0.1 (mặc định), hoặc đặt PREFECT_SERVER_API_AUTH_STRING='tên:mật-khẩu' trước "
        "khi mở ra ngoài. Cổng thông tin đổi địa chỉ bằng --host, độc lập với Prefect."
    )


def portal_command_exists() -> bool:
    from cli.main import app

    return any(
        (c.name or (c.callback.__name__ if c.callback else "")) == "portal"
        for c in app.registered_commands
    )


def current_path(paths: StackPaths) -> str:
    return (read_json(paths.current) or {}).get("path", "")


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        # As the servers themselves do: connections in TIME_WAIT do not make a port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Supervisor:
    def __init__(self, options: StackOptions, settings: Settings) -> None:
        self.options = options
        self.settings = settings
        self.paths = StackPaths(settings.var_dir.resolve())
        self.source = settings.definitions.resolve()
        self.children: list[Child] = []
        self.portal: Child | None = None
        self.snapshot: Path | None = None
        self.digest: str | None = None
        self.stopping = threading.Event()
        self._lock_file = None

    # --- addresses ---------------------------------------------------------------------

    def url(self, port: int, host: str | None = None) -> str:
        return f"http://{host or self.options.host}:{port}"

    def local_url(self, port: int) -> str:
        """A service on the Prefect host (Prefect itself, the mail sink)."""
        return self.url(port, self.options.prefect_host)

    @property
    def api_url(self) -> str:
        return f"{self.local_url(self.options.prefect_port)}/api"

    def prefect_command(self) -> list[str]:
        o = self.options
        return [sys.executable, "-m", "prefect", "server", "start",
                "--host", o.prefect_host, "--port", str(o.prefect_port)]  # fmt: skip

    # --- the run -----------------------------------------------------------------------

    def run(self) -> int:
        self.paths.make()
        self.lock()
        try:
            return self._run_locked()
        finally:
            self._lock_file.close()  # releases the lock

    def warn_without_operators(self) -> None:
        """Outside the embedded mail sink, failures must reach someone: say so at start."""
        if self.options.mail_sink or os.environ.get("KEHOACH_OPERATOR_EMAILS", "").strip():
            return
        emit(
            "Cảnh báo: chưa đặt KEHOACH_OPERATOR_EMAILS (địa chỉ thư của cán bộ vận hành, cách "
            "nhau bởi dấu phẩy): khi lượt chạy lỗi, thư không gửi được hoặc địa chỉ bị trả lại, "
            "sẽ không ai được báo."
        )

    def _run_locked(self) -> int:
        self.warn_without_operators()
        for line in stop_recorded((read_json(self.paths.children) or {}).get("children", [])):
            emit(f"Đã dừng tiến trình còn sót từ lần chạy trước: {line}")
        for stale in (self.paths.current, self.paths.reload_result, self.paths.prefect_api):
            stale.unlink(missing_ok=True)
        self.check_ports()
        taken = take_snapshot(self.source, self.paths)
        if taken.path is None:
            raise StackError("định nghĩa không hợp lệ:\n" + "\n".join(taken.problems))
        self.snapshot, self.digest = taken.path, taken.result.definitions.digest
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start_all()
            if not self.stopping.is_set():
                self.banner()
                return self.watch()
            return 0
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: object) -> None:
        # Only flag it: a handler that printed could wait forever on the output lock that the
        # interrupted main thread itself holds.
        self.stopping.set()

    def lock(self) -> None:
        self._lock_file = open(self.paths.lock, "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackError(
                f"một `kehoach up` khác đang chạy với thư mục {self.paths.var_dir}"
            ) from None

    def check_ports(self) -> None:
        wanted = [(self.options.prefect_port, "máy chủ Prefect", "--prefect-port")]
        if self.options.portal and portal_command_exists():
            wanted.append((self.options.portal_port, "cổng thông tin", "--portal-port"))
        if self.options.mail_sink:
            wanted.append((self.options.smtp_port, "hộp thư thử nghiệm (SMTP)", "--smtp-port"))
            wanted.append((self.options.mail_port, "trang xem thư", "--mail-port"))
        check_prefect_host(self.options.prefect_host)
        for port, what, option in wanted:
            host = self.options.host if option == "--portal-port" else self.options.prefect_host
            if not port_is_free(host, port):
                raise StackError(
                    f"cổng {port} ({what}) đang bận; dừng chương trình đang dùng nó hoặc chọn "
                    f"cổng khác bằng {option}"
                )

    # --- children ----------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PREFECT_HOME=str(self.paths.prefect_home),
            PREFECT_API_URL=self.api_url,
            KEHOACH_VAR_DIR=str(self.paths.var_dir),
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setdefault("KEHOACH_PORTAL_URL", self.url(self.options.portal_port))
        # With basic auth on the server, our own clients must present the same credentials.
        if env.get("PREFECT_SERVER_API_AUTH_STRING"):
            env.setdefault("PREFECT_API_AUTH_STRING", env["PREFECT_SERVER_API_AUTH_STRING"])
        if self.options.mail_sink:
            env.update(
                KEHOACH_SMTP_HOST=self.options.prefect_host,
                KEHOACH_SMTP_PORT=str(self.options.smtp_port),
            )
            # One machine: letters invite replies to a local intake mailbox, which the sink
            # delivers into var/maildir for the intake flow.
            domain = env.get("KEHOACH_MAIL_FROM", "kehoach@localhost").rpartition("@")[2]
            env.setdefault("KEHOACH_REPLY_TO", f"nop@{domain}")
            # Failures reach a mailbox the mail page shows, not nobody.
            env.setdefault("KEHOACH_OPERATOR_EMAILS", DEFAULT_OPERATOR_MAILBOX)
        env.update(extra)
        return env

    def child(self, name: str, command: list[str], **env: str) -> Child:
        child = Child(name, command, self.env(**env), REPO_ROOT)
        child.start()
        self.children.append(child)
        self.record_children()
        return child

    def record_children(self) -> None:
        write_json(
            self.paths.children,
            {
                "supervisor": os.getpid(),
                "children": [
                    {"name": c.name, "pid": c.pid, "cmdline": cmdline(c.pid) or c.command}
                    for c in self.children
                    if c.pid
                ],
            },
        )

    def kehoach(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "cli.main", *args]

    def start_all(self) -> None:
        o = self.options
        sink = None
        if o.mail_sink:
            sink = self.child(
                "hộp thư",
                self.kehoach(
                    "mail-sink",
                    "--port",
                    str(o.smtp_port),
                    "--http-port",
                    str(o.mail_port),
                    "--dir",
                    str(self.paths.var_dir / "mail"),
                ),
            )
        server = self.child(
            "prefect",
            self.prefect_command(),
            PREFECT_SERVER_LOGGING_LEVEL=os.environ.get("PREFECT_SERVER_LOGGING_LEVEL", "WARNING"),
        )  # fmt: skip
        emit(f"Đang khởi động máy chủ Prefect (dữ liệu tại {self.paths.prefect_home})…")
        # Started at once: the served deployments prepare while the server starts, then wait
        # for its API; the portal needs neither.
        serving = self.child(
            "triển khai",
            self.kehoach("serve", "--watch", "--definitions", str(self.source)),
        )
        if o.portal:
            if portal_command_exists():
                self.portal = self.start_portal(self.snapshot)
            else:
                emit("Cổng thông tin chưa có trong phiên bản này (lệnh `kehoach portal`): bỏ qua.")
        self.wait_for("máy chủ Prefect", server, self.prefect_ready)
        # From now on `kehoach tick` and the other commands use this server by default.
        record_stack_api(self.paths, self.api_url)
        self.wait_for("các triển khai", serving, self.paths.reload_result.exists)
        if self.portal is not None:
            self.wait_for("cổng thông tin", self.portal, self.portal_ready)
        if sink is not None:
            self.wait_for("hộp thư", sink, lambda: not port_is_free(o.prefect_host, o.mail_port))

    def start_portal(self, definitions: Path) -> Child:
        return self.child(
            "cổng",
            self.kehoach(
                "portal", "--host", self.options.host, "--port", str(self.options.portal_port)
            ),
            KEHOACH_DEFINITIONS=str(definitions),
        )

    def portal_ready(self) -> bool:
        try:
            httpx.get(self.url(self.options.portal_port) + "/health", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    def prefect_ready(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_for(self, what: str, child: Child, ready) -> None:
        deadline = time.monotonic() + self.options.start_timeout
        while not self.stopping.is_set():
            if ready():
                return
            if not child.alive():
                tail = "\n".join(child.tail)
                raise StackError(
                    f"{what} dừng khi đang khởi động (mã {child.exit_code()}):\n{tail}"
                )
            if time.monotonic() > deadline:
                raise StackError(f"{what} chưa sẵn sàng sau {self.options.start_timeout:.0f} giây")
            time.sleep(0.2)

    # --- running -----------------------------------------------------------------------

    def banner(self) -> None:
        o = self.options
        lines = [
            "",
            "kehoach đang chạy:",
            f"  Giao diện Prefect (theo dõi lượt chạy):  {self.local_url(o.prefect_port)}",
        ]
        if self.portal is not None:
            lines.append(f"  Cổng thông tin nộp báo cáo:              {self.url(o.portal_port)}")
        if o.mail_sink:
            lines.append(
                f"  Hộp thư thử nghiệm (thư đã gửi):         {self.local_url(o.mail_port)}"
            )
        lines += [
            f"  Định nghĩa: {self.source} (lưu tệp là tự nạp lại; hoặc chạy `kehoach reload`)",
            f"  Dữ liệu: {self.paths.var_dir}",
            "Nhấn Ctrl-C để dừng.",
            "",
        ]
        emit("\n".join(lines))

    def watch(self) -> int:
        """Until a signal: notice a child that died, restart the portal on new definitions."""
        from flows.zombies import RECONCILE_INTERVAL

        current = self.digest
        next_reconcile = time.monotonic()
        while not self.stopping.wait(0.5):
            if time.monotonic() >= next_reconcile:
                next_reconcile = time.monotonic() + RECONCILE_INTERVAL.total_seconds()
                self.crash_dead_runs()
            for child in self.children:
                if not child.alive():
                    emit(
                        f"Tiến trình {child.name} đã dừng bất ngờ (mã {child.exit_code()}); "
                        "dừng toàn bộ kehoach."
                    )
                    return 1
            latest = (read_json(self.paths.current) or {}).get("digest")
            if latest and latest != current:
                current = latest
                if self.portal is not None:
                    emit("Khởi động lại cổng thông tin với định nghĩa mới…")
                    self.portal.stop()
                    self.children.remove(self.portal)
                    self.record_children()
                    self.portal = self.start_portal(Path(current_path(self.paths)))
        return 0

    def crash_dead_runs(self) -> None:
        """Runs left Running by a dead process become Crashed (the failure automation follows)."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.zombies import crash_dead_runs

        try:
            with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
                crashed = crash_dead_runs()
            for run in crashed:
                emit(f"Lượt chạy {run.name} bị bỏ dở (tiến trình đã dừng): đánh dấu gặp sự cố.")
        except Exception as error:  # noqa: BLE001 - the server may be restarting; try later
            emit(f"Chưa kiểm tra được các lượt chạy bị bỏ dở: {error}")

    def stop_all(self) -> None:
        if self.stopping.is_set():
            emit("Đang dừng kehoach (chờ các tiến trình kết thúc)…")
        # Reverse start order: the served deployments pause themselves while the server is up.
        for child in reversed(self.children):
            child.stop()
        left = [pid for child in self.children for pid in child.leftovers()]
        self.paths.current.unlink(missing_ok=True)
        forget_stack_api(self.paths)
        if left:
            emit(f"Cảnh báo: còn tiến trình chưa dừng: {left}")
        else:
            self.paths.children.unlink(missing_ok=True)
            if self.children:
                emit("Đã dừng mọi tiến trình của kehoach.")


def run_stack(options: StackOptions, settings: Settings) -> int:
    return Supervisor(options, settings).run()

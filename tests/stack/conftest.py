"""Fixtures for the stack tests: `kehoach up` started as `make run` starts it, and a small
client for Prefect's REST API.

The stack runs as real processes on free ports with its own var/ directory (KEHOACH_VAR_DIR)
and a copy of the shipped definitions (KEHOACH_DEFINITIONS), so tests may edit them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

KEHOACH = [sys.executable, "-m", "cli.main"]
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.3):
    """Poll `check` until it returns something truthy; fail the test with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def processes_with_env(name: str, value: str) -> list[int]:
    """Pids of live processes started with name=value in their environment (read from /proc)."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if state[state.rfind(")") + 2 :].startswith("Z"):
            continue  # exited, waiting for its parent to read the status
        if needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


@dataclass
class PrefectApi:
    """Just enough of Prefect's REST API for the tests."""

    url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def request(self, method: str, path: str, body: dict | None = None) -> object:
        # Prefect's own client retries 503 ("database is locked" on SQLite under load): so do we.
        for attempt in range(8):
            response = self.http.request(method, f"{self.url}{path}", json=body)
            if response.status_code != 503:
                break
            time.sleep(0.25 * 2**attempt)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict | None = None) -> object:
        return self.request("POST", path, body or {})

    def get(self, path: str) -> object:
        return self.request("GET", path)

    def deployments(self) -> dict[str, dict]:
        """Every deployment by full name (flow/deployment)."""
        flows = {f["id"]: f["name"] for f in self.post("/flows/filter")}
        return {f"{flows[d['flow_id']]}/{d['name']}": d for d in self.post("/deployments/filter")}

    def run(self, deployment: dict, parameters: dict) -> str:
        created = self.post(
            f"/deployments/{deployment['id']}/create_flow_run", {"parameters": parameters}
        )
        return created["id"]

    def flow_run(self, run_id: str) -> dict:
        return self.get(f"/flow_runs/{run_id}")

    def wait_final(self, run_id: str, timeout: float = 90) -> dict:
        def final() -> dict | None:
            run = self.flow_run(run_id)
            return run if run["state_type"] in FINAL_STATES else None

        return wait_until(final, timeout, f"flow run {run_id} to finish")

    def artifacts(self, run_id: str) -> list[dict]:
        return self.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}})

    def automations(self) -> list[dict]:
        return self.post("/automations/filter")


@dataclass
class Stack:
    process: subprocess.Popen
    output: Path
    var_dir: Path
    definitions: Path
    env: dict[str, str]
    ports: dict[str, int]

    @property
    def api(self) -> PrefectApi:
        return PrefectApi(f"http://127.0.0.1:{self.ports['prefect']}/api")

    def log(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def kehoach(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*KEHOACH, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop(self, timeout: float = 90) -> int:
        """Ctrl-C as a terminal sends it: SIGINT to the supervisor's process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)


def stack_env(var_dir: Path, definitions: Path, ports: dict[str, int]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_API_", "KEHOACH_")) and k != "PREFECT_HOME"
    }
    env.update(
        KEHOACH_VAR_DIR=str(var_dir),
        KEHOACH_DEFINITIONS=str(definitions),
        KEHOACH_SECRET_KEY="stack-test-secret-key-of-32-bytes-or-more",
        KEHOACH_MAIL_FROM="kehoach@tuyenquang.example",
        KEHOACH_OPERATOR_EMAILS="van-hanh@tuyenquang.example",
        KEHOACH_PREFECT_PORT=str(ports["prefect"]),
        KEHOACH_PORTAL_PORT=str(ports["portal"]),
        KEHOACH_SINK_SMTP_PORT=str(ports["smtp"]),
        # What the stack's own processes use; a CLI command beside it (tick) sends there too,
        # as it does on the default ports of `make run`.
        KEHOACH_SMTP_PORT=str(ports["smtp"]),
        KEHOACH_MAIL_PAGE_PORT=str(ports["mail"]),
        # Prefect's own setting: the served deployments look for new runs every 2 s, not 10.
        PREFECT_RUNNER_POLL_FREQUENCY="2",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`kehoach db upgrade` then `kehoach up`, the two steps of `make run`, on free ports."""
    root = tmp_path_factory.mktemp("stack")
    definitions = root / "definitions"
    shutil.copytree(REPO / "definitions", definitions)
    ports = {name: free_port() for name in ("prefect", "portal", "smtp", "mail")}
    env = stack_env(root / "var", definitions, ports)
    upgrade = subprocess.run(
        [*KEHOACH, "db", "upgrade"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert upgrade.returncode == 0, upgrade.stderr
    output = root / "up.log"
    with open(output, "w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [*KEHOACH, "up"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Stack(process, output, root / "var", definitions, env, ports)

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"kehoach up exited with {process.returncode}:\n{running.log()[-4000:]}")
        return "kehoach đang chạy:" in running.log()

    try:
        wait_until(ready, 240, "the stack's banner")
        yield running
    finally:
        if process.poll() is None:
            running.stop()

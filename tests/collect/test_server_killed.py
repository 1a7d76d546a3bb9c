"""The Prefect server killed in the middle of a tick: the tick ends with one Vietnamese line,
and once a server is back the run it left `Running` is turned Crashed, exactly once.

Its own Prefect server (a real `prefect server start` on SQLite in a temporary home), since
the session's shared test server must survive."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.relay import Relay, free_port

REPO = Path(__file__).resolve().parents[2]
DEFS = Path(__file__).parent / "fixtures" / "defs"

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)


def start_server(home: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
    }
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
        + ["--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    os.killpg(server.pid, signal.SIGKILL)
    pytest.fail("the Prefect server did not start")


def running_runs(api: str) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as c:
        state = FlowRunFilterState(type=FlowRunFilterStateType(any_=["RUNNING", "CRASHED"]))
        return c.read_flow_runs(flow_run_filter=FlowRunFilter(state=state))


def test_server_killed_mid_tick(kehoach_env, ledger_url, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.zombies import crash_dead_runs

    defs = tmp_path / "defs"
    shutil.copytree(DEFS, defs)
    home, port = tmp_path / "prefect", free_port()
    api = f"http://127.0.0.1:{port}/api"
    server = start_server(home, port)
    relay = Relay(tmp_path / "mail")
    relay.hang()  # holds the tick mid-drain while the server goes away
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "KEHOACH_DEFINITIONS": str(defs),
        "KEHOACH_SMTP_PORT": str(relay.port),
        "KEHOACH_SMTP_TIMEOUT": "20",
    }
    tick = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "tick", "--as-of", "2026-03-04"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    marker = f"{socket.gethostname()}:{tick.pid}"
    try:
        deadline = time.monotonic() + 180
        while not any(r.infrastructure_pid == marker for r in running_runs(api)):
            assert time.monotonic() < deadline, "the tick's run never showed as Running"
            time.sleep(0.5)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        _out, err = tick.communicate(timeout=300)
    finally:
        relay.stop()
        if tick.poll() is None:
            tick.kill()
    lines = err.strip().splitlines()
    assert tick.returncode == 1
    assert "Traceback" not in err, err[-3000:]
    # (Prefect's API log handler, flushing from the run threads at exit, may write a bare
    # line before or after ours.)
    # Each obligation's run reports its own failure; the tick ends with one Vietnamese line
    # (the server unreachable, or the runs that could not finish because of it).
    assert any(
        "Lỗi: không kết nối được máy chủ Prefect" in line
        or line.startswith("Lỗi:")
        and "lượt chạy không thành công" in line
        for line in lines
    ), lines

    server = start_server(home, port)
    try:
        started = time.monotonic()
        with temporary_settings(updates={PREFECT_API_URL: api}):
            crashed = crash_dead_runs()
            again = crash_dead_runs()
        elapsed = time.monotonic() - started
        # Runs start several at a time: every one the tick had running when the server died
        # is crashed, each once.
        runs = [r for r in running_runs(api) if r.infrastructure_pid == marker]
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    assert runs and sorted(c.id for c in crashed) == sorted(str(r.id) for r in runs)
    assert again == []
    for run in runs:
        assert run.state.type.value == "CRASHED" and "đã dừng đột ngột" in run.state.message
    print(f"crashed {elapsed:.1f} s after the server came back")

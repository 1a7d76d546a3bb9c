"""Issue 13, finding 8: `kehoach up --host` moves the portal, not Prefect. Prefect's API (no
users: whoever reaches it can start any run with any as_of) stays on loopback unless basic
auth is set for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.stack.supervisor import StackError, StackOptions, Supervisor, check_prefect_host
from engine.settings import Settings
from tests.conftest import REPO, free_port


def test_the_portal_host_does_not_move_prefect(tmp_path: Path) -> None:
    options = StackOptions(host="127.0.0.2", portal_port=8081, prefect_port=4201)
    supervisor = Supervisor(options, Settings(var_dir=tmp_path, definitions=REPO / "definitions"))
    command = supervisor.prefect_command()
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert supervisor.api_url == "http://127.0.0.1:4201/api"
    env = supervisor.env()
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4201/api"
    assert env["KEHOACH_SMTP_HOST"] == "127.0.0.1"
    if "KEHOACH_PORTAL_URL" not in os.environ:
        assert env["KEHOACH_PORTAL_URL"] == "http://127.0.0.2:8081"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_auth(host: str) -> None:
    check_prefect_host(host, {})


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "portal.example"])
def test_prefect_beyond_loopback_needs_basic_auth(host: str) -> None:
    with pytest.raises(StackError, match="PREFECT_SERVER_API_AUTH_STRING"):
        check_prefect_host(host, {})
    check_prefect_host(host, {"PREFECT_SERVER_API_AUTH_STRING": "vanhanh:mat-khau-dai"})


def test_up_refuses_an_exposed_prefect_before_starting_anything(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_SERVER_API_AUTH")}
    env.update(KEHOACH_VAR_DIR=str(tmp_path / "var"))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "up", "--prefect-host", "0.0.0.0",
         "--prefect-port", str(port)],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert "PREFECT_SERVER_API_AUTH_STRING" in result.stderr and "Traceback" not in result.stderr
    assert "không mở máy chủ Prefect trên 0.0.0.0" in result.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "var" / "prefect").exists()  # nothing was started

"""`kehoach portal` and `kehoach portal-password` as an administrator runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from portal.security import OperatorCredential
from tests.portal.conftest import DEFS, REPO, free_port

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)


def kehoach(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_portal_command_serves_and_keeps_links_out_of_its_log(kehoach_env) -> None:
    kehoach_env(DEFS)
    port = free_port()
    server = kehoach("portal", "--port", str(port))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        forged = httpx.get(f"http://127.0.0.1:{port}/s/7.20991231.bimat-cua-co-quan")
        assert forged.status_code == 403
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert "Cổng tiếp nhận: http://127.0.0.1:" in out
    assert 'GET /s/… HTTP/1.1" 403' in out + err and "bimat-cua-co-quan" not in out + err


def test_portal_command_refusals(kehoach_env, tmp_path, monkeypatch) -> None:
    kehoach_env(DEFS)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = kehoach("portal", "--port", str(taken.getsockname()[1]))
        _, err = busy.communicate(timeout=60)
    assert busy.returncode == 1 and "không mở được 127.0.0.1" in err and "Traceback" not in err

    monkeypatch.setenv("KEHOACH_DATABASE_URL", f"sqlite:///{tmp_path / 'trong.db'}")
    empty = kehoach("portal", "--port", str(free_port()))
    _, err = empty.communicate(timeout=60)
    assert empty.returncode == 1 and "kehoach db upgrade" in err and "Traceback" not in err

    monkeypatch.setenv("KEHOACH_OPERATOR_PASSWORD_HASH", "md5$khong-hop-le")
    bad = kehoach("portal", "--port", str(free_port()))
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 1 and "tài khoản vận hành" in err and "Traceback" not in err


def test_portal_password(kehoach_env) -> None:
    made = kehoach("portal-password", "--user", "vanhanh")
    out, err = made.communicate("mat-khau-van-hanh\nmat-khau-van-hanh\n", timeout=60)
    assert made.returncode == 0, err
    hashed = out.split("KEHOACH_OPERATOR_PASSWORD_HASH='")[1].split("'")[0]
    assert OperatorCredential("vanhanh", password_hash=hashed).check("vanhanh", "mat-khau-van-hanh")
    short = kehoach("portal-password")
    _, err = short.communicate("ngan\nngan\n", timeout=60)
    assert short.returncode == 2 and "12 ký tự" in err

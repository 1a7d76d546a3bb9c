"""The portal's courier drains the outbox in a child process: requests are folded together, a
failing or killed child does not stop later deliveries, and the child does not outlive the
portal, even when the portal is killed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.courier import Courier

REPO = Path(__file__).resolve().parents[2]
DIR_ENV = "KEHOACH_TEST_COURIER_DIR"


def record_drain() -> str:
    """A stand-in for the outbox drain (module level, so the child can import it): notes which
    process ran it, takes a little time, and fails while a 'fail' file exists."""
    where = Path(os.environ[DIR_ENV])
    if (where / "fail").exists():
        raise RuntimeError("the SMTP server refused")
    time.sleep(0.2)
    with (where / "drains").open("a") as log:
        log.write(f"{os.getpid()}\n")
    return "drained"


def drains(where: Path) -> list[int]:
    path = where / "drains"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    waited = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return not waited.stdout.strip().startswith("Z")


@pytest.fixture
def courier(tmp_path, monkeypatch):
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    courier = Courier(record_drain)
    yield courier
    courier.close()


def test_drains_in_a_child_process_and_folds_requests(courier, tmp_path) -> None:
    for _ in range(5):
        courier.kick()
    assert courier.wait_idle(30)
    ran = drains(tmp_path)
    # The first kick starts a drain; the four that arrive meanwhile make one more, not four.
    assert 1 <= len(ran) <= 2
    assert set(ran) == {courier.delivery.pid} and courier.delivery.pid != os.getpid()


def test_a_failing_drain_is_logged_and_the_next_one_runs(courier, tmp_path, caplog) -> None:
    (tmp_path / "fail").write_text("")
    with caplog.at_level(logging.ERROR, logger="kehoach.portal"):
        courier.kick()
        assert courier.wait_idle(30)
    assert "could not drain the outbox" in caplog.text and "SMTP server refused" in caplog.text
    assert drains(tmp_path) == []
    (tmp_path / "fail").unlink()
    courier.kick()
    assert courier.wait_idle(30)
    assert len(drains(tmp_path)) == 1


def test_a_killed_child_is_replaced(courier, tmp_path) -> None:
    courier.kick()
    assert courier.wait_idle(30)
    first = courier.delivery.pid
    os.kill(first, signal.SIGKILL)
    courier.kick()
    assert courier.wait_idle(30)
    second = courier.delivery.pid
    assert second != first and drains(tmp_path) == [first, second]


def test_close_stops_the_child(courier) -> None:
    courier.kick()
    assert courier.wait_idle(30)
    pid = courier.delivery.pid
    courier.close()
    assert not alive(pid)


PORTAL_KILLED = """
import sys, time
sys.path.insert(0, sys.argv[1])
from portal.courier import Courier
from tests.portal.test_courier import record_drain
courier = Courier(record_drain)
courier.kick()
courier.wait_idle(30)
print(courier.delivery.pid, flush=True)
time.sleep(60)
"""


def test_the_child_exits_when_the_portal_is_killed(tmp_path) -> None:
    env = {**os.environ, DIR_ENV: str(tmp_path)}
    portal = subprocess.Popen(
        [sys.executable, "-c", PORTAL_KILLED, str(REPO)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        child = int(portal.stdout.readline())
        assert alive(child)
        portal.kill()
        portal.wait(10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
    finally:
        portal.kill()
        portal.wait(10)

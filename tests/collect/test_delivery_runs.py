"""Undelivered letters and dead processes as operators see them: a Failed run (once per
letter), `status` and `outbox`, `outbox retry` after fixing the address, and a run whose
process was killed turned Crashed. Real Prefect server, real relay on loopback, `kehoach tick`
in its own process."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tasks import runtime, steps
from tests.relay import Relay

REPO = Path(__file__).resolve().parents[2]
DEFS = Path(__file__).parent / "fixtures" / "defs"
HEAD = "giam-doc@stp.tuyenquang.example"
NEW_HEAD = "giam-doc-moi@stp.tuyenquang.example"
OPERATOR = "van-hanh@tuyenquang.example"

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)


@pytest.fixture
def setup(prefect_server, kehoach_env, ledger_url, tmp_path, monkeypatch):
    defs = tmp_path / "defs"
    shutil.copytree(DEFS, defs)
    relay = Relay(tmp_path / "mail")
    relay.accept()
    monkeypatch.setenv("KEHOACH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KEHOACH_SMTP_PORT", str(relay.port))
    monkeypatch.setenv("KEHOACH_OPERATOR_EMAILS", OPERATOR)
    kehoach_env(defs)
    yield defs, relay
    relay.stop()


def tick_process(day: str, **extra: str) -> subprocess.Popen:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), **extra}
    command = [sys.executable, "-m", "cli.main", "tick", "--as-of", day]
    return subprocess.Popen(
        [*command, "--obligation", "quarterly-report"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def steps_tick(day: dt.date) -> None:
    env = runtime.tick_env(day)
    obligation = env.defs.obligations["quarterly-report"]
    outcome = steps.TickOutcome()
    steps.open_due_cycles(env, obligation, outcome)
    steps.enqueue_and_close(env, obligation, outcome)
    steps.drain_outbox(env.sessions, runtime.sender(), policy=runtime.retry_policy())


def runs_in(state: str) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[state]))
            )
        )


def test_refused_to_with_accepted_cc_is_a_failure_seen_once_and_fixed_by_retry(setup) -> None:
    defs, relay = setup
    relay.handler.refuse_for_good.add(HEAD)
    for day in (dt.date(2026, 3, 4), dt.date(2026, 3, 16)):
        steps_tick(day)  # requests and reminders, all delivered
    failed_before = {r.id for r in runs_in("FAILED")}

    out, err = tick_process("2026-03-23").communicate(timeout=300)
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("Lỗi: 1 lượt chạy không thành công: quarterly-report")
    assert "1 thư không gửi được" in last and "550" in last
    [failed_run] = [r for r in runs_in("FAILED") if r.id not in failed_before]
    assert (
        "so-tu-phap" in failed_run.state.message and "thư không gửi tới" in failed_run.state.message
    )

    # The Cc got the escalation; the head (To) did not: a failure for Sở Tư pháp.
    escalation = [m for m in relay.delivered() if "phap-che@stp.tuyenquang.example" in m.cc]
    assert len(escalation) == 1 and HEAD in escalation[0].to
    runner = CliRunner()
    outbox = runner.invoke(app, ["outbox"])
    assert outbox.exit_code == 0
    line = next(x for x in outbox.output.splitlines() if "không gửi được" in x)
    assert "so-tu-phap" in line and "địa chỉ nhận chính bị từ chối" in line and "550" in line
    status = runner.invoke(app, ["status"])
    marked = [x for x in status.output.splitlines() if "thư không tới" in x]
    assert len(marked) == 1 and "Sở Tư pháp" in marked[0]  # status names bodies

    # The operators hear of it once: the automation starts notify-operators for the Failed run;
    # a second tick the same day does not fail again (the letter is failed once, not per try).
    from flows.notify import notify_operators

    notify_operators(flow_run=str(failed_run.id))
    again = tick_process("2026-03-23")
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]  # nothing newly undelivered, nothing waiting
    assert [r.id for r in runs_in("FAILED") if r.id not in failed_before] == [failed_run.id]
    notify_operators(flow_run=str(failed_run.id))  # a repeated trigger queues nothing more
    to_operator = [m for m in relay.delivered() if OPERATOR in m.to]
    assert len(to_operator) == 1

    # Fix the address in the definitions, then `outbox retry`: delivered, same Message-ID.
    bodies = defs / "bodies.yaml"
    bodies.write_text(bodies.read_text(encoding="utf-8").replace(HEAD, NEW_HEAD), "utf-8")
    runtime.reset()
    retried = runner.invoke(app, ["outbox", "retry", "--body", "so-tu-phap"])
    assert retried.exit_code == 0, retried.output
    assert f"địa chỉ mới: {NEW_HEAD}" in retried.output
    resent = [m for m in relay.delivered() if NEW_HEAD in m.to]
    assert len(resent) == 1 and resent[0].message_id == escalation[0].message_id
    ids = Counter(m.message_id for m in relay.delivered() if OPERATOR not in m.to)
    assert ids[escalation[0].message_id] == 2 and set(ids.values()) <= {1, 2}
    status = runner.invoke(app, ["status"])
    assert "thư không tới" not in status.output
    from engine.ledger.events import list_events

    with runtime.sessions()() as session:
        [event] = list_events(session, kind="letter-requeued")
    assert event.data["old_to"] == [HEAD] and event.data["to"] == [NEW_HEAD]


def test_a_run_whose_process_was_killed_is_crashed_once(setup) -> None:
    from flows.zombies import crash_dead_runs

    _defs, relay = setup
    relay.hang()  # the tick is held mid-drain
    process = tick_process("2026-03-04", KEHOACH_SMTP_TIMEOUT="60")
    deadline = time.monotonic() + 180
    marker = f"{socket.gethostname()}:{process.pid}"
    mine = None
    while mine is None and time.monotonic() < deadline:
        running = runs_in("RUNNING")
        mine = next((r for r in running if r.infrastructure_pid == marker), None)
        time.sleep(0.5)
    assert mine is not None, "the tick's run never showed as Running"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    started = time.monotonic()
    crashed = crash_dead_runs()
    assert [c.id for c in crashed] == [str(mine.id)]
    assert time.monotonic() - started < 30
    [run] = [r for r in runs_in("CRASHED") if r.id == mine.id]
    assert "đã dừng đột ngột" in run.state.message
    assert crash_dead_runs() == []  # once: the automation fires once

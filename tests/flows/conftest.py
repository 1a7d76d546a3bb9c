"""Fixtures for the briefing and consolidation flows: deployments served by a real Prefect runner
in this process (so suspended runs are picked up again when resumed), and resuming a run the
way the Prefect UI does it, with POST /api/flow_runs/{id}/resume."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest

DEFS = Path(__file__).parent / "fixtures" / "defs"
# Spawning a run's process costs several seconds on a small machine: be patient, not sloppy.
STATE_TIMEOUT = 90.0


def api_url() -> str:
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url).rstrip("/")


def _call(method: str, path: str, **kwargs) -> httpx.Response:
    """One API call; the test server on SQLite answers 503 while its database is locked by
    another writer, and like Prefect's own client (and an operator pressing the button again)
    we try again."""
    for attempt in range(20):
        response = httpx.request(method, f"{api_url()}{path}", timeout=10, **kwargs)
        if response.status_code != 503:
            response.raise_for_status()
            return response
        time.sleep(0.5 + 0.25 * attempt)
    response.raise_for_status()
    return response


def flow_run(run_id: str) -> dict:
    return _call("GET", f"/flow_runs/{run_id}").json()


def wait_for_state(run_id: str, *types: str, timeout: float = STATE_TIMEOUT) -> dict:
    """Poll the run until its state type is one of `types` (fail at once on a failure)."""
    deadline = time.monotonic() + timeout
    while True:
        run = flow_run(run_id)
        state = run["state"]["type"]
        if state in types:
            return run
        if state in ("FAILED", "CRASHED", "CANCELLED") and state not in types:
            raise AssertionError(f"run {run_id} ended {state}: {run['state'].get('message')}")
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {state} after {timeout:.0f} s")
        time.sleep(1)


def wait_until_suspended(run_id: str, rounds: int = 1) -> dict:
    """Wait for the run to be suspended for the `rounds`-th time (its pause keys count them)."""
    deadline = time.monotonic() + STATE_TIMEOUT
    while True:
        run = wait_for_state(run_id, "PAUSED")
        if len(run["empirical_policy"].get("pause_keys") or []) >= rounds:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} not suspended {rounds} times")
        time.sleep(1)


def resume(run_id: str, run_input: dict) -> dict:
    """Exactly what the UI's resume form sends."""
    result = _call("POST", f"/flow_runs/{run_id}/resume", json={"run_input": run_input}).json()
    assert result["status"] == "ACCEPT", result
    return result


def input_schema(run_id: str) -> dict:
    """The form schema the suspended run saved for the UI."""
    run = flow_run(run_id)
    keyset = run["state"]["state_details"]["run_input_keyset"]
    return _call("GET", f"/flow_runs/{run_id}/input/{keyset['schema']}").json()


def deploy(flow, name: str) -> str:
    """Register `flow/name` as a deployment (no schedule); returns its id."""
    return str(flow.to_deployment(name=name).apply())


def work(flow, deployment_id: str) -> list[str]:
    """Act as the deployment's worker, in this process: execute every scheduled run (new ones
    and resumed ones) with Prefect's own engine, as a runner's child process would, until none
    is left. A run that suspends itself ends here; resuming it schedules it again."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow

    executed = []
    while True:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    ),
                )
            )
        if not runs:
            return executed
        for run in runs:
            executed.append(str(run.id))
            with contextlib.suppress(Pause):  # suspended: waits for its input
                run_flow(flow, flow_run=run)


@contextmanager
def serving(*deployments: tuple[object, str]) -> Iterator[object]:
    """Serve flows as deployments (`flow/name`) with a runner polling every second."""
    from prefect.runner import Runner

    runner = Runner(query_seconds=1, pause_on_shutdown=False, limit=2)
    for flow, name in deployments:
        runner.add_flow(flow, name=name)
    # The test harness's API URL lives in a context variable: carry it into the thread.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(lambda: asyncio.run(runner.start()),), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield runner
    finally:
        if runner.started:
            runner.execute_in_background(runner.astop).result(timeout=30)
        thread.join(timeout=30)


def mails(mail_dir: Path) -> list:
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(Path(mail_dir).glob("*.eml"))
    ]


def attachments(message) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.iter_attachments()
        if part.get_filename()
    }


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def flows_env(prefect_server, mail_sink, kehoach_env):
    """The fixture definitions, a fresh ledger and var/, the mail sink."""
    kehoach_env(DEFS)
    return mail_sink

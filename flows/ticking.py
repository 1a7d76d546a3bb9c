"""`kehoach tick`'s engine: one collect flow run per obligation, several at once, in this process.

Each run is a real flow run on the Prefect server (named, tagged, logged, with its artifacts),
created with its tags rather than under a `tags()` context: task runs inherit a context's tags,
and a tagged task run asks the server for tag concurrency slots, one more round trip per task.
Heartbeats are off: a tick's runs last seconds and end with the process, and stopping the
heartbeat thread cost about a second per run.
"""

from __future__ import annotations

import contextvars
import copy
import datetime as dt
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from engine.definitions.models import Definitions, Obligation
from flows.deployments import run_tags

debug_log = logging.getLogger("kehoach.flows")

# Runs at once: enough to overlap the server's round trips; the ledger serialises its writes.
WORKERS = 4


@dataclass(frozen=True)
class TickRun:
    """How one obligation's run ended: its state name and message, its result when completed."""

    obligation: str
    run_id: str | None
    state: str
    message: str
    result: dict | None

    @property
    def completed(self) -> bool:
        return self.result is not None


def _warm_up() -> None:
    """Build the process-wide wiring once, before the threads race to build it."""
    from tasks import runtime

    runtime.definitions()
    runtime.sessions()
    runtime.renderer()
    runtime.links()


def _named_at_creation(flow):
    """The flow without its run-name function: a tick names each run when creating it, which
    saves the engine a rename request per run."""
    unnamed = copy.copy(flow)
    unnamed.flow_run_name = None
    return unnamed


def _create_runs(client, flow, defs: Definitions, chosen: list[Obligation], day, force_date):
    """Every run of the tick, created one after another before any starts.

    The server creates a run in a transaction that reads before it writes; on its SQLite such a
    transaction fails ("database is locked", answered 503 and retried by the client after about
    2 s) whenever another run's state change commits in between, which with runs in flight
    happened to most creations and was most of a tick's time. One /flows POST serves them all.
    """
    from prefect.client.schemas.actions import FlowRunCreate
    from prefect.client.schemas.objects import FlowRun, FlowRunPolicy
    from prefect.states import Pending, to_state_create

    from flows.common import run_name_for

    flow_id = client.create_flow(flow)
    runs = []
    for obligation in chosen:
        parameters = {"obligation": obligation.id, "as_of": day, "force_date": force_date}
        create = FlowRunCreate(
            flow_id=flow_id,
            flow_version=flow.version,
            name=run_name_for(obligation.id, day),
            parameters=parameters,
            tags=run_tags(defs, obligation),
            state=to_state_create(Pending()),
            empirical_policy=FlowRunPolicy(
                retries=flow.retries, retry_delay=int(flow.retry_delay_seconds or 0)
            ),
        )
        response = client.request(
            "POST", "/flow_runs/", json=create.model_dump(mode="json", exclude_unset=True)
        )
        run = FlowRun.model_validate(response.json())
        run.parameters = parameters  # the Python values (a date), as the engine expects
        runs.append(run)
    return runs


def _one(flow, what: str, run) -> TickRun:
    from prefect.flow_engine import run_flow

    try:
        state = run_flow(flow, flow_run=run, return_type="state")
    except Exception as error:  # noqa: BLE001 - one obligation's crash must not stop the others
        return TickRun(what, str(run.id), "Crashed", str(error), None)
    result = state.result(raise_on_failure=False) if state.is_completed() else None
    return TickRun(
        what,
        str(run.id),
        state.name or state.type.value,
        state.message or "",
        result if isinstance(result, dict) else None,
    )


def _worker(flow, share: list[tuple[Obligation, object]]) -> list[TickRun]:
    """One thread's share of the runs, on one API client (a client per run costs a TLS
    context and a CSRF token request even on plain HTTP)."""
    from prefect.context import SyncClientContext

    with SyncClientContext.get_or_create():
        return [_one(flow, obligation.id, run) for obligation, run in share]


def run_ticks(
    defs: Definitions,
    obligations: Iterable[Obligation],
    day: dt.date,
    *,
    workers: int = WORKERS,
    force_date: bool = False,
) -> list[TickRun]:
    """One collect run per obligation on the configured server, `workers` at a time; the
    results in the order of `obligations`."""
    from prefect.context import SyncClientContext
    from prefect.settings import temporary_settings

    chosen = list(obligations)
    if not chosen:
        return []
    _warm_up()
    flow = _named_at_creation(collect_flow())
    with SyncClientContext.get_or_create() as context:
        runs = _create_runs(context.client, flow, defs, chosen, day, force_date)
    count = max(1, min(workers, len(chosen)))
    pairs = list(zip(chosen, runs, strict=True))
    shares = [pairs[i::count] for i in range(count)]
    try:
        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            # Threads do not inherit context variables (Prefect's settings live in one): copy.
            context = contextvars.copy_context()
            with ThreadPoolExecutor(max_workers=count) as pool:
                futures = [pool.submit(context.copy().run, _worker, flow, s) for s in shares]
                done = {run.obligation: run for future in futures for run in future.result()}
    except BaseException:
        _cancel_unstarted(runs)
        raise
    return [done[obligation.id] for obligation in chosen]


def collect_flow():
    from flows.collect import collect

    return collect


def _cancel_unstarted(runs) -> None:
    """Runs created but never started (the tick was interrupted) would stay Pending for ever:
    cancel them with a message saying why; a run that started keeps its own state."""
    from prefect import get_client
    from prefect.states import Cancelled

    message = (
        "Lệnh `kehoach tick` đã dừng trước khi lượt chạy này bắt đầu; "
        "việc của lượt này sẽ được làm ở lượt chạy sau."
    )
    try:
        with get_client(sync_client=True) as client:
            for run in runs:
                if client.read_flow_run(run.id).state_type.value == "PENDING":
                    client.set_flow_run_state(run.id, Cancelled(message=message))
    except Exception as error:  # noqa: BLE001 - the original error matters more
        debug_log.debug("could not cancel the tick's unstarted runs: %s", error)


def run_digest(day: dt.date) -> TickRun:
    """The weekly digest's run (flows/digest.py), after all the tick's obligations' runs."""
    from prefect.context import SyncClientContext
    from prefect.settings import temporary_settings

    from flows.deployments import DIGEST_FLOW, RUN_TAG
    from flows.digest import run_name_for, weekly_digest

    flow = _named_at_creation(weekly_digest)
    with (
        temporary_settings(updates={"flows.heartbeat_frequency": None}),
        SyncClientContext.get_or_create() as context,
    ):
        run = context.client.create_flow_run(
            flow, name=run_name_for(day), parameters={"as_of": day}, tags=[RUN_TAG, "digest"]
        )
        return _one(flow, DIGEST_FLOW, run)

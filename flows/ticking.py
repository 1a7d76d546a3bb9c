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
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from engine.definitions.models import Definitions, Obligation
from flows.deployments import run_tags

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


def _one(
    client, flow, defs: Definitions, obligation: Obligation, day: dt.date, force_date: bool
) -> TickRun:
    from prefect.flow_engine import run_flow

    from flows.common import run_name_for

    run = client.create_flow_run(
        flow,
        name=run_name_for(obligation.id, day),
        parameters={"obligation": obligation.id, "as_of": day, "force_date": force_date},
        tags=run_tags(defs, obligation),
    )
    try:
        state = run_flow(flow, flow_run=run, return_type="state")
    except Exception as error:  # noqa: BLE001 - one obligation's crash must not stop the others
        return TickRun(obligation.id, str(run.id), "Crashed", str(error), None)
    result = state.result(raise_on_failure=False) if state.is_completed() else None
    return TickRun(
        obligation.id,
        str(run.id),
        state.name or state.type.value,
        state.message or "",
        result if isinstance(result, dict) else None,
    )


def _worker(
    defs: Definitions, share: list[Obligation], day: dt.date, force_date: bool
) -> list[TickRun]:
    """One thread's share of the runs, on one API client (a client per run costs a TLS
    context and a CSRF token request even on plain HTTP)."""
    from prefect.context import SyncClientContext

    from flows.collect import collect

    flow = _named_at_creation(collect)
    with SyncClientContext.get_or_create() as context:
        return [
            _one(context.client, flow, defs, obligation, day, force_date) for obligation in share
        ]


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
    from prefect.settings import temporary_settings

    chosen = list(obligations)
    if not chosen:
        return []
    _warm_up()
    count = max(1, min(workers, len(chosen)))
    shares = [chosen[i::count] for i in range(count)]
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        # Threads do not inherit context variables (Prefect's settings live in one): copy them.
        context = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=count) as pool:
            futures = [
                pool.submit(context.copy().run, _worker, defs, share, day, force_date)
                for share in shares
            ]
            done = {run.obligation: run for future in futures for run in future.result()}
    return [done[obligation.id] for obligation in chosen]

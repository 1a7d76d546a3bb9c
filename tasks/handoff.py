"""Hand-off: a closed cycle starts its downstream deployment, exactly once per version.

`run_deployment` with an idempotency key made of the cycle and its hand-off version is safe to
retry (a crash after starting but before recording starts nothing new); the ledger's
compare-and-set then records the version so later ticks stop trying. The event is for
visibility and optional automations, not the required path.
"""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.deployments import run_deployment
from prefect.events import emit_event

from engine.decisions import HandOff
from engine.ledger import cycles as ledger_cycles
from tasks import runtime
from tasks.oplog import run_log


def handoff_parameters(
    downstream_flow: str, downstream: str, handoff: HandOff, as_of: dt.date
) -> dict[str, object]:
    """The downstream run's parameters; a collect flow only needs its obligation and date."""
    if downstream_flow == "collect":
        return {"obligation": downstream, "as_of": as_of.isoformat()}
    return {
        "obligation": downstream,
        "period": handoff.period_key,
        "handoff_version": handoff.version,
    }


@task(name="hand-off", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def hand_off(obligation_id: str, handoffs: list[HandOff], as_of: dt.date) -> list[str]:
    logger = run_log()
    defs = runtime.definitions()
    started = []
    for handoff in handoffs:
        downstream = defs.obligations[handoff.downstream]
        name = f"{downstream.flow}/{downstream.id}"
        key = f"kehoach-handoff:{handoff.cycle_id}:{handoff.version}"
        try:
            run = run_deployment(
                name,
                parameters=handoff_parameters(downstream.flow, downstream.id, handoff, as_of),
                timeout=0,
                idempotency_key=key,
                # A separate run, not a subflow: the downstream may suspend for days (approval),
                # and Prefect refuses to suspend a subflow.
                as_subflow=False,
                tags=["kehoach", f"handoff:{obligation_id}"],
            )
        except Exception as error:  # noqa: BLE001 - any failure leaves the hand-off pending
            logger.error(
                "Chưa bàn giao được kỳ %s của %s cho %s (sẽ thử lại ở lượt chạy sau): %s",
                handoff.period_key,
                obligation_id,
                name,
                error,
            )
            continue
        with runtime.sessions()() as session:
            first = ledger_cycles.mark_handed_off(
                session, handoff.cycle_id, handoff.version, before_close=handoff.early
            )
        if first:
            emit_event(
                event="kehoach.cycle.closed",
                resource={
                    "prefect.resource.id": f"kehoach.cycle.{obligation_id}.{handoff.period_key}",
                    "prefect.resource.name": f"{obligation_id} · {handoff.period_key}",
                },
                payload={
                    "obligation": obligation_id,
                    "period": handoff.period_key,
                    "version": handoff.version,
                    "downstream": downstream.id,
                    "flow_run_id": str(run.id),
                },
            )
        logger.info(
            "Đã bàn giao kỳ %s của %s (lần %d) cho %s: lượt chạy %s.",
            handoff.period_key,
            obligation_id,
            handoff.version,
            name,
            run.name,
        )
        started.append(str(run.id))
    return started

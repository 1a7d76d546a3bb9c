"""The collect flow: open due cycles, chase by email, close, hand off, publish the status.

A daily reconciliation: it reads what the ledger holds and does only the difference, so a run
that finds nothing new does nothing and running it twice sends nothing twice.
"""

# No `from __future__ import annotations` here: Prefect builds the parameter model from the
# annotations when a served deployment runs, and string annotations break that.
import datetime as dt

from prefect import flow, get_run_logger, runtime
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from engine.calendar import today_in_vietnam
from engine.periods import period_containing
from flows.zombies import note_process
from tasks import collect as collect_tasks
from tasks import runtime as wiring
from tasks.handoff import hand_off


def _as_of(value: dt.date | str | None) -> dt.date:
    if value is None:
        return today_in_vietnam()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def run_name() -> str:
    """'{obligation} · {period}': the period the run's date falls in, else the date itself."""
    parameters = runtime.flow_run.parameters
    obligation_id = parameters.get("obligation", "?")
    as_of = _as_of(parameters.get("as_of"))
    obligation = wiring.definitions().obligations.get(obligation_id)
    period = None
    if obligation is not None:
        try:
            period = period_containing(obligation.schedule, obligation.window, as_of)
        except ValueError:
            period = None
    return f"{obligation_id} · {period.key if period else as_of.isoformat()}"


NOTHING_DONE: dict[str, object] = {
    "opened": [],
    "enqueued": 0,
    "sent": 0,
    "deferred": 0,
    "undelivered": 0,
    "closed": [],
    "handed_off": [],
    "artifacts": [],
}


@flow(
    name="collect",
    flow_run_name=run_name,
    description="Mở kỳ đến hạn, gửi yêu cầu, nhắc và đôn đốc qua thư, đóng kỳ và bàn giao kết quả.",
    task_runner=ThreadPoolTaskRunner(max_workers=2),
    retries=0,
)
def collect(
    obligation: str, as_of: dt.date | None = None, force_date: bool = False
) -> dict[str, object]:
    day = _as_of(as_of)
    note_process()  # so that a run whose process dies is found and turned Crashed
    if obligation not in wiring.definitions().obligations:
        raise ValueError(f"unknown obligation {obligation!r}")
    # Runs fire every day; only the legal calendar's working days (make-up Saturdays included)
    # do anything, and never a date earlier than one already run (unless forced).
    stop = collect_tasks.check_run_date(obligation, day, force_date)
    if stop is not None:
        return {**NOTHING_DONE, **stop}
    opened = collect_tasks.open_due_cycles(obligation, day)
    outcome = collect_tasks.enqueue_and_close(obligation, day)
    collect_tasks.queue_weekly_digest(day)
    delivery = collect_tasks.drain_outbox()
    # Published before the hand-off: a cycle closing today still shows its final table.
    artifacts = collect_tasks.publish_status(obligation, day)
    started = hand_off(obligation, outcome.handoffs, day) if outcome.handoffs else []
    get_run_logger().info(
        "%s on %s: opened %s, queued %d, sent %s, closed %s, handed off %d",
        obligation,
        day,
        opened or "none",
        outcome.enqueued,
        delivery["sent"],
        outcome.closed or "none",
        len(started),
    )
    result = {
        "opened": opened,
        "enqueued": outcome.enqueued,
        "sent": delivery["sent"],
        "deferred": delivery["deferred"],
        "undelivered": len(delivery["gave_up"]),
        "closed": outcome.closed,
        "handed_off": started,
        "artifacts": artifacts,
    }
    undelivered = collect_tasks.undelivered_message(delivery)
    if undelivered:
        # A Failed run is what the failure automation (flows/notify.py) reacts to.
        return Failed(message=undelivered)
    return result

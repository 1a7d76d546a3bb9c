"""The collect flow: open due cycles, chase by email, close, hand off, publish the status.

A daily reconciliation: it reads what the ledger holds and does only the difference, so a run
that finds nothing new does nothing and running it twice sends nothing twice.
"""

# No `from __future__ import annotations` here: Prefect builds the parameter model from the
# annotations when a served deployment runs, and string annotations break that.
import datetime as dt

from prefect import flow
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.common import as_of, known_obligation, run_name, run_name_for, vietnamese_failures
from flows.zombies import note_process
from tasks import collect as collect_tasks
from tasks.handoff import hand_off
from tasks.oplog import collect_summary, run_log

__all__ = ["collect", "run_name", "run_name_for"]


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
    # Nothing reads a collect run's result from storage (the tick reads it in memory): saying so,
    # and naming the local storage, spares each run two reads of the server's storage setting.
    persist_result=False,
    result_storage=PREFECT_LOCAL_STORAGE_PATH.value(),
    # The run checks its own parameters (flows.common.as_of): Prefect's validation would fail
    # an impossible date such as 2026-02-30 with an English message before the run starts.
    validate_parameters=False,
)
@vietnamese_failures
def collect(
    obligation: str, as_of: dt.date | None = None, force_date: bool = False
) -> dict[str, object]:
    day = _day(as_of)
    note_process()  # so that a run whose process dies is found and turned Crashed
    item = known_obligation(obligation)
    # Runs fire every day; only the legal calendar's working days (make-up Saturdays included)
    # do anything, and never a date earlier than one already run (unless forced).
    stop = collect_tasks.check_run_date(obligation, day, force_date)
    if stop is not None:
        return {**NOTHING_DONE, **stop}
    outcome = collect_tasks.plan_letters(obligation, day)
    opened = outcome.opened
    delivery = collect_tasks.drain_outbox()
    # Published before the hand-off: a cycle closing today still shows its final table.
    artifacts = collect_tasks.publish_status(obligation, day)
    started = hand_off(obligation, outcome.handoffs, day) if outcome.handoffs else []
    run_log().info(
        "%s", collect_summary(item, day, opened, outcome, delivery["sent"], len(started))
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


def _day(value: dt.date | str | None) -> dt.date:
    return as_of(value)

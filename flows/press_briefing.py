"""The monthly press briefing (plan clause III.2): ask the participants for items and chase them,
send the pack with the invitations two working days before, then wait in the Prefect UI for the
minutes and turn each open question into a follow-up assignment chased like any other.

A daily reconciliation like the collect flow. The wait for the minutes is a suspension: the run
frees its worker, and only one run waits for a given briefing (the ledger notes which).
"""

# No `from __future__ import annotations`: the flow's parameter types must be real objects, as
# Prefect validates parameters in a run process that may rebuild the function without this
# module's globals.
import datetime as dt

from prefect import flow, get_run_logger, runtime
from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from engine.calendar import today_in_vietnam
from tasks import briefing as steps
from tasks.collect import check_run_date, drain_outbox, undelivered_message
from tasks.consolidation import drain_documents


def _as_of(value: dt.date | str | None) -> dt.date:
    if value is None:
        return today_in_vietnam()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def run_name() -> str:
    parameters = runtime.flow_run.parameters
    return f"{parameters.get('obligation', '?')} · {_as_of(parameters.get('as_of')).isoformat()}"


def _deployment_run() -> str | None:
    """This run's id when it runs from a deployment and not as a linked subflow (only those
    can be suspended)."""
    context = FlowRunContext.get()
    run = context.flow_run if context else None
    if run and run.deployment_id and run.parent_task_run_id is None:
        return str(run.id)
    return None


@flow(
    name="press-briefing",
    flow_run_name=run_name,
    description="Hội nghị giao ban báo chí hằng tháng: thu nội dung, gửi tài liệu và giấy mời, "
    "nhập biên bản, giao và đôn đốc việc trả lời câu hỏi của báo chí.",
    task_runner=ThreadPoolTaskRunner(max_workers=2),
    retries=0,
)
def press_briefing(
    obligation: str, as_of: dt.date | None = None, force_date: bool = False
) -> dict[str, object]:
    logger = get_run_logger()
    day = _as_of(as_of)
    # As the collect flow: only working days of the legal calendar, and dates never go back.
    stop = check_run_date(obligation, day, force_date)
    if stop is not None:
        return {"chased": {}, "packs": [], "minutes": None, **stop}
    chased = steps.chase(obligation, day)
    packs = steps.send_packs(obligation, day)
    deliveries = [drain_outbox()]
    drain_documents()
    steps.publish(obligation, day)
    recorded = None
    run_id = _deployment_run()
    briefing = steps.minutes_due(obligation, day, run_id or "") if run_id else None
    if briefing is not None:
        form = steps.minutes_form(obligation, briefing, day)
        decision = suspend_flow_run(
            wait_for_input=form, key=f"bien-ban-{briefing.cycle.period_key}"
        )
        minutes = steps.minutes_of(decision, briefing, day)
        follow_ups = steps.record_minutes(obligation, day, briefing, minutes)
        recorded = briefing.cycle.period_key
        deliveries.append(drain_outbox())
        steps.publish(obligation, day)
        logger.info("Minutes of %s recorded, %d follow-ups", recorded, follow_ups)
    elif run_id is None:
        logger.info("Not a deployment run: minutes are not awaited by this run")
    undelivered = undelivered_message({"gave_up": [g for d in deliveries for g in d["gave_up"]]})
    if undelivered:
        return Failed(message=undelivered)  # seen by the failure automation
    return {"chased": chased, "packs": packs, "minutes": recorded}

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

from prefect import flow
from prefect.context import FlowRunContext
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.common import as_of as _as_of
from flows.common import known_obligation, run_name, vietnamese_failures
from flows.suspend import suspend_for_input
from tasks import briefing as steps
from tasks.collect import check_run_date, drain_outbox, undelivered_message
from tasks.consolidation import drain_documents
from tasks.oplog import run_log


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
    # The run checks its own parameters (flows.common.as_of): Prefect's validation would fail
    # an impossible date such as 2026-02-30 with an English message before the run starts.
    validate_parameters=False,
)
@vietnamese_failures
def press_briefing(
    obligation: str, as_of: dt.date | None = None, force_date: bool = False
) -> dict[str, object]:
    day = _as_of(as_of)
    known_obligation(obligation)
    logger = run_log()
    # As the collect flow: only working days of the legal calendar, and dates never go back.
    stop = check_run_date(obligation, day, force_date)
    if stop is not None:
        return {"chased": {}, "packs": [], "minutes": None, **stop}
    # Before the chase, which closes the briefing's cycle once its time is up.
    steps.report_overdue_wait(obligation, day)
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
        decision = suspend_for_input(
            form,
            key=f"bien-ban-{briefing.cycle.period_key}",
            message=steps.waiting_message(obligation, briefing, day),
        )
        minutes = steps.minutes_of(decision, briefing, day)
        follow_ups = steps.record_minutes(obligation, day, briefing, minutes)
        recorded = briefing.cycle.period_key
        deliveries.append(drain_outbox())
        steps.publish(obligation, day)
        logger.info(
            "Đã nhập biên bản hội nghị kỳ %s; giao %d việc trả lời báo chí.", recorded, follow_ups
        )
    elif run_id is None:
        logger.info(
            "Lượt chạy này không khởi chạy từ triển khai nên không chờ nhập biên bản hội nghị."
        )
    undelivered = undelivered_message({"gave_up": [g for d in deliveries for g in d["gave_up"]]})
    if undelivered:
        return Failed(message=undelivered)  # seen by the failure automation
    return {"chased": chased, "packs": packs, "minutes": recorded}

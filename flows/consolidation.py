"""The year-end consolidation: draft the province's report from the ledger, wait for the lead
body's approval in the Prefect UI, then send the signed report and archive it.

Started by the hand-off when the annual report's cycle closes (again, as an amended and
numbered version, when a late report arrives), or by hand. The wait is a suspension: no worker
is held while the lead body reads, and the run starts again from the top when resumed, which is
safe because every step before the wait is a reconciliation (drafts kept per round, letters
keyed in the outbox) and earlier decisions are replayed from their stored input.
"""

from __future__ import annotations

from prefect import flow, runtime
from prefect.context import FlowRunContext
from prefect.deployments import run_deployment
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.suspend import suspend_for_input
from tasks import consolidation as steps
from tasks.collect import drain_outbox, undelivered_message
from tasks.oplog import run_log


def run_name() -> str:
    parameters = runtime.flow_run.parameters
    version = int(parameters.get("handoff_version") or 0) + 1
    return f"{parameters.get('obligation', '?')} · {parameters.get('period', '?')} · bản {version}"


def review_url() -> str:
    url = runtime.flow_run.ui_url
    return url if url and url.startswith("http") else "http://127.0.0.1:4200/runs"


def _deployed() -> bool:
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def _relay_if_linked(obligation: str, period: str, handoff_version: int) -> str | None:
    """A run started from inside another run (run_deployment's default links it as a subflow)
    cannot be suspended; start the same deployment detached, once, and let that one wait."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None or context.flow_run.parent_task_run_id is None:
        return None
    run = run_deployment(
        context.flow_run.deployment_id,
        parameters={"obligation": obligation, "period": period, "handoff_version": handoff_version},
        timeout=0,
        as_subflow=False,
        idempotency_key=f"kehoach-consolidation:{obligation}:{period}:{handoff_version}",
        tags=list(context.flow_run.tags),
    )
    return str(run.id)


@flow(
    name="consolidation",
    flow_run_name=run_name,
    description="Tổng hợp báo cáo năm của các cơ quan, chờ cơ quan chủ trì phê duyệt, gửi báo cáo.",
    task_runner=ThreadPoolTaskRunner(max_workers=2),
    retries=0,
)
def consolidation(obligation: str, period: str, handoff_version: int = 0) -> dict[str, object]:
    logger = run_log()
    job = steps.prepare(obligation, period, handoff_version)
    if job.skip:
        logger.info(
            "«%s» kỳ %s: không có việc gì để làm, %s", job.obligation.title, period, job.skip
        )
        return {"skipped": job.skip}
    # The job's version counts every source's late reports: the detached run takes it as is.
    relayed = _relay_if_linked(obligation, period, job.version - 1) if _deployed() else None
    if relayed:
        logger.info(
            "Lượt chạy này là luồng con nên không chờ phê duyệt được: tiếp tục ở lượt chạy %s.",
            relayed,
        )
        return {"relayed_to": relayed}
    if not _deployed():
        raise RuntimeError(
            "Luồng tổng hợp chờ phê duyệt nên phải chạy từ triển khai của nó "
            f"(consolidation/{obligation}); muốn có bản dự thảo không cần phê duyệt, dùng "
            "`kehoach report annual`."
        )
    round_, comment = 1, ""
    while True:
        docs = steps.draft(job, round_)
        steps.send_draft(job, docs, round_, comment, review_url())
        steps.drain_documents()
        decision = suspend_for_input(
            steps.approval_form(job, docs, round_),
            key=f"phe-duyet-v{job.version}-{round_}",
            message=steps.waiting_message(job, round_),
        )
        if decision.quyet_dinh == steps.APPROVE:
            break
        comment = str(decision.y_kien).strip() or "(không ghi ý kiến)"
        steps.note_return(job, round_, comment, str(decision.nguoi_duyet))
        round_ += 1
    signing, approver = steps.signing_of(decision)
    final = steps.finalize(job, signing, approver)
    delivered = steps.drain_documents()
    letters = drain_outbox()
    logger.info(
        "«%s» kỳ %s bản %d đã được phê duyệt sau %d lần trình; đã gửi %s thư kèm văn bản.",
        job.obligation.title,
        period,
        job.version,
        round_,
        delivered["sent"],
    )
    undelivered = undelivered_message(letters)
    if undelivered:
        return Failed(message=undelivered)  # seen by the failure automation
    return {
        "version": job.version,
        "rounds": round_,
        "docx": str(final.docx),
        "reported": final.bodies_reported,
        "expected": final.bodies_expected,
    }

"""Tell the operators by email when a run failed or crashed.

A Prefect automation (created by `kehoach up` and `kehoach deployments automation`) starts this
flow for every Failed or Crashed run tagged `kehoach`. The email is an operators' alert
(notifications.operators) keyed by the failed run, so a repeated trigger sends nothing twice.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from notifications.operators import Alert, OperatorSettings, alert_operators
from tasks import runtime
from tasks.collect import drain_outbox
from tasks.oplog import run_log

KIND = "run-failed"
STATE_LABELS = {
    "FAILED": "thất bại",
    "CRASHED": "gặp sự cố (tiến trình dừng đột ngột)",
}
_RUN_ID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.I)


def parse_run_id(value: str) -> uuid.UUID:
    """Accept a bare id or an event resource id such as 'prefect.flow-run.<uuid>'."""
    found = _RUN_ID.search(value.strip())
    if found is None:
        raise ValueError(f"not a flow run id: {value!r}")
    return uuid.UUID(found.group(1))


@dataclass(frozen=True)
class FailedRun:
    id: str
    name: str
    flow: str
    deployment: str
    state_type: str
    message: str
    started_at: object
    ended_at: object
    obligation: str
    url: str | None


@task(name="read-failed-run", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def read_failed_run(run_id: uuid.UUID) -> FailedRun:
    from prefect import get_client
    from prefect.utilities.urls import url_for

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        flow_name = client.read_flow(run.flow_id).name
        deployment = ""
        if run.deployment_id is not None:
            deployment = f"{flow_name}/{client.read_deployment(run.deployment_id).name}"
    obligation_id = str(run.parameters.get("obligation") or "")
    try:
        obligation = runtime.definitions().obligations.get(obligation_id)
    except runtime.DefinitionsInvalid:
        # Broken definitions may be the very reason the run failed: still tell someone.
        obligation = None
    return FailedRun(
        id=str(run.id),
        name=run.name,
        flow=flow_name,
        deployment=deployment,
        state_type=run.state.type.value if run.state else "FAILED",
        message=(run.state.message or "").strip() if run.state else "",
        started_at=run.start_time,
        ended_at=run.end_time or (run.state.timestamp if run.state else None),
        obligation=f"{obligation.title} ({obligation_id})" if obligation else obligation_id,
        url=url_for("flow-run", obj_id=run.id),
    )


def letter_context(failed: FailedRun, signature: str) -> dict[str, object]:
    """The `run-failed` template's context (addressee, signature, run)."""
    return {
        "addressee": {"name": "Cán bộ vận hành hệ thống"},
        "signature": {"name": signature, "contact_email": None, "contact_phone": None},
        "run": {
            "name": failed.name,
            "flow": failed.flow,
            "deployment": failed.deployment,
            "state_label": STATE_LABELS.get(failed.state_type, "không thành công"),
            "message": failed.message,
            "started_at": failed.started_at,
            "ended_at": failed.ended_at,
            "obligation": failed.obligation,
            "url": failed.url,
        },
    }


@task(name="queue-operator-email", cache_policy=NO_CACHE)
def queue_operator_email(failed: FailedRun, recipients: list[str]) -> int:
    """One letter per failed run (the alert key is the run's id): a second trigger queues
    nothing."""
    smtp = runtime.smtp_settings()
    context = letter_context(failed, smtp.mail_from_name)
    alert = Alert(
        kind=KIND,
        key=failed.id,
        subject=f"Lượt chạy {failed.name} {context['run']['state_label']}",
        text=failed.message,
        url=failed.url,
        template=KIND,
        context={"run": context["run"]},
    )
    return int(
        alert_operators(
            runtime.sessions(),
            alert,
            renderer=runtime.renderer(),
            mail_domain=runtime.mail_domain(),
            signature=smtp.mail_from_name,
            recipients=recipients,
        )
    )


def _run_name() -> str:
    from prefect.runtime import flow_run

    value = str(flow_run.parameters.get("flow_run", ""))
    try:
        return f"báo lỗi · {parse_run_id(value)}"
    except ValueError:
        return f"báo lỗi · {value[:60]}"


@flow(
    name="notify-operators",
    flow_run_name=_run_name,
    description="Gửi thư báo cán bộ vận hành khi một lượt chạy thất bại hoặc gặp sự cố.",
    retries=1,
    retry_delay_seconds=30,
)
def notify_operators(flow_run: str, event: str = "") -> dict[str, object]:
    logger = run_log()
    recipients = OperatorSettings().addresses
    if not recipients:
        logger.warning(
            "Chưa đặt KEHOACH_OPERATOR_EMAILS: không có ai để báo về lượt chạy %s.", flow_run
        )
        return {"queued": 0, "sent": 0}
    failed = read_failed_run(parse_run_id(flow_run))
    queued = queue_operator_email(failed, recipients)
    delivery = drain_outbox()
    label = STATE_LABELS.get(failed.state_type, "không thành công")
    if queued:
        logger.info(
            "Lượt chạy %s %s: đã báo %s (đã gửi %s thư).",
            failed.name,
            label,
            ", ".join(recipients),
            delivery["sent"],
        )
    else:
        logger.info("Lượt chạy %s %s: đã báo trước đó, không gửi lại.", failed.name, label)
    return {"queued": queued, "sent": delivery["sent"]}

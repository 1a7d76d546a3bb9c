"""The Prefect automation that emails the operators when a run of ours fails or crashes.

Created (or brought up to date) by `kehoach up` and by `kehoach deployments automation` after
`prefect deploy --all`; identified by its name, so running either twice leaves one automation.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from uuid import UUID

from flows.deployments import NOTIFY_FLOW, RUN_TAG

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.events.schemas.automations import AutomationCore

AUTOMATION_NAME = "kehoach-run-failed"
TRIGGER_EVENTS = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed")


def failure_automation(notify_deployment_id: UUID) -> AutomationCore:
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=AUTOMATION_NAME,
        description=(
            f"Khi một lượt chạy gắn thẻ '{RUN_TAG}' thất bại hoặc gặp sự cố, luồng "
            f"{NOTIFY_FLOW} gửi thư báo cán bộ vận hành (KEHOACH_OPERATOR_EMAILS)."
        ),
        enabled=True,
        trigger=EventTrigger(
            expect=set(TRIGGER_EVENTS),
            match_related={
                "prefect.resource.role": "tag",
                "prefect.resource.id": f"prefect.tag.{RUN_TAG}",
            },
            posture=Posture.Reactive,
            threshold=1,
            within=dt.timedelta(0),
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=notify_deployment_id,
                # Rendered by the server from the triggering event.
                parameters={"flow_run": "{{ event.resource.id }}", "event": "{{ event.event }}"},
            )
        ],
    )


async def ensure_failure_automation(client: PrefectClient, notify_deployment_id: UUID) -> UUID:
    """Create the automation, or update the one of that name (and drop duplicates)."""
    wanted = failure_automation(notify_deployment_id)
    existing = await client.read_automations_by_name(AUTOMATION_NAME)
    if not existing:
        return await client.create_automation(wanted)
    first, *extra = existing
    await client.update_automation(first.id, wanted)
    for duplicate in extra:
        await client.delete_automation(duplicate.id)
    return first.id


async def ensure_for_deployment(client: PrefectClient) -> UUID:
    """The deploy path: find the notify deployment by name, then ensure the automation."""
    deployment = await client.read_deployment_by_name(f"{NOTIFY_FLOW}/{NOTIFY_FLOW}")
    return await ensure_failure_automation(client, deployment.id)


async def apply_parameter_schemas(client: PrefectClient, specs: list) -> int:
    """Give deployments made by `prefect deploy` our parameter schemas (it derives its own
    from the flow's signature and ignores one in prefect.yaml); returns how many were updated."""
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import ObjectNotFound

    updated = 0
    for spec in specs:
        if not spec.parameter_schema:
            continue
        try:
            deployment = await client.read_deployment_by_name(spec.full_name)
        except ObjectNotFound:
            continue
        await client.update_deployment(
            deployment.id,
            DeploymentUpdate(
                parameter_openapi_schema=dict(spec.parameter_schema),
                enforce_parameter_schema=True,
            ),
        )
        updated += 1
    return updated

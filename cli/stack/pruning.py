"""Deployments whose obligation left the definitions: Prefect keeps them until we delete them."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from flows.deployments import RUN_TAG

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient


async def remove_undefined(client: PrefectClient, keep: set[str]) -> list[str]:
    """Delete our deployments (tags `kehoach` and `obligation:*`) whose full name is not in
    `keep`; returns the deleted names. Deployments of other projects are never touched."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags
    from prefect.exceptions import ObjectNotFound

    ours = await client.read_deployments(
        deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[RUN_TAG]))
    )
    flow_names: dict[object, str] = {}
    removed = []
    for deployment in ours:
        if not any(tag.startswith("obligation:") for tag in deployment.tags):
            continue
        if deployment.flow_id not in flow_names:
            flow_names[deployment.flow_id] = (await client.read_flow(deployment.flow_id)).name
        name = f"{flow_names[deployment.flow_id]}/{deployment.name}"
        if name in keep:
            continue
        with contextlib.suppress(ObjectNotFound):
            await client.delete_deployment(deployment.id)
        removed.append(name)
    return sorted(removed)

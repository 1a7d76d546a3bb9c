"""One Prefect deployment per obligation, built from the definitions.

The same specs feed `prefect.serve` (the embedded stack) and the generated prefect.yaml (work
pools): name = obligation id, so the hand-off's `run_deployment("{flow}/{obligation}")` finds
it; schedule, tags and description come from the YAML.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.definitions.models import Definitions, Obligation
from flows.registry import FLOWS, flow_for

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

# Every day: the run itself does nothing on a day off of the legal calendar, so make-up
# Saturdays (10/01/2026, 22/08/2026) are worked without a schedule per year.
DEFAULT_CRON = "30 7 * * *"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
WORK_POOL = "kehoach"
# Every run of ours carries this tag; the failure automation listens for it.
RUN_TAG = "kehoach"
NOTIFY_FLOW = "notify-operators"
NOTIFY_ENTRYPOINT = "flows.notify:notify_operators"
# Not RUN_TAG: a failing notification must not notify about itself in a loop.
OPS_TAG = "kehoach-ops"


def run_tags(defs: Definitions, obligation: Obligation) -> list[str]:
    """Runs are tagged by obligation, body group and plan clause, so operators can filter."""
    tags = [RUN_TAG, f"obligation:{obligation.id}"]
    tags += [f"group:{g}" for g in obligation.responsible.groups]
    tags += [f"role:{r}" for r in obligation.responsible.roles]
    tags += [f"clause:{c}" for c in obligation.clauses]
    return tags


@dataclass(frozen=True)
class DeploymentSpec:
    """What Prefect needs to know about one deployment, independent of how it is run."""

    flow: str
    name: str
    entrypoint: str
    description: str
    tags: tuple[str, ...]
    parameters: dict[str, object]
    cron: str | None
    timezone: str

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"

    @property
    def obligation(self) -> str | None:
        return self.parameters.get("obligation")  # type: ignore[return-value]


@dataclass
class DeploymentSet:
    """The specs for a definitions version, and the obligations left out (with the reason)."""

    specs: list[DeploymentSpec]
    skipped: list[str] = field(default_factory=list)

    def names(self) -> set[str]:
        return {s.full_name for s in self.specs}


def file_entrypoint(target: str) -> str:
    """'flows.collect:collect' → 'flows/collect.py:collect' (prefect.yaml wants file paths)."""
    module, attribute = target.split(":")
    return f"{module.replace('.', '/')}.py:{attribute}"


def _runs_on_obligation_alone(flow: Flow) -> bool:
    """A flow whose only required parameter is the obligation can run on a schedule; the
    others (a consolidation needs its period) run only when a hand-off starts them."""
    required = {
        name
        for name, parameter in inspect.signature(flow.fn).parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }
    return required <= {"obligation"}


def _description(obligation: Obligation, scheduled: bool) -> str:
    when = "" if scheduled else "\n\nChạy khi kỳ của nghĩa vụ đứng trước được bàn giao."
    return f"{obligation.title}\n\n{obligation.description.strip()}{when}"


def obligation_spec(defs: Definitions, obligation: Obligation, flow: Flow) -> DeploymentSpec:
    explicit = obligation.deployment
    if explicit is not None:
        cron, timezone = explicit.cron, explicit.timezone
    elif _runs_on_obligation_alone(flow):
        cron, timezone = DEFAULT_CRON, DEFAULT_TIMEZONE
    else:
        cron, timezone = None, DEFAULT_TIMEZONE
    return DeploymentSpec(
        flow=obligation.flow,
        name=obligation.id,
        entrypoint=file_entrypoint(FLOWS[obligation.flow]),
        description=_description(obligation, cron is not None),
        tags=tuple(run_tags(defs, obligation)),
        parameters={"obligation": obligation.id},
        cron=cron,
        timezone=timezone,
    )


def notify_spec() -> DeploymentSpec:
    return DeploymentSpec(
        flow=NOTIFY_FLOW,
        name=NOTIFY_FLOW,
        entrypoint=file_entrypoint(NOTIFY_ENTRYPOINT),
        description=(
            "Báo cho cán bộ vận hành (KEHOACH_OPERATOR_EMAILS) khi một lượt chạy thất bại hoặc "
            "gặp sự cố; do tự động hóa 'kehoach-run-failed' khởi chạy."
        ),
        tags=(OPS_TAG,),
        parameters={},
        cron=None,
        timezone=DEFAULT_TIMEZONE,
    )


def _load(flow_name: str) -> Flow:
    if flow_name == NOTIFY_FLOW:
        from flows.notify import notify_operators

        return notify_operators
    return flow_for(flow_name)


def deployment_set(defs: Definitions) -> DeploymentSet:
    """One spec per obligation (sorted by name) plus the operators' notification."""
    result = DeploymentSet(specs=[])
    flows: dict[str, Flow | None] = {}
    for obligation in sorted(defs.obligations.values(), key=lambda o: o.id):
        if obligation.flow not in flows:
            flows[obligation.flow] = _import_flow(obligation.flow, result.skipped)
        flow = flows[obligation.flow]
        if flow is None:
            result.skipped.append(
                f"{obligation.id}: chưa có luồng '{obligation.flow}', bỏ qua nghĩa vụ này"
            )
            continue
        result.specs.append(obligation_spec(defs, obligation, flow))
    result.specs.append(notify_spec())
    return result


def _import_flow(name: str, problems: list[str]) -> Flow | None:
    try:
        flow = _load(name)
    except ImportError as error:
        problems.append(f"luồng '{name}' ({FLOWS[name]}) chưa nhập được: {error}")
        return None
    if flow.name != name:
        # The hand-off looks deployments up as "{flow}/{obligation}": names must agree.
        problems.append(f"luồng {FLOWS[name]} mang tên '{flow.name}', cần đúng tên '{name}'")
        return None
    return flow


def runner_deployments(specs: Iterable[DeploymentSpec]) -> list[RunnerDeployment]:
    """Prefect RunnerDeployments for `prefect.serve` (module-path entrypoints: cwd-free)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    deployments = []
    for spec in specs:
        schedules = [Cron(spec.cron, timezone=spec.timezone)] if spec.cron else []
        deployments.append(
            _load(spec.flow).to_deployment(
                name=spec.name,
                schedules=schedules,
                parameters=dict(spec.parameters),
                tags=list(spec.tags),
                description=spec.description,
                paused=False,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments

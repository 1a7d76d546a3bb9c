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
INTAKE_FLOW = "intake"
INTAKE_ENTRYPOINT = "flows.intake:intake"
DIGEST_FLOW = "weekly-digest"
DIGEST_ENTRYPOINT = "flows.digest:weekly_digest"
# Half an hour after DEFAULT_CRON: the digest lists what the morning's collect runs opened.
DIGEST_CRON = "0 8 * * *"


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
    # The parameter schema the server validates a run's parameters against (see
    # parameter_schema): Vietnamese titles, the obligation a choice among the definitions'.
    parameter_schema: dict = field(default_factory=dict, compare=False)

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
        parameter_schema=parameter_schema(flow, sorted(defs.obligations)),
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
        parameter_schema=parameter_schema(_load(NOTIFY_FLOW), []),
    )


def intake_spec(every_minutes: int) -> DeploymentSpec:
    """Reading the province's mailbox every few minutes (KEHOACH_INTAKE_EVERY_MINUTES)."""
    minutes = max(1, min(every_minutes, 59))
    return DeploymentSpec(
        flow=INTAKE_FLOW,
        name=INTAKE_FLOW,
        entrypoint=file_entrypoint(INTAKE_ENTRYPOINT),
        description=(
            "Đọc hộp thư nhận báo cáo (KEHOACH_REPLY_TO) mỗi "
            f"{minutes} phút: ghi nhận thư trả lời kèm báo cáo và gửi thư xác nhận."
        ),
        tags=(RUN_TAG, "intake"),
        parameters={},
        cron=f"*/{minutes} * * * *",
        timezone=DEFAULT_TIMEZONE,
    )


def digest_spec() -> DeploymentSpec:
    """The weekly digest, daily after the collect runs (it does nothing but on the week's
    first working day)."""
    return DeploymentSpec(
        flow=DIGEST_FLOW,
        name=DIGEST_FLOW,
        entrypoint=file_entrypoint(DIGEST_ENTRYPOINT),
        description=(
            "Thư tổng hợp tuần: ngày làm việc đầu tuần, sau các lượt thu thập buổi sáng, gửi mỗi "
            "cơ quan nhận báo cáo danh sách cơ quan còn nợ báo cáo."
        ),
        tags=(RUN_TAG, "digest"),
        parameters={},
        cron=DIGEST_CRON,
        timezone=DEFAULT_TIMEZONE,
        parameter_schema=parameter_schema(_load(DIGEST_FLOW), []),
    )


def _load(flow_name: str) -> Flow:
    if flow_name == DIGEST_FLOW:
        from flows.digest import weekly_digest

        return weekly_digest
    if flow_name == INTAKE_FLOW:
        from flows.intake import intake

        return intake
    if flow_name == NOTIFY_FLOW:
        from flows.notify import notify_operators

        return notify_operators
    return flow_for(flow_name)


def deployment_set(defs: Definitions) -> DeploymentSet:
    """One spec per obligation (sorted by name), the operators' notification, the weekly
    digest, and the reply intake when the province has an intake mailbox."""
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
    result.specs.append(digest_spec())
    if intake_every_minutes():
        result.specs.append(intake_spec(intake_every_minutes()))
    return result


def intake_every_minutes() -> int:
    """0 when replies are not taken (no KEHOACH_REPLY_TO): no intake deployment then."""
    from engine.settings import get_settings

    settings = get_settings()
    return settings.intake_every_minutes if settings.reply_to else 0


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
    from prefect.utilities.callables import ParameterSchema

    deployments = []
    for spec in specs:
        schedules = [Cron(spec.cron, timezone=spec.timezone)] if spec.cron else []
        deployment = _load(spec.flow).to_deployment(
            name=spec.name,
            schedules=schedules,
            parameters=dict(spec.parameters),
            tags=list(spec.tags),
            description=spec.description,
            paused=False,
            entrypoint_type=EntrypointType.MODULE_PATH,
            enforce_parameter_schema=True,
        )
        if spec.parameter_schema:
            deployment._parameter_openapi_schema = ParameterSchema(**spec.parameter_schema)
        deployments.append(deployment)
    return deployments


# Titles and descriptions the Prefect UI shows on a run's parameter form, by parameter name.
PARAMETER_TEXT = {
    "obligation": (
        "Nghĩa vụ",
        "Mã nghĩa vụ trong định nghĩa (thư mục definitions/obligations); chọn trong danh sách.",
    ),
    "as_of": (
        "Ngày chạy",
        "Ngày làm việc mà lượt chạy tính theo (dạng YYYY-MM-DD); để trống là hôm nay theo giờ "
        "Việt Nam. Chạy lại một ngày đã chạy là an toàn: thư đã gửi không gửi lại.",
    ),
    "period": ("Kỳ báo cáo", "Mã kỳ, ví dụ 2026 (năm), 2026-H1, 2026-Q3, 2026-03 (tháng)."),
    "handoff_version": (
        "Lần bàn giao",
        "0 cho lần tổng hợp đầu; tăng lên khi có báo cáo nộp muộn sau khi đóng kỳ.",
    ),
    "flow_run": ("Lượt chạy cần báo", "Mã lượt chạy Prefect bị lỗi (tự động hóa điền sẵn)."),
    "event": ("Sự kiện", "Tên sự kiện Prefect đã kích hoạt thư báo (tự động hóa điền sẵn)."),
}


DATE_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


def parameter_schema(flow: Flow, obligation_ids: list[str]) -> dict:
    """The flow's parameter schema with Vietnamese titles; `obligation` limited to the given
    ids, so the server refuses a misspelt one before any run starts."""
    from prefect.utilities.callables import parameter_schema as schema_of

    schema = schema_of(flow.fn).model_dump()
    for name, prop in schema["properties"].items():
        title, description = PARAMETER_TEXT.get(name, (name, ""))
        prop["title"] = title
        if description:
            prop["description"] = description
    if "obligation" in schema["properties"] and obligation_ids:
        schema["properties"]["obligation"]["enum"] = list(obligation_ids)
    for prop in schema["properties"].values():
        # The server does not check `format: date`; a pattern it does check (a month 13 or a
        # day 45 is refused before the run exists; 30/02 is left to the run's own validation).
        for choice in prop.get("anyOf", [prop]):
            if choice.get("format") == "date":
                choice["pattern"] = DATE_PATTERN
    return schema

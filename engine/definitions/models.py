"""Definition models: the one source for the YAML loader and the generated JSON Schema.

Every model refuses unknown keys, so a typo in an administrator's YAML is an error with a line
number rather than a silently ignored setting.

The models live in plain modules by subject (plan, bodies, calendars, timing, ladder, forms,
flows); this module holds the obligation and the loaded definitions and re-exports the rest, so
`from engine.definitions.models import …` stays the one import.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.definitions.basics import (
    CLAUSE_PATTERN,
    EMAIL_RE,
    ID_PATTERN,
    ClauseId,
    Email,
    Id,
    Strict,
    check_emails,
)
from engine.definitions.body_models import (
    AddressEntry,
    AddressesFile,
    BodiesFile,
    Body,
    BodyKind,
    Group,
    GroupsFile,
    Mailboxes,
    PlaceholderMailboxes,
    Role,
    RoleHolder,
    Spokesperson,
    Successor,
    UnitCatalogue,
    UnitCode,
    is_placeholder_address,
)
from engine.definitions.calendar_models import (
    CalendarFile,
    CalendarOverride,
    NamedDay,
)
from engine.definitions.flow_models import (
    BriefingSpec,
    Completeness,
    Downstream,
    MinutesFact,
    NoContent,
    ReportSpec,
)
from engine.definitions.form_models import (
    Attachments,
    FieldType,
    Form,
    FormField,
)
from engine.definitions.ladder_models import (
    Responsible,
    Rung,
    RungKind,
    Target,
)
from engine.definitions.letter_models import Authority, Sender, Wording
from engine.definitions.plan_models import (
    Clause,
    LegalBasis,
    Plan,
    PlanFile,
)
from engine.definitions.timing_models import (
    Cadence,
    DueRule,
    LateStart,
    Offset,
    RequestRule,
    RunSchedule,
    Schedule,
    Window,
)

__all__ = [
    "AddressEntry",
    "AddressesFile",
    "Attachments",
    "Authority",
    "BodiesFile",
    "Body",
    "BodyKind",
    "BriefingSpec",
    "CLAUSE_PATTERN",
    "Cadence",
    "CalendarFile",
    "CalendarOverride",
    "Clause",
    "ClauseId",
    "Completeness",
    "Definitions",
    "Downstream",
    "DueRule",
    "EMAIL_RE",
    "Email",
    "FieldType",
    "Form",
    "FormField",
    "Group",
    "GroupsFile",
    "ID_PATTERN",
    "Id",
    "LateStart",
    "LegalBasis",
    "Mailboxes",
    "MinutesFact",
    "NamedDay",
    "NoContent",
    "Obligation",
    "ObligationsFile",
    "Offset",
    "PlaceholderMailboxes",
    "Plan",
    "PlanFile",
    "ReportSpec",
    "RequestRule",
    "Responsible",
    "Role",
    "RoleHolder",
    "RunSchedule",
    "Rung",
    "RungKind",
    "Schedule",
    "Sender",
    "Spokesperson",
    "Strict",
    "Successor",
    "Target",
    "UnitCatalogue",
    "UnitCode",
    "Window",
    "Wording",
    "check_emails",
    "is_placeholder_address",
]


class Obligation(Strict):
    id: Id
    title: str
    description: str = Field(description="Mô tả; nêu lý do chọn ngày khi kế hoạch không quy định.")
    clauses: list[ClauseId] = Field(min_length=1)
    legal_basis: list[Id] = Field(default_factory=list)
    responsible: Responsible
    recipient: Target = Field(description="Cơ quan nhận kết quả.")
    sender: Sender | None = Field(
        default=None,
        description="Cơ quan ký thư của nghĩa vụ này; bỏ trống: cơ quan nhận kết quả (hoặc "
        "plan.sender khi cơ quan nhận là cơ quan ban hành).",
    )
    letter: Wording = Field(
        default_factory=Wording, description="Cách thư gọi tên nghĩa vụ và việc phải làm."
    )
    schedule: Schedule
    window: Window = Field(default_factory=Window)
    request: RequestRule
    due: DueRule
    grace: Offset = Field(default_factory=lambda: Offset(working_days=5))
    late_start: LateStart = Field(default_factory=LateStart)
    ladder: list[Rung] = Field(default_factory=list)
    form: Form
    downstream: Downstream | None = None
    flow: Literal["collect", "press-briefing", "consolidation"] = "collect"
    report: ReportSpec | None = Field(
        default=None, description="Với flow: consolidation — nơi nhận và cách ghi báo cáo."
    )
    briefing: BriefingSpec | None = Field(
        default=None, description="Với flow: press-briefing — nghĩa vụ đi kèm và ánh xạ trường."
    )
    deployment: RunSchedule | None = Field(
        default=None,
        description="Giờ chạy tự động; bỏ trống: 7 giờ 30 mỗi ngày (giờ Việt Nam), ngày nghỉ không "
        "gửi gì.",
    )
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class ObligationsFile(Strict):
    obligations: list[Obligation]


class Definitions(BaseModel):
    """Everything loaded from a definitions directory, indexed by id."""

    model_config = ConfigDict(frozen=True)

    plan: Plan
    bodies: dict[str, Body]
    groups: dict[str, Group]
    roles: dict[str, Role]
    obligations: dict[str, Obligation]
    calendars: dict[int, CalendarOverride]
    templates: frozenset[str] = Field(
        default_factory=frozenset, description="Custom template ids found under templates/."
    )
    digest: str = Field(description="sha256 of the source files, recorded by every cycle.")

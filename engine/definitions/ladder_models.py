"""Definition models of who owes, who receives and who is chased: responsible bodies,
targets and the reminder ladder."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from engine.definitions.basics import Id, Strict
from engine.definitions.timing_models import Offset


class RungKind(StrEnum):
    reminder = "reminder"
    due_today = "due-today"
    overdue = "overdue"
    escalation = "escalation"


class Target(Strict):
    """A reference to a role, a body, or one of the assignee's own mailboxes."""

    role: Id | None = None
    body: Id | None = None
    mailbox: Literal["head", "cc"] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        if sum(x is not None for x in (self.role, self.body, self.mailbox)) != 1:
            raise ValueError("cần đúng một trong: 'role', 'body', 'mailbox'")
        return self


class Rung(Strict):
    id: Id
    kind: RungKind
    offset: Offset = Field(description="Khoảng cách từ hạn nộp (âm: trước hạn).")
    template: Id | None = Field(default=None, description="Mẫu thư riêng; mặc định theo 'kind'.")
    cc: list[Target] = Field(default_factory=list)
    escalate_to: list[Target] = Field(default_factory=list)


class Responsible(Strict):
    bodies: list[Id] = Field(default_factory=list)
    groups: list[Id] = Field(default_factory=list)
    roles: list[Id] = Field(default_factory=list)
    exclude: list[Id] = Field(default_factory=list, description="Cơ quan loại trừ.")

    @model_validator(mode="after")
    def _not_empty(self) -> Responsible:
        if not (self.bodies or self.groups or self.roles):
            raise ValueError("cần ít nhất một cơ quan, nhóm hoặc vai trò")
        return self

"""The vocabulary of the ledger: states, channels, and how they read in Vietnamese."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Protocol


class CycleState(StrEnum):
    open = "open"
    closed = "closed"


class AssignmentState(StrEnum):
    open = "open"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"
    resubmitted = "resubmitted"
    waived = "waived"
    closed_missing = "closed-missing"


class Channel(StrEnum):
    portal = "portal"
    operator = "operator"
    email = "email"


class OutboxState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class InboxState(StrEnum):
    """What an incoming mail became."""

    recorded = "recorded"
    triage = "triage"
    dismissed = "dismissed"
    assigned = "assigned"
    bounce = "bounce"
    auto_reply = "auto-reply"


INBOX_LABELS: dict[str, str] = {
    InboxState.recorded: "đã ghi nhận",
    InboxState.triage: "chờ phân loại",
    InboxState.dismissed: "đã bỏ qua",
    InboxState.assigned: "đã gán",
    InboxState.bounce: "thư báo lỗi gửi",
    InboxState.auto_reply: "thư trả lời tự động",
}


ASSIGNMENT_LABELS: dict[str, str] = {
    AssignmentState.open: "đang chờ nộp",
    AssignmentState.submitted: "đã nộp",
    AssignmentState.accepted: "đã được chấp nhận",
    AssignmentState.returned: "bị trả lại để chỉnh sửa",
    AssignmentState.resubmitted: "đã nộp lại",
    AssignmentState.waived: "được miễn nộp",
    AssignmentState.closed_missing: "không nộp (kỳ đã đóng)",
}

CYCLE_LABELS: dict[str, str] = {CycleState.open: "đang mở", CycleState.closed: "đã đóng"}

# States in which the body still owes something, so reminders and the overdue flag apply.
AWAITING = frozenset({AssignmentState.open.value, AssignmentState.returned.value})
# States that hold a submission the lead body has not yet reviewed.
UNDER_REVIEW = frozenset({AssignmentState.submitted.value, AssignmentState.resubmitted.value})


class HasDueState(Protocol):
    @property
    def state(self) -> str: ...

    @property
    def due_on(self) -> dt.date: ...


def is_overdue(assignment: HasDueState, today: dt.date) -> bool:
    """Overdue is derived, never stored: still owed and past its own due date."""
    return assignment.state in AWAITING and today > assignment.due_on


def assignment_label(state: str) -> str:
    """The Vietnamese wording of an assignment state, for people."""
    return ASSIGNMENT_LABELS.get(state, state)

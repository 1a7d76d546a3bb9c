"""What each email kind needs: one typed context per template kind.

Every context but the digest shares the addressee, the obligation, the period, the due date and
the signature (`Common`); the table lists what each kind adds. `Renderer.render` accepts one of
these dataclasses or a plain dict with the same keys (nested values: dataclasses or dicts).

| kind           | context class        | what it adds                                          |
|----------------|----------------------|-------------------------------------------------------|
| request        | RequestContext       | form_url, fields asked, attachment rules              |
| reminder       | ReminderContext      | form_url, days_left                                   |
| due-today      | DueTodayContext      | form_url                                              |
| overdue        | OverdueContext       | form_url, days_overdue                                |
| escalation     | EscalationContext    | form_url, days_overdue, requested_on, reminders_sent, cc |
| receipt        | ReceiptContext       | submitted_at, version, on_time, answers, attachments  |
| returned       | ReturnedContext      | form_url (fresh), version, operator_comment           |
| closed-summary | ClosedSummaryContext | closed_on, on_time / late (Submitted), missing        |
| digest         | DigestContext        | addressee, signature, as_of, items (no Common)        |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

KINDS = (
    "request",
    "reminder",
    "due-today",
    "overdue",
    "escalation",
    "receipt",
    "returned",
    "closed-summary",
    "digest",
)


@dataclass(frozen=True)
class Addressee:
    """Who the letter is addressed to ('Kính gửi: …')."""

    name: str


@dataclass(frozen=True)
class Signature:
    """The body the letter speaks for, and how to reach a person there."""

    name: str
    contact_email: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class ClauseRef:
    id: str
    title: str


@dataclass(frozen=True)
class ObligationRef:
    """The obligation as the letter cites it; `plan_ref` is the full citation of the plan."""

    title: str
    plan_ref: str
    clauses: list[ClauseRef]
    report_to: str


@dataclass(frozen=True)
class FieldAsk:
    """One field of the form, as listed in the request."""

    label: str
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class AttachmentRules:
    types: list[str]
    max_mb: float
    max_files: int


@dataclass(frozen=True)
class Answer:
    """A received form field, already formatted for people."""

    label: str
    value: str


@dataclass(frozen=True)
class ReceivedFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Submitted:
    """A body and when it submitted (closed-summary)."""

    body: str
    submitted_at: dt.datetime


@dataclass(frozen=True)
class DigestItem:
    """One open assignment in the weekly digest; days_overdue > 0 means late."""

    body: str
    obligation: str
    period_label: str
    due_on: dt.date
    days_overdue: int = 0
    state: str = "chưa gửi"


def _item_value(item: object, name: str) -> object:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def split_overdue(items: list) -> tuple[list, list]:
    """(overdue, upcoming): most overdue first, then the rest by due date (digest order)."""
    ordered = sorted(
        items,
        key=lambda i: (
            -_item_value(i, "days_overdue"),
            _item_value(i, "due_on"),
            _item_value(i, "body"),
        ),
    )
    overdue = [i for i in ordered if _item_value(i, "days_overdue") > 0]
    return overdue, [i for i in ordered if _item_value(i, "days_overdue") <= 0]


def context_dict(context: object) -> dict[str, object]:
    """A shallow dict of a context dataclass (nested values stay objects for the templates)."""
    return {f.name: getattr(context, f.name) for f in fields(context)}


@dataclass(frozen=True, kw_only=True)
class Common:
    addressee: Addressee
    obligation: ObligationRef
    period_label: str
    due_on: dt.date
    signature: Signature


@dataclass(frozen=True, kw_only=True)
class RequestContext(Common):
    form_url: str
    fields: list[FieldAsk]
    attachments: AttachmentRules | None  # None: the form takes no files
    # A late start: the rule's deadline, which had passed or left too little time; due_on is
    # the new one the ledger enforces, and the letter says so.
    rule_due_on: dt.date | None = None
    rule_due_passed: bool = False


@dataclass(frozen=True, kw_only=True)
class ReminderContext(Common):
    form_url: str
    days_left: int


@dataclass(frozen=True, kw_only=True)
class DueTodayContext(Common):
    form_url: str


@dataclass(frozen=True, kw_only=True)
class OverdueContext(Common):
    form_url: str
    days_overdue: int


@dataclass(frozen=True, kw_only=True)
class EscalationContext(Common):
    """Addressed to the body's head; `cc` names who else receives it."""

    form_url: str
    days_overdue: int
    requested_on: dt.date
    reminders_sent: int
    cc: list[str]


@dataclass(frozen=True, kw_only=True)
class ReceiptContext(Common):
    submitted_at: dt.datetime
    version: int
    on_time: bool
    answers: list[Answer]
    attachments: list[ReceivedFile]


@dataclass(frozen=True, kw_only=True)
class ReturnedContext(Common):
    form_url: str
    version: int
    operator_comment: str


@dataclass(frozen=True, kw_only=True)
class ClosedSummaryContext(Common):
    """Sent to the body that receives the results, when the cycle closes."""

    closed_on: dt.date
    on_time: list[Submitted]
    late: list[Submitted]
    missing: list[str]


@dataclass(frozen=True, kw_only=True)
class DigestContext:
    """The weekly digest to the lead body; templates order items with `split_overdue`."""

    addressee: Addressee
    signature: Signature
    as_of: dt.date
    items: list[DigestItem]


CONTEXTS: dict[str, type] = {
    "request": RequestContext,
    "reminder": ReminderContext,
    "due-today": DueTodayContext,
    "overdue": OverdueContext,
    "escalation": EscalationContext,
    "receipt": ReceiptContext,
    "returned": ReturnedContext,
    "closed-summary": ClosedSummaryContext,
    "digest": DigestContext,
}

"""What each email kind needs: one typed context per template kind.

Every context but the digest shares the addressee, the obligation, the period, the due date and
the signature (`Common`); the table lists what each kind adds. `Renderer.render` accepts one of
these dataclasses or a plain dict with the same keys (nested values: dataclasses or dicts).

| kind           | context class        | what it adds                                          |
|----------------|----------------------|-------------------------------------------------------|
| request        | RequestContext       | form_url, fields asked, attachment rules              |
| reminder       | ReminderContext      | form_url, days_left                                   |
| due-today      | DueTodayContext      | form_url, sent_on                                     |
| overdue        | OverdueContext       | form_url, days_overdue                                |
| escalation     | EscalationContext    | form_url, days_overdue, requested_on, reminders_sent, cc |
| receipt        | ReceiptContext       | submitted_at, version, on_time, answers, attachments  |
| returned       | ReturnedContext      | form_url (fresh), version, operator_comment           |
| closed-summary | ClosedSummaryContext | closed_on, on_time / late (Submitted), missing        |
| digest         | DigestContext        | addressee, signature, as_of, items (no Common)        |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from engine.names import alphabetical

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
    """The body the letter speaks for, and how to reach a person there; `on_behalf_of` names
    the authority it writes for ("…, thay mặt Ủy ban nhân dân tỉnh …")."""

    name: str
    contact_email: str | None = None
    contact_phone: str | None = None
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class ClauseRef:
    id: str
    title: str


@dataclass(frozen=True)
class AuthorityRef:
    """The government the plan belongs to: level ('tỉnh', 'thành phố'), name, issuing body."""

    level: str
    name: str
    body: str


@dataclass(frozen=True, kw_only=True)
class ObligationRef:
    """The obligation as the letter cites it, every phrase composed from the definitions
    (engine.letters): `plan_ref` cites the plan, `citation` adds the clauses."""

    title: str
    plan_ref: str
    clauses: list[ClauseRef]
    report_to: str
    named: str  # "Báo cáo kết quả … năm 2026": the name with its period
    action: str  # "gửi", "tổ chức", "ban hành", "cập nhật"
    task: str  # "tổ chức Hội nghị giao ban báo chí tháng 1 năm 2026"
    result: str  # what comes back: "Báo cáo … năm 2026", "kết quả Hội nghị … tháng 1 năm 2026"
    duty: str  # "gửi Báo cáo … về Sở …" / "tổ chức Hội nghị … và gửi kết quả về …"
    citation: str  # "Kế hoạch … (mục III.2)"
    authority: AuthorityRef


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
    """(overdue, upcoming): most overdue first, then the rest by due date, bodies in
    Vietnamese alphabetical order (digest order)."""
    ordered = sorted(
        items,
        key=lambda i: (
            -_item_value(i, "days_overdue"),
            _item_value(i, "due_on"),
            alphabetical(str(_item_value(i, "body"))),
        ),
    )
    overdue = [i for i in ordered if _item_value(i, "days_overdue") > 0]
    return overdue, [i for i in ordered if _item_value(i, "days_overdue") <= 0]


def context_dict(context: object) -> dict[str, object]:
    """A shallow dict of a context dataclass (nested values stay objects for the templates)."""
    return {f.name: getattr(context, f.name) for f in fields(context)}


@dataclass(frozen=True)
class ReplyInvite:
    """Answering by email: the Reply-To carrying the assignment's token, and the token itself
    (cited in the letter so a reply that lost its headers still names its assignment)."""

    address: str
    reference: str


@dataclass(frozen=True, kw_only=True)
class Common:
    addressee: Addressee
    obligation: ObligationRef
    period_label: str
    due_on: dt.date
    signature: Signature
    # Set when the province has an intake mailbox: the letter invites a reply with the report.
    reply: ReplyInvite | None = None


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
    """`sent_on` is the day the letter goes out: "hôm nay" is said only when it is the due date."""

    form_url: str
    sent_on: dt.date


@dataclass(frozen=True, kw_only=True)
class OverdueContext(Common):
    form_url: str
    days_overdue: int


@dataclass(frozen=True, kw_only=True)
class EscalationContext(Common):
    """Addressed to the body's head; `cc` names the other bodies that receive it."""

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
    # An answer received by email that lacks required fields: their labels, and the form
    # (prefilled with what arrived) where the body can complete it.
    missing: list[str] = field(default_factory=list)
    complete_url: str | None = None


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

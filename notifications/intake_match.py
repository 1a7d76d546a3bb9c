"""Which assignment an incoming reply answers, and whether its sender may answer for that body.

Strongest first: our Message-ID in In-Reply-To/References (deterministic, one assignment), the
reply token in a plus-address or the subject, then a token cited in the quoted letter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from engine import replies
from engine.ledger.models import Assignment, Cycle, OutboxMessage, Submission
from engine.ledger.queries import StatusRow, status_row
from engine.ledger.states import InboxState
from engine.ledger.transactions import committing
from engine.tokens import TokenError, find_reply_tokens, verify_reply
from notifications.receipts import Desk


@dataclass(frozen=True)
class Outcome:
    """What one mail became; `folder` is where it leaves the inbox to (processed or triage)."""

    message_id: str
    state: str
    reason: str
    from_addr: str = ""
    subject: str = ""
    body_id: str | None = None
    version: int | None = None
    duplicate: bool = False
    missing: list[str] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return "triage" if self.state == InboxState.triage.value else "processed"


@functools.cache
def _statements() -> tuple[Select, Select, Select]:
    # Built once: matching runs for every mail of a batch.
    by_reference = (
        select(OutboxMessage.message_id, Assignment.id)
        .join(
            Assignment,
            (Assignment.cycle_id == OutboxMessage.cycle_id)
            & (Assignment.body_id == OutboxMessage.body_id),
        )
        .where(OutboxMessage.message_id.in_(bindparam("refers", expanding=True)))
    )
    latest = (
        select(func.coalesce(func.max(Submission.version), 0))
        .where(Submission.assignment_id == Assignment.id)
        .scalar_subquery()
    )
    last_at = (
        select(func.max(Submission.submitted_at))
        .where(Submission.assignment_id == Assignment.id)
        .scalar_subquery()
    )
    row = select(
        Assignment.id,
        Assignment.body_id,
        Assignment.body_name,
        Assignment.state,
        Assignment.due_on,
        Assignment.requested_on,
        Cycle.obligation_id,
        Cycle.period_key,
        Cycle.state.label("cycle_state"),
        Cycle.due_on.label("cycle_due_on"),
        Cycle.closes_on,
        latest.label("latest_version"),
        last_at.label("last_submitted_at"),
    ).join(Cycle, Cycle.id == Assignment.cycle_id)
    one = row.where(Assignment.id == bindparam("assignment_id"))
    many = row.where(Assignment.id.in_(bindparam("assignment_ids", expanding=True)))
    return by_reference, one, many


def _status_row(row) -> StatusRow:
    return status_row(
        row,
        latest_version=row.latest_version,
        last_submitted_at=row.last_submitted_at,
        overdue=None,
    )


def row_of(session: Session, assignment_id: int) -> StatusRow | None:
    """The assignment as the receipt needs it (one indexed query, however big the ledger)."""
    row = session.execute(_statements()[1], {"assignment_id": assignment_id}).one_or_none()
    return None if row is None else _status_row(row)


def _ours(session: Session, refers_to: list[str]) -> dict[str, int]:
    """Of these Message-IDs, ours: each with the assignment its letter went to."""
    if not refers_to:
        return {}
    return dict(session.execute(_statements()[0], {"refers": refers_to}).all())


def match(session: Session, mail: replies.Incoming, secret: str) -> tuple[int | None, str]:
    """(assignment id, '') or (None, why not) — a forged or conflicting token is a reason."""
    return _decide(_ours(session, mail.refers_to), mail, secret)


def _decide(ours: dict[str, int], mail: replies.Incoming, secret: str) -> tuple[int | None, str]:
    """match, given our letters among those the mail refers to (`ours`, from _ours)."""
    # The newest of our letters this mail answers names the assignment.
    by_reference = next((ours[m] for m in mail.refers_to if m in ours), None)
    header_tokens = find_reply_tokens(" ".join([*mail.recipients, mail.subject]))
    tokens = header_tokens or find_reply_tokens(mail.text)
    valid, forged = set(), []
    for token in dict.fromkeys(tokens):
        try:
            valid.add(verify_reply(token, secret))
        except TokenError:
            forged.append(token)
    if by_reference is not None:
        if valid - {by_reference}:
            return None, "Thư trả lời một thư của hệ thống nhưng mang mã của phần việc khác."
        return by_reference, ""
    if len(valid) == 1:
        return valid.pop(), ""
    if len(valid) > 1:
        return None, "Thư mang mã của nhiều phần việc; cần người xử lý chọn."
    if forged:
        return None, f"Mã trả lời “{forged[0]}” sai chữ ký (có thể bị sửa đổi)."
    return None, "Không xác định được thư trả lời cho phần việc nào (không có mã tham chiếu)."


def matched_row(
    session: Session, mail: replies.Incoming, secret: str
) -> tuple[StatusRow | None, str]:
    """The matched assignment's row (or None and why), read in one transaction."""
    with committing(session):
        assignment_id, why = match(session, mail, secret)
        row = row_of(session, assignment_id) if assignment_id is not None else None
    return row, why


def matched_rows(
    session: Session, mails: list[replies.Incoming], secret: str
) -> list[tuple[StatusRow | None, str]]:
    """matched_row for a batch of mails with one query for their references and one for the
    assignments' rows, in one transaction."""
    with committing(session):
        refers = list(dict.fromkeys(m for mail in mails for m in mail.refers_to))
        ours = _ours(session, refers)
        matched = [_decide(ours, mail, secret) for mail in mails]
        ids = list({a for a, _ in matched if a is not None})
        rows = {}
        if ids:
            found = session.execute(_statements()[2], {"assignment_ids": ids})
            rows = {r.id: _status_row(r) for r in found}
    return [(rows.get(a) if a is not None else None, why) for a, why in matched]


def sender_allowed(desk: Desk, body_id: str, sender: str, trust_domain: bool) -> bool:
    """Whether the sender is a declared mailbox of the body (or, if trusted, of its domain)."""
    body = desk.defs.bodies.get(body_id)
    if body is None or not sender:
        return False
    known = {a.lower() for a in [*body.mailboxes.to, *body.mailboxes.head, *body.mailboxes.cc]}
    if sender in known:
        return True
    return trust_domain and sender.rsplit("@", 1)[-1] in {a.rsplit("@", 1)[-1] for a in known}

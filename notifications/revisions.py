"""Reviewing a body's answer: accept it, or return it for revision with a comment and queue the
"please revise" letter with a fresh link. One path for the operator's CLI and the portal's
operator page, like notifications.receipts for submissions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.ledger import outbox as ledger_outbox
from engine.ledger.assignments import accept, return_for_revision
from engine.ledger.errors import InvalidInput
from engine.ledger.queries import StatusRow
from engine.ledger.snapshot import load_open_state
from notifications.compose import obligation_ref, period_label, signature
from notifications.contexts import Addressee, ReturnedContext
from notifications.receipts import Desk

# A comment is read by people in a letter; a page of text is the most anyone needs.
MAX_COMMENT_CHARS = 5000


@dataclass(frozen=True)
class Review:
    """What a review did: the assignment's state after it, and the letter queued, if any."""

    assignment_id: int
    state: str
    version: int
    queued: int = 0


def accept_submission(desk: Desk, assignment: StatusRow, *, who: str, now: dt.datetime) -> Review:
    """Accept the latest version (submitted or resubmitted → accepted); repeating is a no-op."""
    with desk.sessions() as session:
        result = accept(session, assignment.assignment_id, who=who, now=now)
        state = result.state
    return Review(assignment.assignment_id, state, assignment.latest_version)


def return_submission(
    desk: Desk,
    assignment: StatusRow,
    comment: str,
    *,
    who: str,
    today: dt.date,
    now: dt.datetime,
) -> Review:
    """Return the latest version with a comment and queue the 'returned' letter (once per version).

    The ledger refuses an empty comment, a closed cycle and any state but (re)submitted.
    """
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"Ý kiến trả lại quá dài (tối đa {MAX_COMMENT_CHARS:,} ký tự).")
    with desk.sessions() as session:
        result = return_for_revision(session, assignment.assignment_id, comment, who=who, now=now)
        state, revision = result.state, result.link_revision
    queued = queue_returned(desk, assignment, comment, today, now, revision)
    return Review(assignment.assignment_id, state, assignment.latest_version, queued)


def revision_due_on(assignment: StatusRow, today: dt.date) -> dt.date:
    """The date the letter asks for the revision by: the due date, or the close once it passed."""
    return assignment.due_on if today <= assignment.due_on else assignment.closes_on


def queue_returned(
    desk: Desk,
    assignment: StatusRow,
    comment: str,
    today: dt.date,
    now: dt.datetime,
    revision: int = 0,
) -> int:
    """Render and enqueue the letter; keyed by version, so returning twice queues it once.
    Its link is signed for `revision` (the return's round): earlier links answer 410."""
    obligation = desk.defs.obligations[assignment.obligation_id]
    body = desk.defs.bodies.get(assignment.body_id)
    if body is None or not body.mailboxes.to:
        return 0
    with desk.sessions() as session:
        snapshot = load_open_state(session, obligation.id)
    cycle = next(c for c in snapshot.cycles if c.period_key == assignment.period_key)
    label = period_label(obligation, cycle)
    context = ReturnedContext(
        addressee=Addressee(body.name),
        obligation=obligation_ref(desk.defs, obligation, today, label),
        period_label=label,
        due_on=revision_due_on(assignment, today),
        signature=signature(desk.defs, obligation, today),
        form_url=desk.links.form_url(assignment.assignment_id, cycle.closes_on, revision),
        version=assignment.latest_version,
        operator_comment=comment,
    )
    rendered = desk.renderer.render("returned", context)
    row = {
        "cycle_id": cycle.id,
        "body_id": body.id,
        "kind": "returned",
        "rung": f"v{assignment.latest_version}",
        "to_addrs": list(body.mailboxes.to),
        "cc_addrs": [],
        "subject": rendered.subject,
        "text_body": rendered.text,
        "html_body": rendered.html,
    }
    with desk.sessions() as session:
        return ledger_outbox.enqueue(session, [row], domain=desk.mail_domain, now=now)

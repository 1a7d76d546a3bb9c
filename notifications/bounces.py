"""Delivery reports (DSN): the address that failed is marked failing on its body, letters stop
going to it, and the operators are told which body cannot be reached."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from engine import replies
from engine.ledger import addresses as ledger_addresses
from engine.ledger import inbox as ledger_inbox
from engine.ledger.events import record_event
from engine.ledger.models import OutboxMessage
from engine.ledger.states import InboxState
from engine.ledger.transactions import committing, writing
from engine.names import alphabetical
from notifications.intake_match import Outcome
from notifications.operators import alert_operators, bounce_alert
from notifications.receipts import Desk

log = logging.getLogger("kehoach.intake")


def record_bounce(desk: Desk, mail: replies.Incoming, now: dt.datetime) -> Outcome:
    """Mark each failed address on its body, record the report, say which body is cut off."""
    bounce = mail.bounce
    assert bounce is not None
    with desk.sessions() as session:
        original_body = None
        if bounce.original_message_id:
            with committing(session):
                original_body = session.scalar(
                    select(OutboxMessage.body_id).where(
                        OutboxMessage.message_id == bounce.original_message_id
                    )
                )
    marks: list[tuple[str, str]] = []
    for address in bounce.failed:
        owners = [
            b.id
            for b in desk.defs.bodies.values()
            if address in {a.lower() for a in [*b.mailboxes.to, *b.mailboxes.head, *b.mailboxes.cc]}
        ]
        if original_body and original_body not in owners:
            owners.append(original_body)
        marks.extend((owner, address) for owner in owners)
    names = sorted(
        {desk.defs.bodies[b].name for b, _ in marks if b in desk.defs.bodies}, key=alphabetical
    )
    if bounce.delayed:
        reason = "Thư báo chậm chuyển phát (máy chủ còn thử lại); chưa đánh dấu địa chỉ hỏng."
    elif marks:
        reason = (
            f"Không gửi được thư tới {', '.join(sorted({a for _, a in marks}))} "
            f"({'; '.join(names) or 'cơ quan không rõ'}): hệ thống ngừng gửi tới địa chỉ này; "
            "cần cập nhật địa chỉ thư của cơ quan trong định nghĩa."
        )
    else:
        reason = "Thư báo lỗi gửi không nêu địa chỉ của cơ quan nào đã khai báo."
    if bounce.diagnostic:
        reason += f" Máy chủ báo: {bounce.diagnostic}"
    # The marks first (repeating one only counts it again), then the inbox row: a crash between
    # the two marks again on the next run, never loses the report.
    with desk.sessions() as session:
        for body_id, address in marks if not bounce.delayed else []:
            ledger_addresses.mark_address_failing(session, body_id, address, reason, "dsn", now=now)
    try:
        with desk.sessions() as session, writing(session):
            ledger_inbox.add_in(
                session,
                {
                    "message_id": mail.message_id,
                    "from_addr": mail.from_addr,
                    "subject": mail.subject,
                    "state": InboxState.bounce.value,
                    "reason": reason,
                },
                now,
            )
            for body_id, address in marks if not bounce.delayed else []:
                record_event(
                    session,
                    "address-failing",
                    now,
                    body_id=body_id,
                    data={"address": address, "diagnostic": bounce.diagnostic},
                )
    except ledger_inbox.AlreadyRecorded:
        return Outcome(mail.message_id, InboxState.bounce.value, reason, duplicate=True)
    if marks and not bounce.delayed:
        log.warning("Không liên lạc được: %s", reason)
        # One alert per failed address and original letter: the outbox key dedups repeats.
        for address in sorted({a for _, a in marks}):
            alert_operators(
                desk.sessions,
                bounce_alert(address, bounce.original_message_id or mail.message_id, reason),
                renderer=desk.renderer,
                mail_domain=desk.mail_domain,
                now=now,
            )
    body = marks[0][0] if marks else None
    return Outcome(
        mail.message_id, InboxState.bounce.value, reason, mail.from_addr, mail.subject, body
    )

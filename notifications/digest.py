"""Queueing the weekly digest: one letter per receiving body per ISO week (the outbox key holds
the week, so however many collect runs happen that Monday, it goes out once)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import letters
from engine.calendar import LegalCalendar
from engine.definitions.models import Definitions
from engine.digest import Digest, digest_week, weekly_digests
from engine.ledger import outbox as ledger_outbox
from engine.ledger.models import OutboxMessage
from engine.ledger.snapshot import load_open_state
from engine.periods import period_for_key
from notifications.compose import system_signature
from notifications.contexts import Addressee, DigestContext, DigestItem
from notifications.render import Renderer

KIND = "digest"


def _context(defs: Definitions, digest: Digest, today: dt.date) -> DigestContext:
    items = []
    for item in digest.items:
        obligation = defs.obligations[item.obligation_id]
        period = period_for_key(
            obligation.schedule, obligation.window, item.period_key, on=item.period_start
        )
        items.append(
            DigestItem(
                body=item.body_name,
                obligation=letters.naming(obligation, period.label).named,
                period_label=period.label,
                due_on=item.due_on,
                days_overdue=max(0, (today - item.due_on).days),
                state="bị trả lại, chờ nộp lại" if item.state == "returned" else "chưa gửi",
            )
        )
    body = defs.bodies[digest.recipient_id]
    return DigestContext(
        addressee=Addressee(body.name),
        signature=system_signature(),
        as_of=today,
        items=items,
    )


def queue_weekly_digests(
    defs: Definitions,
    sessions: sessionmaker[Session],
    renderer: Renderer,
    mail_domain: str,
    today: dt.date,
    now: dt.datetime,
) -> int:
    """Queue this week's digests if today opens the week; returns how many were new."""
    week = digest_week(LegalCalendar(defs.calendars), today)
    if week is None:
        return 0
    with sessions() as session:
        # Cheap guard: after the first run of the week, skip loading every obligation's state.
        sent = session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.kind == KIND, OutboxMessage.rung == week)
            .limit(1)
        )
        if sent is not None:
            return 0
        # Only open cycles are listed: closed ones need not bring their rows.
        snapshots = [load_open_state(session, o, hands_off=False) for o in defs.obligations]
    rows = []
    for digest in weekly_digests(defs, snapshots, week, today):
        rendered = renderer.render(KIND, _context(defs, digest, today))
        rows.append(
            {
                "body_id": digest.recipient_id,
                "kind": KIND,
                "rung": week,
                "to_addrs": list(digest.to),
                "cc_addrs": [],
                "subject": rendered.subject,
                "text_body": rendered.text,
                "html_body": rendered.html,
            }
        )
    with sessions() as session:
        return ledger_outbox.enqueue(session, rows, domain=mail_domain, now=now)

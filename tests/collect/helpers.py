"""Reading back what a collect run did: outbox rows from the ledger, messages from the sink."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select


def outbox_rows() -> list[dict]:
    from engine.ledger.models import Cycle, OutboxMessage
    from tasks import runtime

    with runtime.sessions()() as session:
        rows = session.execute(
            select(OutboxMessage, Cycle.period_key)
            .outerjoin(Cycle, Cycle.id == OutboxMessage.cycle_id)
            .order_by(OutboxMessage.id)
        ).all()
        return [
            {
                "id": m.id,
                "key": m.key,
                "message_id": m.message_id,
                "kind": m.kind,
                "body_id": m.body_id,
                "period": period,
                "state": m.state,
                "to": list(m.to_addrs),
                "cc": list(m.cc_addrs),
                "subject": m.subject,
            }
            for m, period in rows
        ]


def delivered(mail_dir: Path) -> list:
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(Path(mail_dir).glob("*.eml"))
    ]

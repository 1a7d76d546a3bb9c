"""Claims on outbox rows beyond claim itself: renewing a lease, releasing what a sender holds
(on leaving, or because its process is gone), and who holds rows now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.ledger.models import OutboxMessage
from engine.ledger.states import OutboxState
from engine.ledger.transactions import aware, committing, writing

TABLE = OutboxMessage.__table__


def release(session: Session, worker_ids: Sequence[str]) -> int:
    """Put rows these workers claimed and did not send back to 'pending' (a drain leaving, or
    claimers known to be dead), due at once; returns how many."""
    if not worker_ids:
        return 0
    with writing(session, relaxed=True):
        return session.execute(
            update(TABLE)
            .where(
                TABLE.c.state == OutboxState.sending.value,
                TABLE.c.claimed_by.in_(list(worker_ids)),
            )
            .values(state=OutboxState.pending.value, claimed_by=None, claimed_at=None)
        ).rowcount


def renew(session: Session, worker_id: str, now: dt.datetime) -> int:
    """Extend the lease on every row this worker still holds (a long batch)."""
    with writing(session, relaxed=True):
        return session.execute(
            update(TABLE)
            .where(TABLE.c.state == OutboxState.sending.value, TABLE.c.claimed_by == worker_id)
            .values(claimed_at=aware(now))
        ).rowcount


def claimers(session: Session) -> list[str]:
    """The workers currently holding rows in 'sending'."""
    with committing(session):
        return list(
            session.scalars(
                select(TABLE.c.claimed_by)
                .where(TABLE.c.state == OutboxState.sending.value)
                .distinct()
            )
        )

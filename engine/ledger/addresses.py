"""Addresses the mail system refused for good, per body (table address_failures).

Written by the outbox drain when the relay answers 5xx for a recipient, and by the reply
intake when a delivery status notification says the mailbox does not exist; read by
`kehoach status`, `kehoach outbox` and whoever fixes the definitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.ledger.models import AddressFailure
from engine.ledger.transactions import aware, committing, writing


@dataclass(frozen=True)
class FailingAddress:
    body_id: str
    address: str
    reason: str
    source: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    times: int


def mark_address_failing(
    session: Session,
    body_id: str,
    address: str,
    reason: str,
    source: str,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Record (or count again) that `address` of `body_id` is failing; source says who saw it
    ('smtp' for a refusal by the relay, 'dsn' for a bounce)."""
    now = aware(now)
    address = address.strip().lower()
    with writing(session):
        updated = session.execute(
            update(AddressFailure)
            .where(AddressFailure.body_id == body_id, AddressFailure.address == address)
            .values(
                reason=reason[:2000],
                source=source,
                last_seen_at=now,
                times=AddressFailure.times + 1,
            )
        ).rowcount
        if not updated:
            session.add(
                AddressFailure(
                    body_id=body_id,
                    address=address,
                    reason=reason[:2000],
                    source=source,
                    first_seen_at=now,
                    last_seen_at=now,
                    times=1,
                )
            )


def failing_addresses(session: Session, body_id: str | None = None) -> list[FailingAddress]:
    """Every address marked failing (of one body, or all), by body then address."""
    query = select(AddressFailure).order_by(AddressFailure.body_id, AddressFailure.address)
    if body_id is not None:
        query = query.where(AddressFailure.body_id == body_id)
    with committing(session):
        return [
            FailingAddress(
                f.body_id, f.address, f.reason, f.source, f.first_seen_at, f.last_seen_at, f.times
            )
            for f in session.scalars(query)
        ]


def clear_address_failures(session: Session, body_id: str, addresses: Iterable[str]) -> int:
    """Forget failures of addresses that have since accepted a letter; returns how many."""
    wanted = [a.strip().lower() for a in addresses]
    if not wanted:
        return 0
    with writing(session, relaxed=True):
        return session.execute(
            delete(AddressFailure).where(
                AddressFailure.body_id == body_id, AddressFailure.address.in_(wanted)
            )
        ).rowcount

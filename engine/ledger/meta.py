"""Facts about the ledger itself (table ledger_meta): its installation id and the relay pause.

The installation id is random, created with the schema (migration 0002); it names Message-IDs
so that two ledgers on one mail domain never produce the same one.
"""

from __future__ import annotations

import datetime as dt
import weakref

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from engine.ledger.errors import LedgerError
from engine.ledger.models import LedgerMeta
from engine.ledger.transactions import aware, committing, writing

INSTALLATION_KEY = "installation_id"
RELAY_PAUSE_KEY = "relay_retry_at"
RELAY_REASON_KEY = "relay_error"
_INSTALLATIONS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def installation_id(session: Session) -> str:
    """This ledger's random installation id (read once per engine)."""
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    known = _INSTALLATIONS.get(engine)
    if known is not None:
        return known
    value = session.scalar(select(LedgerMeta.value).where(LedgerMeta.key == INSTALLATION_KEY))
    if not value:
        raise LedgerError(
            "Sổ theo dõi chưa có mã cài đặt: hãy chạy `kehoach db upgrade` rồi thử lại."
        )
    _INSTALLATIONS[engine] = value
    return value


def relay_paused_until(session: Session) -> tuple[dt.datetime, str] | None:
    """When the relay may be tried again after it could not be reached, and why; None if now."""
    with committing(session):
        rows = dict(
            session.execute(
                select(LedgerMeta.key, LedgerMeta.value).where(
                    LedgerMeta.key.in_([RELAY_PAUSE_KEY, RELAY_REASON_KEY])
                )
            ).all()
        )
    if RELAY_PAUSE_KEY not in rows:
        return None
    return dt.datetime.fromisoformat(rows[RELAY_PAUSE_KEY]), rows.get(RELAY_REASON_KEY, "")


def pause_relay(session: Session, until: dt.datetime, reason: str) -> None:
    """Record that no drain should connect to the relay before `until` (it was unreachable)."""
    until = aware(until)
    with writing(session, relaxed=True):
        session.execute(
            delete(LedgerMeta).where(LedgerMeta.key.in_([RELAY_PAUSE_KEY, RELAY_REASON_KEY]))
        )
        session.add_all(
            [
                LedgerMeta(key=RELAY_PAUSE_KEY, value=until.isoformat()),
                LedgerMeta(key=RELAY_REASON_KEY, value=reason[:200]),
            ]
        )


def clear_relay_pause(session: Session) -> None:
    """The relay answered again: drains may connect at once."""
    with writing(session, relaxed=True):
        session.execute(
            delete(LedgerMeta).where(LedgerMeta.key.in_([RELAY_PAUSE_KEY, RELAY_REASON_KEY]))
        )

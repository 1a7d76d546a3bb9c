"""Small helpers every ledger operation shares: its own short transaction, and the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from engine.ledger.errors import InvalidInput

# Connection execution option telling the SQLite engine to BEGIN IMMEDIATE (see db.make_engine).
WRITE_OPTION = "kehoach_write"


@contextmanager
def committing(session: Session) -> Iterator[Session]:
    """Commit what the block did, or roll all of it back; ledger operations are all-or-nothing."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def writing(session: Session) -> Iterator[Session]:
    """A committing transaction that holds SQLite's write lock from its first statement.

    A read left open by the caller is ended first: upgrading a read to a write fails at once on
    SQLite (rather than waiting) when another writer committed in between.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
    if not session.in_transaction():
        session.connection(execution_options={WRITE_OPTION: True})
    with committing(session):
        yield session


def aware(now: dt.datetime | None) -> dt.datetime:
    """The given instant in UTC, or the current one; a naive instant is refused, not guessed."""
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput(f"Thời điểm {now.isoformat()} thiếu múi giờ; cần thời điểm có múi giờ.")
    return now.astimezone(dt.UTC)


def vn_date(day: dt.date) -> str:
    """A date as Vietnamese administrators write it (dd/mm/yyyy)."""
    return day.strftime("%d/%m/%Y")

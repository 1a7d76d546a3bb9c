"""Small helpers every ledger operation shares: its own short transaction, and the clock."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from engine.ledger.errors import InvalidInput
from engine.ledger.turns import WriteTurns

# Connection execution option telling the SQLite engine to BEGIN IMMEDIATE (see db.make_engine).
WRITE_OPTION = "kehoach_write"
# Execution option for a write whose loss in a power cut is harmless (see `writing`).
RELAXED_OPTION = "kehoach_relaxed_durability"
# Engines whose writers take turns (SQLite; see engine.ledger.turns).
_TURNS: weakref.WeakKeyDictionary[Engine, WriteTurns] = weakref.WeakKeyDictionary()


def serialise_writes(engine: Engine, lock_file: Path | None) -> None:
    """Make `writing` transactions on this engine take turns (engine.ledger.turns): threads on
    a lock, processes on `lock_file` when given."""
    _TURNS[engine] = WriteTurns(lock_file)


@contextmanager
def _write_turn(session: Session) -> Iterator[None]:
    bind = session.get_bind()
    with _engine_turn(getattr(bind, "engine", bind)):
        yield


@contextmanager
def _engine_turn(engine: Engine) -> Iterator[None]:
    turns = _TURNS.get(engine)
    if turns is None:
        yield
        return
    with turns.turn():
        yield


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
def writing(session: Session, *, relaxed: bool = False) -> Iterator[Session]:
    """A committing transaction that holds SQLite's write lock from its first statement.

    A read left open by the caller is ended first: upgrading a read to a write fails at once on
    SQLite (rather than waiting) when another writer committed in between.

    `relaxed`: the commit is durable once the database has it, without waiting for the disk
    (SQLite synchronous=NORMAL for this transaction, PostgreSQL synchronous_commit=off). It
    survives the writer's crash (SIGKILL) like any commit; only a power cut or OS crash in the
    following moments can undo it. For the outbox's claim and sent/failed marks only: undoing
    one of those resends a message under the same Message-ID, never loses one; waiting for an
    fsync after every message sent cost more than the SMTP exchange itself. Also for the reply
    intake's versions, which it makes durable (`make_durable`) before a mail leaves the mailbox.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
    with _write_turn(session):
        if not session.in_transaction():
            options = {WRITE_OPTION: True, RELAXED_OPTION: relaxed}
            connection = session.connection(execution_options=options)
            if relaxed and connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        with committing(session):
            yield session


@contextmanager
def writing_on(connection: Connection, *, relaxed: bool = False) -> Iterator[Connection]:
    """`writing` on a plain Core connection that has no transaction open: the same write turn,
    write lock and durability, committed on leaving (rolled back on an error), without a
    session's bookkeeping. For a statement run once per message sent (the outbox's sent mark),
    where the session's begin and commit cost more than the UPDATE itself."""
    with _engine_turn(connection.engine):
        connection.execution_options(**{WRITE_OPTION: True, RELAXED_OPTION: relaxed})
        with connection.begin():
            if relaxed and connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield connection


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

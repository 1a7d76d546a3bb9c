"""WAL checkpoints off the request path, for a latency-sensitive process on a SQLite ledger.

By default SQLite copies the write-ahead log back into the database inside the commit that
takes the log past 1,000 pages: that commit then writes megabytes and syncs the database file
while holding the write lock, and every answer queued behind it waits (in the portal benchmark,
once every hundred or so answers, a stall that set the POST's p95). A process that calls
`checkpoint_in_background` stops doing that in its commits; a daemon thread runs PASSIVE
checkpoints instead, which wait for no reader or writer and never hold the write lock.
Durability is unchanged: a commit is on disk in the log (synchronous=FULL) before it returns.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

CHECKPOINT_EVERY_S = 0.5


def _no_checkpoint_in_commits(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint_in_background(
    engine: Engine, every_s: float = CHECKPOINT_EVERY_S
) -> Callable[[], None] | None:
    """Move this engine's WAL checkpoints to a daemon thread; the function that stops it, or
    None when the ledger is not a SQLite file (nothing to do)."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None

    if not event.contains(engine, "connect", _no_checkpoint_in_commits):
        event.listen(engine, "connect", _no_checkpoint_in_commits)
        # Connections already pooled were opened without the pragma: open fresh ones.
        engine.dispose()
    stop = threading.Event()

    def run() -> None:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            while not stop.wait(every_s):
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            # One last pass, so a process that stops leaves a short log behind.
            with contextlib.suppress(sqlite3.Error):
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            connection.close()

    thread = threading.Thread(target=run, name="kehoach-wal-checkpoint", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=5)

    return halt

"""A process on a SQLite ledger can move WAL checkpoints out of its commits into a background
thread (engine.ledger.checkpoints): its commits no longer copy the log into the database, the
thread does, and nothing written is lost."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from engine.ledger.checkpoints import checkpoint_in_background
from engine.ledger.db import make_engine

ROWS = 3000  # about 3 MB: well past the 1,000 pages at which a commit would checkpoint


def _write(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
    for _ in range(ROWS // 100):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "x" * 1000}] * 100)


def test_commits_leave_the_checkpoints_to_the_background_thread(tmp_path: Path) -> None:
    database = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:  # pooled before: opened again with the pragma
        connection.execute(text("SELECT 1"))
    stop = checkpoint_in_background(engine, every_s=3600)  # the thread waits: commits alone
    assert stop is not None
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        _write(engine)
        # No commit copied the log into the database file: it holds only the schema still.
        assert database.stat().st_size < 100_000
        assert Path(f"{database}-wal").stat().st_size > ROWS * 1000
    finally:
        stop()  # its last pass checkpoints
    assert database.stat().st_size > ROWS * 1000
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == ROWS
    engine.dispose()


def test_the_thread_checkpoints_while_the_process_writes(tmp_path: Path) -> None:
    database = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{database}")
    stop = checkpoint_in_background(engine, every_s=0.05)
    try:
        _write(engine)
        deadline = time.monotonic() + 10
        while database.stat().st_size < ROWS * 1000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert database.stat().st_size > ROWS * 1000
    finally:
        stop()
    engine.dispose()


def test_nothing_to_do_without_a_sqlite_file() -> None:
    assert checkpoint_in_background(make_engine("sqlite://")) is None

"""Writers to a SQLite ledger take turns: across processes on the lock file, within a process on
a lock (engine.ledger.turns), and a turn that never comes does not hang anyone."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from engine.ledger import turns as turns_module
from engine.ledger.turns import WriteTurns


def _hold(lock_file: str, seconds: float, ready, released) -> None:
    """Another process: hold the lock file for a while, then say when it let go."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    ready.set()
    time.sleep(seconds)
    released.value = time.time()
    fcntl.flock(fd, fcntl.LOCK_UN)


def _free(lock_file: Path) -> bool:
    """Whether another open of the lock file could take it now (as another process would)."""
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@pytest.fixture
def holder(tmp_path: Path):
    """Start a process holding the lock file for `seconds`; yields (start, lock_file)."""
    context = multiprocessing.get_context("spawn")
    lock_file = tmp_path / "ledger.db-writelock"
    started = []

    def start(seconds: float):
        ready, released = context.Event(), context.Value("d", 0.0)
        process = context.Process(target=_hold, args=(str(lock_file), seconds, ready, released))
        process.start()
        started.append(process)
        assert ready.wait(30)
        return released

    yield start, lock_file
    for process in started:
        process.join(30)


def test_a_writer_waits_for_another_process_turn(holder) -> None:
    start, lock_file = holder
    released = start(0.5)
    turns = WriteTurns(lock_file)
    with turns.turn():
        entered = time.time()
        assert not _free(lock_file)
    assert released.value > 0 and entered >= released.value
    assert _free(lock_file)


def test_a_nested_turn_keeps_the_file_until_the_outer_one_ends(tmp_path: Path) -> None:
    lock_file = tmp_path / "ledger.db-writelock"
    turns = WriteTurns(lock_file)
    with turns.turn():
        with turns.turn():
            assert not _free(lock_file)
        assert not _free(lock_file)
    assert _free(lock_file)


def test_threads_take_turns(tmp_path: Path) -> None:
    turns = WriteTurns(tmp_path / "ledger.db-writelock")
    inside, log = threading.Event(), []

    def first() -> None:
        with turns.turn():
            log.append("first in")
            inside.set()
            time.sleep(0.2)
            log.append("first out")

    def second() -> None:
        inside.wait(10)
        with turns.turn():
            log.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert log == ["first in", "first out", "second in"]


def test_a_turn_that_never_comes_lets_the_writer_go_on(holder, monkeypatch) -> None:
    """A stuck holder does not hang everyone: after TURN_TIMEOUT_S the writer goes ahead and
    meets SQLite's own lock and busy timeout, as it would without turns."""
    start, lock_file = holder
    start(3.0)
    monkeypatch.setattr(turns_module, "TURN_TIMEOUT_S", 0.1)
    began = time.monotonic()
    with WriteTurns(lock_file).turn():
        waited = time.monotonic() - began
    assert 0.1 <= waited < 2.5


def test_sqlite_ledger_writes_take_turns_on_a_file_beside_it(tmp_path: Path) -> None:
    from sqlalchemy import text

    from engine.ledger.db import make_engine, session_factory
    from engine.ledger.transactions import writing

    engine = make_engine(f"sqlite:///{tmp_path}/ledger.db")
    sessions = session_factory(engine)
    with sessions() as session, writing(session):
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        assert not _free(tmp_path / "ledger.db-writelock")
    assert _free(tmp_path / "ledger.db-writelock")
    engine.dispose()

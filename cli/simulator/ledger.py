"""The simulation's private ledger, and reuse of snapshots between days that changed nothing.

A live tick reads one snapshot per obligation and step: ~8,000 obligation-days a year, most of
which find the ledger exactly as the day before. A snapshot is a function of one obligation's
rows only, so it can be reused until something writes that obligation's rows. Writes are seen
through sqlite3's `total_changes` (exact, per connection) and attributed to whoever was acting:
an obligation's own steps, the agencies that answered, or the obligations whose mail was sent.
A write that cannot be attributed forgets every snapshot. A drain changes only rows that were
waiting to be sent, which the cached snapshots show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, update

from engine.ledger.db import (
    SYNCHRONOUS_KEY,
    SYNCHRONOUS_PINNED,
    make_engine,
    session_factory,
    upgrade,
)
from engine.ledger.meta import INSTALLATION_KEY
from engine.ledger.models import LedgerMeta
from engine.ledger.snapshot import LedgerSnapshot
from engine.ledger.states import OutboxState
from tasks import steps


class Ledger:
    """A migrated SQLite ledger private to one simulation, that knows when it last changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        url = f"sqlite:///{path}"
        upgrade(url)
        # A fixed installation id: the same simulation gives the same Message-IDs every time
        # (a throwaway ledger's letters never reach a real mailbox). On an engine of its own:
        # every connection of self.engine must pass through _on_connect below.
        setup = make_engine(url)
        with setup.begin() as connection:
            connection.execute(
                update(LedgerMeta)
                .where(LedgerMeta.key == INSTALLATION_KEY)
                .values(value="simulation")
            )
        setup.dispose()
        self.engine = make_engine(url)
        self._open: dict[int, Any] = {}
        self._closed_changes = 0
        event.listen(self.engine, "connect", self._on_connect)
        event.listen(self.engine, "close", self._on_close)
        event.listen(self.engine, "close_detached", self._on_close)
        self.sessions = session_factory(self.engine)

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        # A throwaway file: durability across a power cut buys nothing, and an fsync per
        # commit would dominate the run. Pinned, so no write transaction raises it again.
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        record.info[SYNCHRONOUS_KEY] = SYNCHRONOUS_PINNED
        self._open[id(dbapi_connection)] = dbapi_connection

    def _on_close(self, dbapi_connection: Any, *_args: Any) -> None:
        # Emitted before the close: keep the connection's count so the total never goes back.
        if self._open.pop(id(dbapi_connection), None) is not None:
            self._closed_changes += dbapi_connection.total_changes

    def changes(self) -> int:
        """Rows written so far through every connection (sqlite3's total_changes)."""
        return self._closed_changes + sum(c.total_changes for c in self._open.values())

    def dispose(self) -> None:
        self.engine.dispose()


EVERYONE = None


class SnapshotCache:
    """Snapshots per obligation, dropped when a write attributed to that obligation is seen."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._snapshots: dict[str, LedgerSnapshot] = {}
        self._seen = ledger.changes()
        self._actors: set[str] | None = EVERYONE
        self.loads = 0

    def settle(self) -> None:
        """Attribute the writes seen since the last look to whoever was acting."""
        changes = self.ledger.changes()
        if changes == self._seen:
            return
        self._seen = changes
        if self._actors is EVERYONE:
            self._snapshots.clear()
        else:
            for obligation_id in self._actors:
                self._snapshots.pop(obligation_id, None)

    @contextmanager
    def acting(self, obligation_ids: Iterable[str] | None) -> Iterator[None]:
        """Attribute the writes of the block to these obligations (None: to anyone)."""
        self.settle()
        self._actors = EVERYONE if obligation_ids is None else set(obligation_ids)
        try:
            yield
        finally:
            self.settle()
            self._actors = EVERYONE

    def forget(self, obligation_ids: Iterable[str] | None) -> None:
        """Drop snapshots after writes that were made without `acting` (attributed later)."""
        if obligation_ids is None:
            self._snapshots.clear()
        else:
            for obligation_id in obligation_ids:
                self._snapshots.pop(obligation_id, None)
        self._seen = self.ledger.changes()

    def forget_unsent(self) -> None:
        """After a drain: only rows that were pending or being sent can have changed, and every
        such row of an active cycle is in its obligation's (up-to-date) cached snapshot."""
        unsent = (OutboxState.pending.value, OutboxState.sending.value)
        stale = [
            obligation_id
            for obligation_id, snapshot in self._snapshots.items()
            if any(m.state in unsent for m in snapshot.outbox)
        ]
        self.forget(stale)

    def get(self, obligation_id: str, load: Any) -> LedgerSnapshot:
        self.settle()
        cached = self._snapshots.get(obligation_id)
        if cached is None:
            cached = self._snapshots[obligation_id] = load(obligation_id)
            self.loads += 1
        return cached


class SimulatedTickEnv(steps.TickEnv):
    """The live TickEnv; only its snapshot reads go through the simulation's cache."""

    cache: SnapshotCache | None = None

    def snapshot(self, obligation_id: str) -> LedgerSnapshot:
        if self.cache is None:
            return super().snapshot(obligation_id)
        return self.cache.get(obligation_id, super().snapshot)

    def opened_cycles(self, obligation_id: str) -> LedgerSnapshot:
        # The cached full snapshot answers "which periods are open" as well as a fresh read.
        if self.cache is None:
            return super().opened_cycles(obligation_id)
        return self.snapshot(obligation_id)

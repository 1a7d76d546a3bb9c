"""Delivering the portal's letters promptly: one background thread drains the outbox on request.

A receipt should reach the agency while it still has the page open, not at the next daily tick.
Requests that arrive while a drain runs are folded into one more drain; a failure is logged and
the message stays in the outbox for the tick to retry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("kehoach.portal")


class Courier:
    """Runs `deliver` (an outbox drain) in a single background thread, coalescing requests."""

    def __init__(self, deliver: Callable[[], object] | None) -> None:
        self._deliver = deliver
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def kick(self) -> None:
        """Ask for a drain soon; returns at once."""
        if self._deliver is None or self._stopping:
            return
        with self._lock:
            self._idle.clear()
            self._wanted.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="kehoach-portal-courier", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            if not self._wanted.wait(timeout=1.0):
                continue
            self._wanted.clear()
            try:
                report = self._deliver()
                log.info("portal drained the outbox: %s", report)
            except Exception:  # noqa: BLE001 - the tick retries whatever stays in the outbox
                log.exception("portal could not drain the outbox; the next tick will retry")
            with self._lock:
                if not self._wanted.is_set():
                    self._idle.set()

    def wait_idle(self, timeout: float) -> bool:
        """True once no drain is running or wanted (for tests and shutdown)."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self.wait_idle(timeout)
        self._stopping = True
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout)

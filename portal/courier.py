"""Delivering the portal's letters promptly: the outbox is drained on request, in a child process.

A receipt should reach the agency while it still has the page open, not at the next daily tick.
Requests that arrive while a drain runs are folded into one more drain; a failure is logged and
the message stays in the outbox for the tick to retry.

The drain itself (building each MIME message, the SMTP exchange, the outbox marks) runs in a
child process of its own: in the portal's process it took about 2.8 ms of CPU per receipt under
the same GIL as the requests, and at 20 concurrent clients it doubled the POST's p95. The child is
started on the first request, restarted if it dies, and exits when the portal closes (or, if the
portal is killed, when its pipe to the portal breaks).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

log = logging.getLogger("kehoach.portal")
DRAIN, STOP = "drain", "stop"


class DeliveryFailed(Exception):
    """The child process's drain raised; the message says what (the outbox keeps the letters)."""


def _child(deliver: Callable[[], object], pipe: Connection) -> None:
    """The child's loop: one drain per request, its report (or failure) sent back as text."""
    # Ctrl-C in a terminal reaches the whole process group: the portal decides when the child
    # stops (it closes the pipe), so a drain is not cut off midway with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            request = pipe.recv()
        except (EOFError, OSError):
            return  # the portal is gone
        if request != DRAIN:
            return
        try:
            answer = (True, str(deliver()))
        except Exception as error:  # noqa: BLE001 - reported to the portal, which logs it
            answer = (False, f"{type(error).__name__}: {error}")
        try:
            pipe.send(answer)
        except (BrokenPipeError, OSError):
            return


class DeliveryProcess:
    """Calls `deliver` (a module-level function, so that it can be sent to the child) in a
    child process; one call at a time, from the courier's thread."""

    def __init__(self, deliver: Callable[[], object]) -> None:
        self._deliver = deliver
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        # spawn, not fork: the portal has threads (the event loop, the pool) that fork would
        # copy in whatever state they were in.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_child, args=(self._deliver, theirs), name="kehoach-courier", daemon=True
        )
        process.start()
        theirs.close()
        self._process, self._pipe = process, ours

    def __call__(self) -> str:
        """One drain in the child; a dead child is replaced once (draining again is harmless:
        the outbox hands each letter to one drain at a time)."""
        for attempt in (1, 2):
            if self._process is None or not self._process.is_alive():
                self._discard()
                self._start()
            try:
                self._pipe.send(DRAIN)
                ok, report = self._pipe.recv()
            except (EOFError, OSError) as error:
                self._discard()
                if attempt == 2:
                    raise DeliveryFailed(f"the delivery process stopped: {error!r}") from error
                log.warning("the portal's delivery process stopped; starting a new one")
                continue
            if not ok:
                raise DeliveryFailed(report)
            return report
        raise AssertionError("unreachable")

    def _discard(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
        if self._process is not None:
            self._process.join(0.1)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
        self._process = self._pipe = None

    def close(self, timeout: float = 10.0) -> None:
        if self._process is not None and self._process.is_alive() and self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.send(STOP)
            self._process.join(timeout)
        self._discard()


class Courier:
    """Runs drains in a single background thread, coalescing requests; the thread hands each
    drain to the delivery process and waits for it."""

    def __init__(self, deliver: Callable[[], object] | None) -> None:
        self._delivery = DeliveryProcess(deliver) if deliver is not None else None
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def delivery(self) -> DeliveryProcess | None:
        return self._delivery

    def kick(self) -> None:
        """Ask for a drain soon; returns at once."""
        if self._delivery is None or self._stopping:
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
                report = self._delivery()
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
        if self._delivery is not None:
            self._delivery.close(timeout)

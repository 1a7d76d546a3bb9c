"""Rate limits for what strangers can make the portal do: answers per link and per client
address, versions per cycle, CSRF token lifetime, and the operator login's back-off.

One portal process holds these counters in memory (the portal runs as one process; behind a
reverse proxy uvicorn takes the client's address from X-Forwarded-For sent by the proxy).
Every figure is configurable through KEHOACH_PORTAL_* variables; the defaults are generous for
a person answering a form and tight for a script replaying one.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, fields

ENV_PREFIX = "KEHOACH_PORTAL_"


@dataclass(frozen=True)
class RateLimits:
    """The portal's limits (each from KEHOACH_PORTAL_<NAME> when set)."""

    # Answers recorded through one link within `window_seconds`.
    answers_per_link: int = 10
    # Answer submissions (recorded or not) from one client address within `window_seconds`.
    answers_per_address: int = 60
    window_seconds: float = 600.0
    # Versions one assignment may reach in a cycle through the portal.
    versions_per_cycle: int = 50
    # How long a rendered form (its CSRF token) may be posted back.
    csrf_max_age_seconds: float = 12 * 3600.0
    # Failed operator logins from one address before it must wait; the wait doubles after.
    login_failures: int = 5
    login_backoff_seconds: float = 1.0
    login_backoff_max_seconds: float = 900.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RateLimits:
        """The defaults overridden by KEHOACH_PORTAL_ANSWERS_PER_LINK etc.; ValueError in
        Vietnamese for a value that is not a positive number."""
        environ = os.environ if environ is None else environ
        values = {}
        for item in fields(cls):
            raw = environ.get(ENV_PREFIX + item.name.upper())
            if raw is None or not raw.strip():
                continue
            kind = int if item.type in ("int", int) else float
            try:
                value = kind(raw)
            except ValueError:
                value = -1
            if not value > 0 or (kind is float and not math.isfinite(value)):
                raise ValueError(
                    f"{ENV_PREFIX + item.name.upper()}={raw!r} không hợp lệ: cần một số dương."
                )
            values[item.name] = value
        return cls(**values)


class SlidingWindow:
    """At most `limit` events per key within `seconds`; remembers at most `max_keys` keys."""

    def __init__(self, limit: int, seconds: float, max_keys: int = 50_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float | None = None, *, record: bool = True) -> float:
        """0 if one more event is allowed now (counted unless `record` is False), else the
        seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = deque()
                if len(self._events) > self.max_keys:
                    self._events.popitem(last=False)
            self._events.move_to_end(key)
            while events and events[0] <= now - self.seconds:
                events.popleft()
            if len(events) >= self.limit:
                return max(events[0] + self.seconds - now, 1.0)
            if record:
                events.append(now)
            return 0.0


class LoginThrottle:
    """Back-off per client address after failed operator logins: after `failures` failures
    every attempt must wait `backoff` seconds, doubling with each further failure up to
    `backoff_max`. A waiting client is refused before its password is even hashed, so guessing
    costs the portal no scrypt work either."""

    def __init__(self, limits: RateLimits, max_keys: int = 50_000) -> None:
        self.limits = limits
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str, now: float | None = None) -> float:
        """Seconds `address` must still wait before its next attempt (0: go ahead)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures, until = self._state.get(address, (0, 0.0))
        return max(until - now, 0.0) if failures >= self.limits.login_failures else 0.0

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            failures, _ = self._state.get(address, (0, 0.0))
            failures += 1
            over = failures - self.limits.login_failures
            delay = 0.0
            if over >= 0:
                delay = min(
                    self.limits.login_backoff_seconds * 2 ** min(over, 30),
                    self.limits.login_backoff_max_seconds,
                )
            self._state[address] = (failures, now + delay)
            self._state.move_to_end(address)
            if len(self._state) > self.max_keys:
                self._state.popitem(last=False)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._state.pop(address, None)

"""When a letter that failed for now is tried again, and when it is given up."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """When a letter that failed for now is tried again, and when it is given up.

    The n-th consecutive transient failure waits first * 2**(n-1), at most `ceiling`, spread by
    ±jitter so that letters deferred together do not all come back in the same second. A letter
    is given up (failed, an alert) once `give_up_after` has passed since its first failure.
    """

    first: dt.timedelta = dt.timedelta(minutes=5)
    ceiling: dt.timedelta = dt.timedelta(hours=4)
    give_up_after: dt.timedelta = dt.timedelta(days=3)
    jitter: float = 0.2

    def delay(self, failures: int, rng: random.Random | None = None) -> dt.timedelta:
        """The wait after the given number of consecutive failures (1 = the first)."""
        base = min(self.first * 2 ** max(failures - 1, 0), self.ceiling)
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return min(base * (1 + spread), self.ceiling)

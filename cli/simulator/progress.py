"""A plain progress bar on stderr, drawn only when stderr is a terminal (never in logs or CI)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TextIO

WIDTH = 30


class DayProgress:
    """Redraws one line as the simulated days go by; `done()` ends the line."""

    def __init__(self, start: dt.date, end: dt.date, stream: TextIO | None = None) -> None:
        self.start, self.total = start, max(1, (end - start).days + 1)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._shown = -1

    def __call__(self, day: dt.date) -> None:
        if not self.enabled:
            return
        done = min(self.total, (day - self.start).days + 1)
        filled = WIDTH * done // self.total
        if filled == self._shown and done < self.total:
            return
        self._shown = filled
        bar = "#" * filled + "-" * (WIDTH - filled)
        extra = " (theo dõi đến khi đóng kỳ)" if done >= self.total else ""
        self.stream.write(f"\rMô phỏng [{bar}] {day:%d/%m/%Y}{extra} ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()

"""A transport that captures mail instead of sending it, for the simulator.

It has the shape of notifications.sender.Sender (`send_each(messages)` yielding one SendResult
per message, `prepare_ahead()`, `keep_connected()`), so tasks.steps.drain_outbox runs unchanged:
rows are claimed, "sent" and marked in the ledger exactly as in a live tick. A message the real
sender would refuse before connecting (bad address, bad Message-ID) is refused here too, so a
definition error shows in the simulation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from notifications import mime
from notifications.sender import OutgoingMessage, SendResult


@dataclass(frozen=True)
class CapturedMessage:
    """One message the simulation delivered, with the simulated day it went out."""

    day: dt.date
    message: OutgoingMessage


@dataclass
class CaptureTransport:
    """Accepts every well-formed message and keeps it; `day` is set by the simulation clock."""

    day: dt.date = dt.date.min
    captured: list[CapturedMessage] = field(default_factory=list)
    refused: list[tuple[dt.date, OutgoingMessage, str]] = field(default_factory=list)

    def send_each(self, messages: Sequence[OutgoingMessage]) -> Iterator[SendResult]:
        for message in messages:
            # The live sender's own pre-flight check, so both refuse the same messages.
            problem = mime.problem(message)
            if problem:
                self.refused.append((self.day, message, problem))
                yield SendResult(message.message_id, accepted=False, retryable=False, error=problem)
                continue
            self.captured.append(CapturedMessage(self.day, message))
            yield SendResult(message.message_id, accepted=True)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return list(self.send_each(messages))

    @contextlib.contextmanager
    def prepare_ahead(self) -> Iterator[CaptureTransport]:
        """The live sender's drain-long helper; nothing is built here, so nothing to start."""
        yield self

    @contextlib.contextmanager
    def keep_connected(self) -> Iterator[CaptureTransport]:
        """The live sender's drain-long SMTP connection; nothing to connect here."""
        yield self

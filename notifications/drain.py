"""Drain the outbox: claim a batch, send it, mark each message the moment the server answered.

Written against plain callables so the ledger can supply its own claim and mark functions.
Pass `Sender.send_each` as `send_batch` and each message is marked right after the server
accepted it, so a crash mid-batch can resend at most the one message in flight (with the same
Message-ID); `Sender.send_batch` works too, marking after the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from notifications.sender import OutgoingMessage, SendResult

log = logging.getLogger(__name__)


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    retryable: int = 0
    batches: int = 0
    stopped_because: str = "outbox empty"
    errors: list[str] = field(default_factory=list)


def drain(
    claim: Callable[[int], Sequence[OutgoingMessage]],
    send_batch: Callable[[Sequence[OutgoingMessage]], Iterable[SendResult]],
    mark_sent: Callable[[SendResult], None],
    mark_failed: Callable[[SendResult], None],
    batch_size: int = 50,
    max_batches: int | None = None,
) -> DrainReport:
    """Claim → send → mark until the outbox is empty, the server takes nothing, or max_batches."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    report = DrainReport()
    while max_batches is None or report.batches < max_batches:
        batch = list(claim(batch_size))
        if not batch:
            return report
        report.batches += 1
        expected = {m.message_id for m in batch}
        accepted_in_batch = 0
        for result in send_batch(batch):
            if result.message_id not in expected:
                raise RuntimeError(f"sender returned a result for unclaimed {result.message_id}")
            expected.discard(result.message_id)
            if result.accepted:
                mark_sent(result)
                report.sent += 1
                accepted_in_batch += 1
            else:
                mark_failed(result)
                report.failed += 1
                report.retryable += result.retryable
                if result.error:
                    report.errors.append(f"{result.message_id}: {result.error}")
        if expected:
            # Never guess: a message without a result stays claimed and is retried later.
            raise RuntimeError(f"sender returned no result for {sorted(expected)}")
        if accepted_in_batch == 0:
            # The server took nothing (down, or every message refused): claiming again now
            # would only spin on the same rows.
            report.stopped_because = "no message accepted in the last batch"
            log.warning("outbox drain stopped: %s", report.stopped_because)
            return report
    report.stopped_because = f"reached max_batches={max_batches}"
    return report

"""Drain the outbox: claim a batch, send it, mark each message the moment the server answered.

Written against plain callables so the ledger can supply its own claim and mark functions.
Pass `Sender.send_each` as `send_batch` and each message is marked right after the server
accepted it, so a crash mid-batch can resend at most the one message in flight (with the same
Message-ID); `Sender.send_batch` works too, marking after the whole batch.

A message counts as sent only when every address in its To was accepted: a refused To with an
accepted Cc is a failure for the body the letter was for (see `judge`).
"""

from __future__ import annotations

import dataclasses
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
    # Set when the relay could not be reached at all (the drain stopped for that reason).
    relay_down: str | None = None
    # Letters given up for good during this drain (filled by the ledger's mark_failed).
    gave_up: list[dict[str, object]] = field(default_factory=list)


def judge(message: OutgoingMessage, result: SendResult) -> SendResult:
    """The result as the outbox must record it: accepted only if every To address was.

    A To refused while a Cc was accepted is a failure for the body (retryable only if every
    refusal of a To address was temporary, 4xx).
    """
    if not result.accepted:
        return result
    refused_to = {a: result.refused[a] for a in message.to if a in result.refused}
    if not refused_to:
        return result
    detail = "; ".join(f"{a}: {reason}" for a, reason in refused_to.items())
    temporary = all(reason[:1] == "4" for reason in refused_to.values())
    others = ", ".join(result.accepted_by) or "nobody"
    return dataclasses.replace(
        result,
        accepted=False,
        retryable=temporary,
        error=f"To refused: {detail} (only {others} accepted it)",
    )


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
        expected = {m.message_id: m for m in batch}
        accepted_in_batch = retryable_in_batch = 0
        for raw in send_batch(batch):
            message = expected.pop(raw.message_id, None)
            if message is None:
                raise RuntimeError(f"sender returned a result for unclaimed {raw.message_id}")
            result = judge(message, raw)
            if result.accepted:
                mark_sent(result)
                report.sent += 1
                accepted_in_batch += 1
            else:
                mark_failed(result)
                report.failed += 1
                report.retryable += result.retryable
                retryable_in_batch += result.retryable
                if result.relay_down:
                    report.relay_down = result.error or "relay unreachable"
                if result.error:
                    report.errors.append(f"{result.message_id}: {result.error}")
        if expected:
            # Never guess: a message without a result stays claimed and is retried later.
            raise RuntimeError(f"sender returned no result for {sorted(expected)}")
        if report.relay_down or (accepted_in_batch == 0 and retryable_in_batch):
            # The server is down or asks us to wait: claiming again now would only spin.
            report.stopped_because = "no message accepted in the last batch"
            if report.relay_down:
                report.stopped_because += f" (relay unreachable: {report.relay_down})"
            log.warning("outbox drain stopped: %s", report.stopped_because)
            return report
    report.stopped_because = f"reached max_batches={max_batches}"
    return report

"""The outbox drain loop against a small in-memory outbox and the real sender and sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from notifications.drain import drain
from notifications.mailsink import MailSinkHandler, running_sink
from notifications.sender import OutgoingMessage, SendResult


@dataclass
class ListOutbox:
    """The simplest outbox: pending rows in order; sent and failed rows leave the queue."""

    pending: list[OutgoingMessage]
    mail_dir: Path
    sent: list[str] = field(default_factory=list)
    failed: dict[str, SendResult] = field(default_factory=dict)
    stored_when_marked: list[int] = field(default_factory=list)

    def claim(self, limit: int) -> list[OutgoingMessage]:
        return [m for m in self.pending if m.message_id not in self.failed][:limit]

    def mark_sent(self, result: SendResult) -> None:
        # How many messages the server had stored at the moment we recorded this one.
        self.stored_when_marked.append(len(list(self.mail_dir.glob("*.eml"))))
        self.sent.append(result.message_id)
        self.pending = [m for m in self.pending if m.message_id != result.message_id]

    def mark_failed(self, result: SendResult) -> None:
        if not result.retryable:
            self.failed[result.message_id] = result
        else:
            # Retryable rows stay pending; a real ledger would also push back their next attempt.
            self.failed.pop(result.message_id, None)


def test_drain_sends_everything_and_marks_each_right_after_acceptance(
    sink, make_sender, make_message
) -> None:
    outbox = ListOutbox([make_message(n) for n in range(7)], sink.mail_dir)
    report = drain(
        outbox.claim,
        make_sender(sink).send_each,
        outbox.mark_sent,
        outbox.mark_failed,
        batch_size=3,
    )
    assert report.sent == 7 and report.failed == 0 and report.batches == 3
    assert outbox.pending == []
    assert sorted(outbox.sent) == sorted(m.message_id for m in sink.messages())
    # Marked one by one as the server took each message, not after the whole batch.
    assert outbox.stored_when_marked == [1, 2, 3, 4, 5, 6, 7]


def test_drain_with_send_batch_marks_after_the_batch(sink, make_sender, make_message) -> None:
    outbox = ListOutbox([make_message(n) for n in range(4)], sink.mail_dir)
    report = drain(
        outbox.claim,
        make_sender(sink).send_batch,
        outbox.mark_sent,
        outbox.mark_failed,
        batch_size=2,
    )
    assert report.sent == 4
    assert outbox.stored_when_marked == [2, 2, 4, 4]


class RejectOne(MailSinkHandler):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("khong-ton-tai@"):
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_permanent_failure_is_marked_and_the_rest_flows(
    mail_dir: Path, make_sender, make_message
) -> None:
    messages = [make_message(n) for n in range(5)]
    messages[1] = make_message(1, to=["khong-ton-tai@so-tai-chinh.tuyenquang.example"])
    with running_sink(mail_dir, handler=RejectOne(mail_dir)) as sink:
        outbox = ListOutbox(list(messages), mail_dir)
        report = drain(
            outbox.claim,
            make_sender(sink).send_each,
            outbox.mark_sent,
            outbox.mark_failed,
            batch_size=2,
        )
        stored = {m.message_id for m in sink.messages()}
    assert report.sent == 4 and report.failed == 1 and report.retryable == 0
    assert set(outbox.failed) == {messages[1].message_id}
    assert "550" in outbox.failed[messages[1].message_id].error
    assert stored == set(outbox.sent) and messages[1].message_id not in stored


def test_drain_stops_when_the_server_takes_nothing(make_sender, make_message, sleeps) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outbox = ListOutbox([make_message(n) for n in range(5)], Path("/nonexistent"))
    report = drain(
        outbox.claim,
        make_sender(port, retries=1).send_each,
        outbox.mark_sent,
        outbox.mark_failed,
        batch_size=2,
    )
    # Retryable failures stay pending; without the stop this loop would never end.
    assert report.batches == 1 and report.sent == 0 and report.failed == 2
    assert report.retryable == 2 and "no message accepted" in report.stopped_because
    assert len(outbox.pending) == 5 and outbox.sent == []


def test_a_sender_that_loses_a_result_is_an_error(make_message) -> None:
    outbox = ListOutbox([make_message(n) for n in range(2)], Path("/nonexistent"))

    def forgetful(batch):
        return [SendResult(batch[0].message_id, accepted=True)]

    with pytest.raises(RuntimeError, match="no result"):
        drain(outbox.claim, forgetful, outbox.mark_sent, outbox.mark_failed, batch_size=5)


def test_max_batches_and_bad_batch_size(sink, make_sender, make_message) -> None:
    outbox = ListOutbox([make_message(n) for n in range(5)], sink.mail_dir)
    report = drain(
        outbox.claim,
        make_sender(sink).send_each,
        outbox.mark_sent,
        outbox.mark_failed,
        batch_size=2,
        max_batches=1,
    )
    assert report.sent == 2 and len(outbox.pending) == 3
    assert "max_batches" in report.stopped_because
    with pytest.raises(ValueError, match="batch_size"):
        drain(outbox.claim, make_sender(sink).send_each, outbox.mark_sent, outbox.mark_failed, 0)


class RefuseTo(MailSinkHandler):
    """550 for one mailbox, 451 for another; everyone else is accepted."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("giam-doc@"):
            return "550 5.1.1 User unknown"
        if address.startswith("ban@"):
            return "451 4.3.0 Mailbox busy"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_to_with_an_accepted_cc_is_not_sent(
    mail_dir: Path, make_sender, make_message
) -> None:
    cc = "van-thu@so-tu-phap.tuyenquang.example"
    refused = make_message(1, to=["giam-doc@so-tu-phap.tuyenquang.example"], cc=[cc])
    busy = make_message(2, to=["ban@so-tu-phap.tuyenquang.example"], cc=[cc])
    cc_refused = make_message(3, to=[cc], cc=["giam-doc@so-tu-phap.tuyenquang.example"])
    with running_sink(mail_dir, handler=RefuseTo(mail_dir)) as sink:
        outbox = ListOutbox([refused, busy, cc_refused], mail_dir)
        marked_failed: list[SendResult] = []

        def mark_failed(result: SendResult) -> None:
            marked_failed.append(result)
            outbox.failed[result.message_id] = result

        report = drain(
            outbox.claim, make_sender(sink, retries=0).send_each, outbox.mark_sent, mark_failed
        )
        stored = {m.message_id for m in sink.messages()}
    # The Cc got all three; only the letter whose To was accepted counts as sent.
    assert stored == {refused.message_id, busy.message_id, cc_refused.message_id}
    assert outbox.sent == [cc_refused.message_id] and report.sent == 1
    by_id = {r.message_id: r for r in marked_failed}
    assert not by_id[refused.message_id].retryable
    assert "To refused" in by_id[refused.message_id].error
    assert by_id[refused.message_id].outcomes == {
        "giam-doc@so-tu-phap.tuyenquang.example": "550 5.1.1 User unknown",
        cc: "accepted",
    }
    assert by_id[busy.message_id].retryable  # a 451 on the To: tried again later

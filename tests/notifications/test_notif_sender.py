"""Sending through yagmail to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from notifications.mailsink import MailSinkHandler, running_sink
from notifications.sender import OutgoingMessage


def parsed(path: Path):
    return message_from_bytes(path.read_bytes(), policy=policy.default)


class CountingHandler(MailSinkHandler):
    """Stores like the sink and counts SMTP sessions (one EHLO per connection)."""

    def __init__(self, mail_dir: Path) -> None:
        super().__init__(mail_dir)
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses


def test_batch_delivers_valid_mime_with_fixed_message_ids(
    mail_dir: Path, make_sender, make_message
):
    handler = CountingHandler(mail_dir)
    messages = [make_message(n) for n in range(5)]
    with running_sink(mail_dir, handler=handler) as sink:
        results = make_sender(sink).send_batch(messages)
        stored = sink.messages()

    assert [r.message_id for r in results] == [m.message_id for m in messages]
    assert all(r.accepted and r.error is None for r in results)
    assert handler.sessions == 1, "one SMTP connection for the whole batch"
    assert len(stored) == 5
    by_id = {s.message_id: s for s in stored}
    for message in messages:
        mail = parsed(by_id[message.message_id].path)
        assert mail.get_all("Message-ID") == [message.message_id]
        assert mail["Subject"] == message.subject  # decoded, diacritics intact
        assert "Báo cáo kết quả công tác truyền thông chính sách" in mail["Subject"]
        assert mail["To"].addresses[0].addr_spec == message.to[0]
        assert mail["From"].addresses[0].addr_spec == "kehoach@localhost"
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["Date"].datetime.utcoffset().total_seconds() == 7 * 3600
        assert mail.get_content_type() == "multipart/mixed"
        assert not mail.defects and not any(part.defects for part in mail.walk())
        alternative = next(
            p for p in mail.walk() if p.get_content_type() == "multipart/alternative"
        )
        kinds = [p.get_content_type() for p in alternative.iter_parts()]
        assert kinds == ["text/plain", "text/html"]
        assert mail.get_body(("plain",)).get_content() == message.text
        assert mail.get_body(("html",)).get_content() == message.html
        assert "<br>" not in mail.get_body(("plain",)).get_content()


def test_subject_header_is_folded_ascii_on_the_wire(sink, make_sender, make_message) -> None:
    message = make_message(1, kind="closed-summary")
    assert len(message.subject) > 100
    make_sender(sink).send_batch([message])
    raw = sink.messages()[0].path.read_bytes()
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    header = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert all(len(line) <= 78 for line in header.splitlines() if "=?utf-8?" in line)
    assert parsed(sink.messages()[0].path)["Subject"] == message.subject


def test_cc_and_attachments_arrive(sink, make_sender, make_message, tmp_path: Path) -> None:
    attachment = tmp_path / "bao-cao-2026.pdf"
    attachment.write_bytes(b"%PDF-1.4 kehoach test\n" * 40)
    message = make_message(
        1,
        to=["van-thu@so-tu-phap.tuyenquang.example"],
        cc=["giam-doc@so-tu-phap.tuyenquang.example"],
        kind="escalation",
        attachments=[attachment],
    )
    [result] = make_sender(sink).send_batch([message])
    assert result.accepted
    mail = parsed(sink.messages()[0].path)
    assert [a.addr_spec for a in mail["Cc"].addresses] == ["giam-doc@so-tu-phap.tuyenquang.example"]
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "bao-cao-2026.pdf"
    assert part.get_content() == attachment.read_bytes()
    assert mail.get_body(("plain",)).get_content() == message.text


class AcceptThenShutDown(MailSinkHandler):
    """Accepts `limit` messages, then answers 421 and stops the whole server."""

    def __init__(self, mail_dir: Path, limit: int) -> None:
        super().__init__(mail_dir)
        self.limit = limit
        self.accepted = 0
        self.sink = None
        self.stopper: threading.Thread | None = None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.accepted >= self.limit:
            return "421 4.3.2 Service shutting down"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        status = await super().handle_DATA(server, session, envelope)
        self.accepted += 1
        if self.accepted == self.limit:
            # controller.stop() joins the loop thread, so it must run from another thread.
            self.stopper = threading.Thread(target=self.sink.stop)
            self.stopper.start()
        return status


def test_server_stopping_mid_batch_reports_exactly_what_was_accepted(
    mail_dir: Path, make_sender, make_message, sleeps
) -> None:
    handler = AcceptThenShutDown(mail_dir, limit=3)
    messages = [make_message(n) for n in range(7)]
    with running_sink(mail_dir, handler=handler) as sink:
        handler.sink = sink
        results = make_sender(sink, retries=2).send_batch(messages)
        handler.stopper.join(timeout=10)
        stored_ids = {s.message_id for s in sink.messages()}

    assert [r.accepted for r in results] == [True] * 3 + [False] * 4
    assert stored_ids == {m.message_id for m in messages[:3]}
    assert {r.message_id for r in results if r.accepted} == stored_ids
    for result in results[3:]:
        assert result.retryable and result.error
    assert sleeps == [0.1, 0.2], "two retries with exponential back-off, then give up"


def test_server_gone_between_messages(mail_dir: Path, make_sender, make_message, sleeps) -> None:
    messages = [make_message(n) for n in range(4)]
    with running_sink(mail_dir) as sink:
        delivery = make_sender(sink, retries=1).send_each(messages)
        first = next(delivery)
        sink.stop()
        rest = list(delivery)
        stored = sink.messages()
    assert first.accepted and first.message_id == messages[0].message_id
    assert [r.accepted for r in rest] == [False, False, False]
    assert all(r.retryable for r in rest)
    assert [s.message_id for s in stored] == [messages[0].message_id]


def test_no_server_at_all_is_retryable_for_every_message(make_sender, make_message, sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    results = make_sender(port, retries=3).send_batch([make_message(n) for n in range(3)])
    assert [r.accepted for r in results] == [False, False, False]
    assert all(r.retryable and "connect" in r.error for r in results)
    assert sleeps == [0.1, 0.2, 0.4]


class RefusingHandler(MailSinkHandler):
    """Refuses one mailbox for good (550) and another once for now (451)."""

    def __init__(self, mail_dir: Path) -> None:
        super().__init__(mail_dir)
        self.busy_seen = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("khong-ton-tai@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("ban@") and not self.busy_seen:
            self.busy_seen = True
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_permanent_refusal_is_not_retryable(mail_dir: Path, make_sender, make_message) -> None:
    unknown = "khong-ton-tai@so-noi-vu.tuyenquang.example"
    good = "van-thu@so-noi-vu.tuyenquang.example"
    messages = [
        make_message(1, to=[unknown]),
        make_message(2, to=[good], cc=[unknown]),
        make_message(3, to=[good]),
    ]
    with running_sink(mail_dir, handler=RefusingHandler(mail_dir)) as sink:
        refused, partial, fine = make_sender(sink).send_batch(messages)
        stored = {s.message_id for s in sink.messages()}

    assert not refused.accepted and not refused.retryable
    assert "550" in refused.error and unknown in refused.error
    assert partial.accepted and set(partial.refused) == {unknown}
    assert partial.refused[unknown].startswith("550")
    assert fine.accepted
    assert stored == {messages[1].message_id, messages[2].message_id}


def test_temporary_refusal_is_retried_then_accepted(
    mail_dir: Path, make_sender, make_message, sleeps
) -> None:
    message = make_message(1, to=["ban@so-tai-chinh.tuyenquang.example"])
    with running_sink(mail_dir, handler=RefusingHandler(mail_dir)) as sink:
        [result] = make_sender(sink).send_batch([message])
        stored = sink.messages()
    assert result.accepted
    assert sleeps == [0.1]
    assert [s.message_id for s in stored] == [message.message_id]


def test_malformed_messages_fail_alone(sink, make_sender, make_message) -> None:
    good = make_message(1)
    bad_id = OutgoingMessage(**{**good.__dict__, "message_id": "khong-co-ngoac"})
    bad_subject = OutgoingMessage(
        **{**good.__dict__, "message_id": "<x.2@t.example>", "subject": "A\r\nBcc: x@y.example"}
    )
    missing_file = OutgoingMessage(
        **{**good.__dict__, "message_id": "<x.3@t.example>", "attachments": [Path("/khong/co")]}
    )
    second_id = OutgoingMessage(
        **{**good.__dict__, "message_id": "<x.4@t.example>", "headers": {"Message-ID": "<y@t>"}}
    )
    bad_reply_to = OutgoingMessage(
        **{**good.__dict__, "message_id": "<x.5@t.example>", "reply_to": "a@b\r\nBcc: c@d"}
    )
    batch = [bad_id, bad_subject, good, missing_file, second_id, bad_reply_to]
    results = make_sender(sink).send_batch(batch)
    assert [r.accepted for r in results] == [False, False, True, False, False, False]
    assert all(not r.retryable for r in results if not r.accepted)
    assert "Message-ID" in results[0].error and "line break" in results[1].error
    assert "attachment not found" in results[3].error
    assert "set by the sender" in results[4].error and "Reply-To" in results[5].error
    assert [s.message_id for s in sink.messages()] == [good.message_id]


def test_yagmail_headers_param_would_duplicate_the_message_id() -> None:
    """Why the sender passes message_id= rather than headers=: yagmail adds its own."""
    from yagmail.headers import resolve_addresses
    from yagmail.message import prepare_message

    addresses = resolve_addresses("kehoach@localhost", "k", ["a@b.example"], None, None)
    mime = prepare_message(
        "kehoach@localhost",
        "k",
        addresses,
        "x",
        None,
        None,
        {"Message-ID": "<fixed@kehoach>"},
        "utf-8",
        False,
    )
    ids = mime.get_all("Message-ID")
    assert len(ids) == 2 and "<fixed@kehoach>" in ids


@pytest.mark.parametrize("retries", [0])
def test_zero_retries_gives_up_at_once(make_sender, make_message, sleeps, retries) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [result] = make_sender(port, retries=retries).send_batch([make_message(1)])
    assert not result.accepted and result.retryable and sleeps == []


class DropsWhenTold(CountingHandler):
    """Counts sessions and QUITs; answers 421 to the next MAIL once `drop` is set (a relay
    closing a connection it found idle)."""

    def __init__(self, mail_dir: Path) -> None:
        super().__init__(mail_dir)
        self.drop = False
        self.quits = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop:
            self.drop = False
            return "421 4.4.2 Idle connection closed"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self.quits += 1
        return "221 Bye"


def test_a_kept_connection_serves_the_next_batches_and_is_replaced_when_dropped(
    mail_dir: Path, make_sender, make_message, sleeps
) -> None:
    handler = DropsWhenTold(mail_dir)
    batches = [[make_message(n) for n in range(i * 3, i * 3 + 3)] for i in range(3)]
    with running_sink(mail_dir, handler=handler) as sink:
        sender = make_sender(sink)
        with sender.keep_connected():
            results = sender.send_batch(batches[0]) + sender.send_batch(batches[1])
            assert (handler.sessions, handler.quits) == (1, 0), "one connection, still open"
            handler.drop = True
            results += sender.send_batch(batches[2])
        assert (handler.sessions, handler.quits) == (2, 1), "reconnected once, closed on leaving"
        results += sender.send_batch([make_message(9)])  # outside: its own connection again
        stored = sink.messages()
    sent = [m.message_id for batch in batches for m in batch] + [make_message(9).message_id]
    assert [r.message_id for r in results] == sent and all(r.accepted for r in results)
    assert sorted(s.message_id for s in stored) == sorted(sent), "each delivered once"
    assert sleeps == [0.1] and (handler.sessions, handler.quits) == (3, 2)

"""The development mail sink: a real SMTP server on loopback that keeps every message as .eml.

Each accepted message is written atomically (temporary file, then rename) under the mail
directory as `<UTC time>-<hash of Message-ID>.eml`, exactly the bytes the client sent. A small
web page (notifications.mailsink_web) lists and shows them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

DEFAULT_MAIL_DIR = Path("var/mail")


# --- storing --------------------------------------------------------------------------------


def store_message(mail_dir: Path, data: bytes) -> Path:
    """Write one received message atomically; returns the final path."""
    mail_dir.mkdir(parents=True, exist_ok=True)
    try:
        headers = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
        key = str(headers.get("Message-ID", "")).strip()
    except Exception:  # a sink keeps even a message it cannot parse
        key = ""
    key = key or hashlib.sha256(data).hexdigest()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    fd, tmp = tempfile.mkstemp(dir=mail_dir, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        for n in range(1000):
            final = mail_dir / f"{stamp}-{digest}{f'-{n}' if n else ''}.eml"
            if not final.exists():
                os.replace(tmp, final)
                return final
        raise FileExistsError(f"no free file name for {stamp}-{digest}")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def for_mailbox(address: str, recipients: list[str]) -> bool:
    """Whether one of the recipients is `address` or a plus-address of it (nop+token@…)."""
    local, _, domain = address.lower().partition("@")
    for recipient in recipients:
        r_local, _, r_domain = recipient.lower().partition("@")
        if r_domain == domain and r_local.split("+", 1)[0] == local:
            return True
    return False


class MailSinkHandler:
    """aiosmtpd handler that stores every message; subclass it to refuse or misbehave in tests.

    With `intake` = (the intake mailbox, a Maildir), mail for that mailbox (replies to our
    letters) is also delivered into the Maildir, where `kehoach intake` reads it as it would
    read the province's IMAP mailbox.
    """

    def __init__(self, mail_dir: Path, intake: tuple[str, Path] | None = None) -> None:
        self.mail_dir = Path(mail_dir)
        self.intake = intake

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            path = store_message(self.mail_dir, envelope.original_content)
            if self.intake and for_mailbox(self.intake[0], list(envelope.rcpt_tos)):
                from notifications.mailbox import deliver_to_maildir

                deliver_to_maildir(self.intake[1], envelope.original_content, path.stem)
        except OSError as exc:
            log.error("mail sink cannot store a message: %s", exc)
            return "451 4.3.0 Cannot store the message now, try again later"
        log.info("mail sink stored %s for %s", path.name, ", ".join(envelope.rcpt_tos))
        return "250 2.0.0 Message accepted for delivery"


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageSummary:
    path: Path
    message_id: str
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    date: dt.datetime | None


def read_message(path: Path) -> EmailMessage:
    with open(path, "rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)


def _addresses(message: EmailMessage, name: str) -> list[str]:
    header = message.get(name)
    if header is None:
        return []
    try:
        return [a.addr_spec for a in header.addresses]
    except (AttributeError, ValueError):
        return [str(header)]


def summarize(path: Path) -> MessageSummary:
    message = read_message(path)
    try:
        date = message["Date"].datetime if message["Date"] is not None else None
    except (AttributeError, ValueError, TypeError):
        date = None
    return MessageSummary(
        path=path,
        message_id=str(message.get("Message-ID", "")).strip(),
        sender=str(message.get("From", "")),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        subject=str(message.get("Subject", "")),
        date=date,
    )


def list_messages(mail_dir: Path) -> list[MessageSummary]:
    """Summaries of every stored message, oldest first."""
    mail_dir = Path(mail_dir)
    if not mail_dir.is_dir():
        return []
    return [summarize(p) for p in sorted(mail_dir.glob("*.eml"))]


@dataclass(frozen=True)
class MessageBody:
    text: str | None
    html: str | None
    attachments: list[tuple[str, int]]  # (file name, size in bytes)


def message_body(message: EmailMessage) -> MessageBody:
    """The text and HTML parts and the attachments of a parsed message."""
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments = [
        (part.get_filename() or "(không tên)", len(part.get_payload(decode=True) or b""))
        for part in message.iter_attachments()
    ]
    return MessageBody(
        text=text_part.get_content() if text_part is not None else None,
        html=html_part.get_content() if html_part is not None else None,
        attachments=attachments,
    )


# --- running --------------------------------------------------------------------------------


class _Controller(Controller):
    """aiosmtpd Controller that also works with port 0 (the OS picks a free port)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class RunningSink:
    host: str
    port: int
    mail_dir: Path
    http_port: int | None
    controller: Controller
    _http: Any = None
    _stopped: bool = False

    def messages(self) -> list[MessageSummary]:
        return list_messages(self.mail_dir)

    def stop(self) -> None:
        """Stop the SMTP server (and the page); safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.controller.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()


@contextlib.contextmanager
def running_sink(
    mail_dir: Path,
    port: int = 0,
    host: str = "127.0.0.1",
    http_port: int | None = None,
    handler: Any = None,
    intake: tuple[str, Path] | None = None,
) -> Iterator[RunningSink]:
    """Run the sink in background threads for the duration of the block; port 0 = any free."""
    mail_dir = Path(mail_dir)
    mail_dir.mkdir(parents=True, exist_ok=True)
    handler = handler or MailSinkHandler(mail_dir, intake)
    controller = _Controller(handler, hostname=host, port=port)
    controller.start()
    sink = RunningSink(host, controller.port, mail_dir, None, controller)
    try:
        if http_port is not None:
            from notifications.mailsink_web import start_page

            sink._http = start_page(host, http_port, mail_dir)
            sink.http_port = sink._http.server_address[1]
        yield sink
    finally:
        sink.stop()


def run_sink(
    host: str = "127.0.0.1",
    port: int = 1025,
    mail_dir: Path = DEFAULT_MAIL_DIR,
    http_port: int | None = 8025,
    intake: tuple[str, Path] | None = None,
) -> None:
    """Run the sink in the foreground until SIGINT or SIGTERM."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with running_sink(
            Path(mail_dir), port=port, host=host, http_port=http_port, intake=intake
        ) as sink:
            log.info("mail sink: SMTP %s:%d, storing in %s", host, sink.port, sink.mail_dir)
            if sink.http_port is not None:
                log.info("mail sink page: http://%s:%d/", host, sink.http_port)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> None:
    """`python -m notifications.mailsink`: run the sink with its page in the foreground."""
    import argparse

    parser = argparse.ArgumentParser(description="Hộp thư thử nghiệm (SMTP trên máy này).")
    parser.add_argument("--host", default="127.0.0.1", help="địa chỉ lắng nghe")
    parser.add_argument("--port", type=int, default=1025, help="cổng SMTP")
    parser.add_argument("--dir", type=Path, default=DEFAULT_MAIL_DIR, help="thư mục lưu thư")
    parser.add_argument("--http-port", type=int, default=8025, help="cổng trang xem thư")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_sink(args.host, args.port, args.dir, args.http_port)


if __name__ == "__main__":
    main()

"""Reply intake against real parts: Dovecot on loopback (IMAP), the SMTP sink, both ledgers.

`world` sends the quarterly requests through the sink, with KEHOACH_REPLY_TO set, and points
KEHOACH_IMAP_* at a fresh Dovecot; the mail builders write replies the way Gmail, Outlook and
Thunderbird do, and `append` puts them in the mailbox with IMAP APPEND.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted
from typer.testing import CliRunner

from tests.intake import dovecot

DEFS = Path(__file__).parent / "fixtures" / "defs"
REQUEST_DAY = "2026-03-04"
INTAKE_MAILBOX = "nop@tuyenquang.example"
VN = dt.timezone(dt.timedelta(hours=7))

# A small but real PDF (a reader opens it): one empty page.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def imap_server() -> Iterator[dovecot.Dovecot]:
    reason = dovecot.available()
    if reason:
        pytest.skip(reason)
    with dovecot.running_dovecot() as server:
        yield server


@dataclass
class World:
    server: dovecot.Dovecot
    sink: object
    ledger_url: str
    tmp_path: Path

    def requests(self) -> list[EmailMessage]:
        """The request letters the sink received, one per body."""
        return [m for m in self.letters() if "Auto-Submitted" in m and "Reply-To" in m]

    def letters(self) -> list[EmailMessage]:
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(Path(self.sink.mail_dir).glob("*.eml"))
        ]

    def request_to(self, address: str) -> EmailMessage:
        return next(m for m in self.requests() if address in str(m["To"]))

    def receipts(self) -> list[EmailMessage]:
        return [m for m in self.letters() if m["In-Reply-To"]]

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with MailBoxUnencrypted(self.server.host, self.server.port).login(
            self.server.user, self.server.password
        ) as box:
            box.append(raw, folder, dt=dt.datetime(2026, 3, 24, 9, 0, tzinfo=VN))

    def folder(self, name: str) -> list[str]:
        """Message-IDs in an IMAP folder."""
        with MailBoxUnencrypted(self.server.host, self.server.port).login(
            self.server.user, self.server.password, initial_folder=None
        ) as box:
            if not box.folder.exists(name):
                return []
            box.folder.set(name)
            return [
                str(message.obj.get("Message-ID", "")).strip()
                for message in box.fetch(mark_seen=False, headers_only=True)
            ]

    def cli(self, *args: str):
        from cli.main import app

        return CliRunner().invoke(app, list(args))

    def intake(self, day: str = "2026-03-10"):
        result = self.cli("intake", "--as-of", day)
        assert result.exit_code == 0, result.output
        return result.output

    def status(self) -> dict[str, tuple[str, int]]:
        from engine.ledger.queries import status_rows
        from tasks import runtime

        with runtime.sessions()() as session:
            rows = status_rows(session, "quarterly-report")
        return {r.body_id: (r.state, r.latest_version) for r in rows}

    def inbox(self) -> list:
        from engine.ledger import inbox
        from tasks import runtime

        with runtime.sessions()() as session:
            return inbox.entries(session)


def tick(day: str) -> None:
    """Open the cycle, queue what is due and send it (the collect steps, without Prefect)."""
    from tasks import runtime, steps

    env = runtime.tick_env(dt.date.fromisoformat(day))
    obligation = env.defs.obligations["quarterly-report"]
    outcome = steps.TickOutcome()
    steps.open_due_cycles(env, obligation, outcome)
    steps.enqueue_and_close(env, obligation, outcome)
    steps.drain_outbox(runtime.sessions(), runtime.sender())


@pytest.fixture
def world(kehoach_env, mail_sink, imap_server, monkeypatch, ledger_url, tmp_path) -> World:
    for name, value in imap_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEHOACH_REPLY_TO", INTAKE_MAILBOX)
    monkeypatch.setenv("KEHOACH_PORTAL_URL", "https://baocao.tuyenquang.example")
    kehoach_env(DEFS)
    tick(REQUEST_DAY)
    built = World(imap_server, mail_sink, ledger_url, tmp_path)
    assert len(built.requests()) == 3, [m["Subject"] for m in built.letters()]
    return built


# --- mails built like real clients build them ------------------------------------------------


def _quote(letter: EmailMessage) -> str:
    text = letter.get_body(("plain",)).get_content()
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def reply(
    letter: EmailMessage,
    *,
    sender: str,
    text: str,
    files: list[tuple[str, bytes, str]] = (),
    client: str = "gmail",
    keep_threading: bool = True,
    to: str | None = None,
    subject: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A reply to one of our letters: Gmail quotes with 'Vào … lúc … đã viết:', Outlook with a
    'Từ: / Đã gửi: / Đến: / Chủ đề:' block, Thunderbird with 'Vào … , … đã viết:' as well."""
    message = EmailMessage()
    message["From"] = f"Văn thư <{sender}>"
    message["To"] = to or str(letter["Reply-To"])
    message["Subject"] = subject or f"Re: {letter['Subject']}"
    message["Date"] = format_datetime(dt.datetime(2026, 3, 24, 9, 0, tzinfo=VN))
    message["Message-ID"] = message_id or make_msgid(domain=sender.split("@")[1])
    if keep_threading:
        message["In-Reply-To"] = letter["Message-ID"]
        message["References"] = letter["Message-ID"]
    if client == "gmail":
        message["X-Mailer"] = "Gmail"
        body = (
            f"{text}\n\nVào Th 3, 24 thg 3, 2026 lúc 08:30 Hệ thống theo dõi kế hoạch "
            f"<{letter['From'].addresses[0].addr_spec}> đã viết:\n\n{_quote(letter)}\n"
        )
    elif client == "outlook":
        message["X-Mailer"] = "Microsoft Outlook 16.0"
        message["Thread-Index"] = "AdnB2mVh0aN3q2d7Qk6vXyz1234567=="
        body = (
            f"{text}\n\n________________________________\n"
            f"Từ: Hệ thống theo dõi kế hoạch <{letter['From'].addresses[0].addr_spec}>\n"
            f"Đã gửi: Thứ Hai, 23 tháng 3, 2026 8:30 SA\nĐến: {sender}\n"
            f"Chủ đề: {letter['Subject']}\n\n" + letter.get_body(("plain",)).get_content()
        )
    else:  # thunderbird
        message["User-Agent"] = "Mozilla/5.0 Thunderbird/115.9.0"
        header = "Vào 23/03/2026 08:30, Hệ thống theo dõi kế hoạch đã viết:"
        body = f"{text}\n\n{header}\n{_quote(letter)}\n"
    message.set_content(body)
    for name, data, kind in files:
        maintype, subtype = kind.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=policy.SMTP)


def plain_mail(sender: str, subject: str, text: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = INTAKE_MAILBOX
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime(2026, 3, 24, 9, 0, tzinfo=VN))
    message["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes(policy=policy.SMTP)


def with_pdf(sender_text: str = "") -> list[tuple[str, bytes, str]]:
    return [("bao-cao-quy-1.pdf", PDF + sender_text.encode(), "application/pdf")]


def dsn(original: EmailMessage, failed: str) -> bytes:
    """A delivery status notification (RFC 3464) the way Postfix writes one."""
    boundary = "E1A2B3C4D5.1711245600/mx.tuyenquang.example"
    return (
        "From: MAILER-DAEMON@mx.tuyenquang.example (Mail Delivery System)\r\n"
        f"To: {INTAKE_MAILBOX}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 24 Mar 2026 09:00:00 +0700\r\n"
        f"Message-ID: {make_msgid(domain='mx.tuyenquang.example')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"<{failed}>: host mx.example said: 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.tuyenquang.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        f"Original-Recipient: rfc822;{failed}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original['Message-ID']}\r\n"
        f"To: {failed}\r\n"
        "Subject: =?utf-8?q?=C4=90=E1=BB=81_ngh=E1=BB=8B?=\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode("ascii")

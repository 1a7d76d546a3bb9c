"""Telling the operators: one email per incident, whoever notices it and however often.

`alert_operators(…, kind, key, …)` queues a letter in the outbox under the key
`operators:{kind}:{key}` and records an `operator-alert` event in the same transaction; the
outbox's unique key makes a second call for the same incident (a retry, the next day's tick,
another worker) queue nothing. Kinds in use: `run-failed` (a failed or crashed run),
`run-waiting` (a run suspended past its deadline), `bounce` (an address that bounces; key: the
address and the bounced message) and `outbox-failed` (a letter given up on; key: its outbox key).

Recipients: KEHOACH_OPERATOR_EMAILS; when it is empty and the SMTP server is on this machine
(the embedded stack's mail sink), the default operator mailbox, so failures reach a page
someone can open rather than nobody.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.ledger import outbox as ledger_outbox
from engine.ledger.events import record_event
from engine.ledger.models import Event, OutboxMessage
from engine.ledger.states import OutboxState
from engine.ledger.transactions import committing, writing
from notifications.guard import is_loopback_host
from notifications.render import Renderer

# The embedded stack's operator mailbox: a reserved address the sender only ever delivers to
# an SMTP server on this machine (notifications.guard), which the mail page then shows.
DEFAULT_OPERATOR_MAILBOX = "van-hanh@kehoach.example"
OUTBOX_KIND = "operator-alert"
EVENT_KIND = "operator-alert"
BODY_ID = "operators"
KEY_PREFIX = "operators:"
MAX_KEY = 300


class OperatorSettings(BaseSettings):
    """KEHOACH_OPERATOR_EMAILS: comma-separated addresses of the people who watch the runs."""

    model_config = SettingsConfigDict(env_prefix="KEHOACH_", extra="ignore")

    operator_emails: str = ""
    smtp_host: str = "127.0.0.1"

    @property
    def configured(self) -> list[str]:
        return [a.strip() for a in self.operator_emails.split(",") if a.strip()]

    @property
    def addresses(self) -> list[str]:
        """The configured addresses, else the default mailbox when mail stays on this machine."""
        if self.configured:
            return self.configured
        return [DEFAULT_OPERATOR_MAILBOX] if is_loopback_host(self.smtp_host) else []


@dataclass(frozen=True)
class Alert:
    """One incident: its kind, its identity within the kind, and what to tell (Vietnamese)."""

    kind: str
    key: str
    subject: str
    text: str
    url: str | None = None
    # Another template than the plain alert letter, and its context (e.g. `run-failed`).
    template: str = OUTBOX_KIND
    context: dict | None = None

    @property
    def outbox_key(self) -> str:
        key = f"{KEY_PREFIX}{self.kind}:{self.key}"
        if len(key) <= MAX_KEY:
            return key
        # The outbox key column is bounded: a long incident key is kept by its digest.
        return f"{KEY_PREFIX}{self.kind}:sha256:{hashlib.sha256(self.key.encode()).hexdigest()}"


def letter_row(alert: Alert, recipients: list[str], renderer: Renderer, signature: str) -> dict:
    letter = renderer.render(
        alert.template,
        {
            "addressee": {"name": "Cán bộ vận hành hệ thống"},
            "signature": {"name": signature, "contact_email": None, "contact_phone": None},
            "alert": {"subject": alert.subject, "text": alert.text, "url": alert.url},
            **(alert.context or {}),
        },
    )
    return {
        "key": alert.outbox_key,
        "body_id": BODY_ID,
        "kind": OUTBOX_KIND,
        "to_addrs": recipients,
        "cc_addrs": [],
        "subject": letter.subject,
        "text_body": letter.text,
        "html_body": letter.html,
    }


def alert_operators(
    sessions: sessionmaker[Session],
    alert: Alert,
    *,
    renderer: Renderer,
    mail_domain: str,
    signature: str = "Hệ thống theo dõi kế hoạch",
    recipients: list[str] | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Queue the alert's letter unless this incident was already told; True when queued now.

    Without recipients nothing is recorded, so the alert goes out once someone is configured."""
    to = recipients if recipients is not None else OperatorSettings().addresses
    if not to:
        return False
    now = now or dt.datetime.now(dt.UTC)
    row = letter_row(alert, to, renderer, signature)
    with sessions() as session, writing(session):
        queued = ledger_outbox.add(session, [row], domain=mail_domain, now=now)
        if queued:
            record_event(
                session,
                EVENT_KIND,
                now,
                data={"kind": alert.kind, "key": alert.key, "subject": alert.subject},
            )
    return bool(queued)


def alerts_sent(session: Session, kind: str | None = None) -> list[dict]:
    """The alerts recorded so far (event data), oldest first."""
    with committing(session):
        rows = session.scalars(select(Event).where(Event.kind == EVENT_KIND).order_by(Event.id))
        return [e.data for e in rows if kind is None or e.data.get("kind") == kind]


def failed_letters(session: Session) -> list[OutboxMessage]:
    """Letters the outbox gave up on whose failure the operators were not told of yet."""
    told = select(OutboxMessage.key).where(OutboxMessage.key.startswith(KEY_PREFIX))
    with committing(session):
        told_keys = set(session.scalars(told))
        failed = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.state == OutboxState.failed.value,
                OutboxMessage.kind != OUTBOX_KIND,  # never an alert about an alert
            )
            .order_by(OutboxMessage.id)
        ).all()
        session.expunge_all()
    return [m for m in failed if outbox_failure_alert(m).outbox_key not in told_keys]


def alert_failed_letters(
    sessions: sessionmaker[Session], *, renderer: Renderer, mail_domain: str, signature: str
) -> int:
    """One alert per letter the outbox gave up on (run after each drain); how many were new."""
    with sessions() as session:
        pending = failed_letters(session)
    return sum(
        alert_operators(
            sessions,
            outbox_failure_alert(m),
            renderer=renderer,
            mail_domain=mail_domain,
            signature=signature,
        )
        for m in pending
    )


def outbox_failure_alert(message: OutboxMessage) -> Alert:
    to = ", ".join([*message.to_addrs, *message.cc_addrs])
    return Alert(
        kind="outbox-failed",
        key=message.key,
        subject=f"Thư không gửi được sau {message.attempts} lần thử: {message.subject[:80]}",
        text=(
            f"Thư «{message.subject}» gửi {to} đã được thử {message.attempts} lần và hệ thống "
            f"đã thôi gửi.\n\nLỗi lần cuối: {message.last_error or '(không rõ)'}\n\n"
            "Việc cần làm: kiểm tra máy chủ thư và địa chỉ người nhận; khi đã khắc phục, cho "
            "gửi lại thư bằng lệnh `kehoach outbox` (xem danh sách) và các lệnh gửi lại."
        ),
    )


def bounce_alert(address: str, message_key: str, reason: str, subject: str = "") -> Alert:
    """The alert for an address that bounced (what the reply intake calls on a DSN)."""
    about = f" (thư «{subject}»)" if subject else ""
    return Alert(
        kind="bounce",
        key=f"{address.lower()}:{message_key}",
        subject=f"Địa chỉ thư bị trả lại: {address}",
        text=(
            f"Thư gửi {address}{about} bị máy chủ thư của người nhận trả lại.\n\n"
            f"Lý do: {reason or '(không rõ)'}\n\n"
            "Việc cần làm: kiểm tra và sửa địa chỉ của cơ quan trong bodies.yaml (hoặc danh "
            "bạ), rồi chạy `kehoach reload`."
        ),
    )

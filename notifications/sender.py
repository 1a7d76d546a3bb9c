"""Send rendered emails through yagmail, one SMTP connection per batch (or per drain).

yagmail owns the transport: it opens the connection (SSL, STARTTLS, login) and builds each MIME
message (address and subject headers, Date, Message-ID, attachments). Two of its conveniences
are bypassed, on purpose:

- `Client.send` reconnects for every message and `_attempt_send` swallows a dropped connection
  behind fixed 3–9 s sleeps, so the caller could not tell whether the server took the message.
  We hand each prepared message to the connection yagmail opened (`client.smtp.sendmail`) and
  classify the outcome ourselves.
- yagmail derives the text/plain part from the HTML (turning newlines into `<br>`), so its
  alternative part is replaced by our own text and HTML parts.

The fixed Message-ID goes through yagmail's `message_id=` argument, not `headers=`: yagmail adds
its own Message-ID after copying `headers`, which would put two on the wire.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formataddr
from pathlib import Path

import yagmail
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifications.guard import UnsafeRecipientError, check_recipients
from notifications.mime import ADDRESS, Ahead, Prepared, prepare

__all__ = [
    "OutgoingMessage",
    "SendResult",
    "Sender",
    "SmtpSettings",
    "UnsafeRecipientError",
]

log = logging.getLogger(__name__)


class SmtpSettings(BaseSettings):
    """SMTP connection settings, from KEHOACH_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="KEHOACH_", extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "kehoach@localhost"
    mail_from_name: str = "Hệ thống theo dõi kế hoạch"
    # Seconds for the connection and for each SMTP command (smtplib's socket timeout): a relay
    # that accepts TCP and never answers ends a drain in seconds and leaves its rows for later.
    smtp_timeout: float = 10.0
    # A private CA for the province's relay; the system trust store is used otherwise.
    smtp_ca_file: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SmtpSettings:
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError("KEHOACH_SMTP_SSL and KEHOACH_SMTP_STARTTLS exclude each other")
        if self.smtp_user and self.smtp_password is None:
            # yagmail would otherwise fall back to the keyring or an interactive prompt.
            raise ValueError("KEHOACH_SMTP_USER is set but KEHOACH_SMTP_PASSWORD is not")
        if not ADDRESS.match(self.mail_from):
            raise ValueError(f"KEHOACH_MAIL_FROM is not an email address: {self.mail_from!r}")
        # yagmail encodes the display name as one RFC 2047 word, which may not exceed 75 chars.
        encoded = formataddr((self.mail_from_name, self.mail_from)).rpartition(" <")[0]
        if len(encoded) > 75:
            raise ValueError(
                f"KEHOACH_MAIL_FROM_NAME is too long once encoded ({len(encoded)} > 75 "
                "characters): shorten it, e.g. 'Hệ thống theo dõi kế hoạch'"
            )
        return self


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    to: list[str]
    cc: list[str]
    subject: str
    text: str
    html: str
    attachments: list[Path] | None = None
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What the server did with one message: `accepted` is True only on a 250 after DATA."""

    message_id: str
    accepted: bool
    retryable: bool = False
    error: str | None = None
    refused: dict[str, str] = field(default_factory=dict)  # recipients refused, others took it
    # The relay could not be reached or talked to at all (refused, timed out, closed): the
    # message was not the problem, and the next drain should not hurry back.
    relay_down: bool = False
    accepted_by: tuple[str, ...] = ()  # the recipients the server took

    @property
    def outcomes(self) -> dict[str, str]:
        """What the server said of each recipient: 'accepted' or its refusal."""
        return {**{a: "accepted" for a in self.accepted_by}, **self.refused}


class _Results(Sequence):
    """Built letters as the delivery loop reads them: a letter that cannot be built becomes
    its final SendResult."""

    def __init__(self, messages, built, result_of) -> None:
        self._messages, self._built, self._result_of = messages, built, result_of

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._result_of(self._messages[index], self._built[index])


class _Transient(Exception):
    """The connection is gone or the server asked us to come back later."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _Fatal(Exception):
    """Connecting cannot succeed without a configuration change (auth, TLS)."""


def _code_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()


class Sender:
    """Delivers batches of messages; each result says exactly whether the server took it."""

    def __init__(
        self,
        settings: SmtpSettings | None = None,
        *,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must not be negative")
        self.settings = settings or SmtpSettings()
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._ahead: Ahead | None = None
        # While keep_connected() is open: True, and the connection left open by the last batch.
        self._keeping = False
        self._kept: yagmail.SMTP | None = None

    # --- public API ---------------------------------------------------------------------------

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send all messages over one connection; one result per message, in order."""
        return list(self.send_each(messages))

    def send_each(self, messages: Sequence[OutgoingMessage]) -> Iterator[SendResult]:
        """Like send_batch, but yields each result as soon as the server answered."""
        messages = list(messages)
        check_recipients(messages, self.settings.smtp_host)
        return self._deliver(messages)

    # --- internals ----------------------------------------------------------------------------

    def _prepare(self, message: OutgoingMessage) -> Prepared | SendResult:
        return self._result_of(message, prepare(message, *self._identity()))

    def _identity(self) -> tuple[str, str]:
        return self.settings.mail_from, self.settings.mail_from_name or self.settings.mail_from

    @staticmethod
    def _result_of(message: OutgoingMessage, built: Prepared | str) -> Prepared | SendResult:
        if isinstance(built, str):
            return SendResult(message.message_id, accepted=False, retryable=False, error=built)
        return built

    def _prepared(self, messages: list[OutgoingMessage]) -> Sequence[Prepared | SendResult]:
        """The batch's letters, built ahead in the helper while it is open (prepare_ahead)."""
        if self._ahead is None:
            return [self._prepare(m) for m in messages]
        built = self._ahead.built(messages, *self._identity())
        return _Results(messages, built, self._result_of)

    @contextlib.contextmanager
    def prepare_ahead(self) -> Iterator[Sender]:
        """While open, batches of AHEAD_MIN_BATCH letters or more are built in a helper process
        a few letters ahead of the SMTP conversation (started on the first such batch, stopped
        on leaving). For a drain that may be long; the sending itself is unchanged."""
        self._ahead = Ahead()
        try:
            yield self
        finally:
            ahead, self._ahead = self._ahead, None
            ahead.close()

    @contextlib.contextmanager
    def keep_connected(self) -> Iterator[Sender]:
        """While open, the SMTP connection of one batch is kept for the next (a drain of small
        claims would otherwise connect, greet and quit once per claim); closed on leaving.
        Each message's outcome is classified exactly as on a fresh connection: one the relay
        dropped meanwhile is reconnected like any lost connection."""
        self._keeping = True
        try:
            yield self
        finally:
            self._keeping = False
            kept, self._kept = self._kept, None
            if kept is not None:
                _close(kept)

    def _connect(self) -> yagmail.SMTP:
        s = self.settings
        login = s.smtp_user or s.mail_from
        tls = None
        if s.smtp_starttls or s.smtp_ssl:
            # smtplib's own STARTTLS default does not verify the certificate; ours does.
            cafile = str(s.smtp_ca_file) if s.smtp_ca_file else None
            tls = ssl.create_default_context(cafile=cafile)
        client = yagmail.SMTP(
            # A dict keeps yagmail from appending '@gmail.com' to a bare login name.
            user={login: login},
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            host=s.smtp_host,
            port=s.smtp_port,
            smtp_starttls={"context": tls} if s.smtp_starttls else False,
            smtp_ssl=s.smtp_ssl,
            smtp_skip_login=not s.smtp_user,
            soft_email_validation=False,
            timeout=s.smtp_timeout,
            **({"context": tls} if s.smtp_ssl else {}),
        )
        try:
            client.login()
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPNotSupportedError,
            ssl.SSLCertVerificationError,
        ) as exc:
            _close(client)
            raise _Fatal(f"cannot use SMTP server {s.smtp_host}:{s.smtp_port}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            _close(client)
            error = _code_text(exc.smtp_code, exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                raise _Transient(error) from exc
            raise _Fatal(f"SMTP server {s.smtp_host}:{s.smtp_port} refused us: {error}") from exc
        except OSError as exc:  # refused, reset, timeout, disconnected (SMTPException too)
            _close(client)
            raise _Transient(
                f"cannot connect to {s.smtp_host}:{s.smtp_port}: {exc or type(exc).__name__}",
                # smtplib turns a timed-out greeting into SMTPServerDisconnected("… timed out").
                timed_out=isinstance(exc, TimeoutError) or "timed out" in str(exc),
            ) from exc
        return client

    def _wait(self, attempt: int) -> None:
        self._sleep(min(self.backoff * 2 ** (attempt - 1), 60.0))

    def _deliver(self, messages: list[OutgoingMessage]) -> Iterator[SendResult]:
        prepared = self._prepared(messages)
        client, self._kept = self._kept, None
        # Whether the SMTP conversation is inside a command: a connection left there (an
        # exception, the caller stopping mid-command) is in an unknown state and never kept.
        talking = False
        connection_failures = 0  # consecutive: reset by every accepted message
        index = 0
        try:
            while index < len(messages):
                message, prep = messages[index], prepared[index]
                if isinstance(prep, SendResult):
                    yield prep
                    index += 1
                    continue
                message_failures = 0
                while True:
                    try:
                        talking = True
                        if client is None:
                            client = self._connect()
                        refused = client.smtp.sendmail(
                            self.settings.mail_from, prep.recipients, prep.data
                        )
                        talking = False
                    except _Fatal as exc:
                        yield from _give_up(messages[index:], prepared[index:], str(exc))
                        return
                    except _Transient as exc:
                        if exc.timed_out or connection_failures >= self.retries:
                            # A relay that does not answer in time will not answer on a retry
                            # seconds later either: the rows wait for a later drain.
                            yield from _give_up(
                                messages[index:], prepared[index:], str(exc), relay_down=True
                            )
                            return
                        connection_failures += 1
                        log.warning("SMTP connect failed (%s), retry %d", exc, connection_failures)
                        self._wait(connection_failures)
                        continue
                    except Exception as exc:
                        talking = False
                        outcome, error = _classify(exc)
                        if outcome == "fatal":
                            yield from _give_up(messages[index:], prepared[index:], error)
                            return
                        if outcome == "unexpected":
                            # Unknown connection state: report this one, start afresh for the rest.
                            log.error("unexpected error sending %s: %s", message.message_id, error)
                            yield SendResult(message.message_id, False, False, error)
                            if client is not None:
                                _close(client)
                                client = None
                            break
                        if outcome == "permanent":
                            yield SendResult(
                                message.message_id, False, False, error, refused=_refused(exc)
                            )
                            break
                        if outcome == "message":
                            message_failures += 1
                            if message_failures > self.retries:
                                yield SendResult(
                                    message.message_id, False, True, error, refused=_refused(exc)
                                )
                                break
                            log.warning("retrying %s after %s", message.message_id, error)
                            self._wait(message_failures)
                            continue
                        if client is not None:
                            _close(client)
                            client = None
                        connection_failures += 1
                        if connection_failures > self.retries:
                            yield from _give_up(
                                messages[index:], prepared[index:], error, relay_down=True
                            )
                            return
                        log.warning(
                            "SMTP connection lost (%s), retry %d", error, connection_failures
                        )
                        self._wait(connection_failures)
                        continue
                    connection_failures = 0
                    yield SendResult(
                        message.message_id,
                        accepted=True,
                        refused={a: _code_text(c, r) for a, (c, r) in refused.items()},
                        accepted_by=tuple(a for a in prep.recipients if a not in refused),
                    )
                    break
                index += 1
        finally:
            if client is not None and self._keeping and not talking:
                self._kept = client
            elif client is not None:
                _close(client)


# MAIL FROM refused for these reasons fails every message alike: a configuration problem,
# so the messages stay retryable rather than being failed for good.
_SENDER_CONFIG_CODES = (530, 535, 550, 553)


def _classify(exc: Exception) -> tuple[str, str]:
    """One of 'permanent' (5xx for this message), 'message' (4xx, connection still usable),
    'connection' (dropped or 421), 'fatal' (configuration) or 'unexpected'."""
    if isinstance(exc, _Transient):
        return "connection", str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{a}: {_code_text(c, r)}" for a, (c, r) in exc.recipients.items())
        codes = [c for c, _ in exc.recipients.values()]
        if codes and all(500 <= c < 600 for c in codes):
            return "permanent", f"all recipients refused: {detail}"
        if any(c == 421 for c in codes):
            return "connection", f"server closing: {detail}"
        return "message", f"recipients refused for now: {detail}"
    if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code in _SENDER_CONFIG_CODES:
        error = _code_text(exc.smtp_code, exc.smtp_error)
        return "fatal", f"sender {exc.sender} refused: {error}"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = _code_text(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code == 421 or exc.smtp_code < 400:
            return "connection", error
        return ("message" if exc.smtp_code < 500 else "permanent"), error
    if isinstance(exc, OSError):  # SMTPServerDisconnected, resets, timeouts
        return "connection", f"{type(exc).__name__}: {exc}"
    return "unexpected", f"{type(exc).__name__}: {exc}"


def _refused(exc: Exception) -> dict[str, str]:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return {a: _code_text(c, r) for a, (c, r) in exc.recipients.items()}
    return {}


def _give_up(
    messages: list[OutgoingMessage],
    prepared: Sequence[Prepared | SendResult],
    error: str,
    *,
    relay_down: bool = False,
) -> Iterator[SendResult]:
    for message, prep in zip(messages, prepared, strict=True):
        if isinstance(prep, SendResult):
            yield prep
        else:
            yield SendResult(
                message.message_id,
                accepted=False,
                retryable=True,
                error=error,
                relay_down=relay_down,
            )


def _close(client: yagmail.SMTP) -> None:
    # The server may already be gone; there is nothing left to tell it.
    with contextlib.suppress(OSError):
        client.close()

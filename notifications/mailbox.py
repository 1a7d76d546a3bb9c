"""Where replies come from: the province's IMAP mailbox (imap-tools) or, with no IMAP configured,
a local Maildir the mail sink delivers into. Both hand out raw mails in batches and move a mail
out of the inbox only when told, which the intake does after the ledger committed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.errors import (
    MailboxCopyError,
    MailboxFolderCreateError,
    MailboxLoginError,
    MailboxMoveError,
)
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)
PROCESSED, TRIAGE = "processed", "triage"
_SIZES = re.compile(rb"UID (\d+).*?RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+).*?UID (\d+)")


class MailboxUnavailable(RuntimeError):
    """The mailbox cannot be read (connection, certificate, login); the message is Vietnamese."""


class ImapSettings(BaseSettings):
    """The intake mailbox, from KEHOACH_IMAP_* variables; no host means the local Maildir."""

    model_config = SettingsConfigDict(env_prefix="KEHOACH_", extra="ignore")

    imap_host: str | None = None
    imap_port: int | None = None
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_ssl: bool = True
    imap_starttls: bool = False
    imap_folder: str = "INBOX"
    imap_processed_folder: str = "kehoach-da-xu-ly"
    imap_triage_folder: str = "kehoach-can-phan-loai"
    imap_timeout: float = 60.0
    # A private CA for the province's mail server; the system trust store is used otherwise.
    imap_ca_file: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ImapSettings:
        if self.imap_ssl and self.imap_starttls:
            raise ValueError("KEHOACH_IMAP_SSL và KEHOACH_IMAP_STARTTLS không dùng cùng lúc")
        if self.imap_host and (not self.imap_user or self.imap_password is None):
            raise ValueError("KEHOACH_IMAP_HOST cần cả KEHOACH_IMAP_USER và KEHOACH_IMAP_PASSWORD")
        return self

    def folder_for(self, outcome: str) -> str:
        return self.imap_triage_folder if outcome == TRIAGE else self.imap_processed_folder


@dataclass
class RawMail:
    """One mail as the server keeps it; `key` is its UID (IMAP) or file name (Maildir)."""

    key: str
    raw: bytes | None  # None when it was too big to fetch
    size: int


class MailSource(Protocol):
    def batches(self, size: int, max_bytes: int) -> Iterator[list[RawMail]]: ...

    def headers(self, key: str) -> bytes: ...

    def move(self, keys: list[str], outcome: str) -> None: ...

    def close(self) -> None: ...


class _RawMessage(MailMessage):
    """imap-tools' message without its parse: the intake parses the bytes itself, once."""

    def __init__(self, fetch_data: list) -> None:
        raw, uid_data, flag_data = self._get_message_data_parts(fetch_data)
        self._raw_uid_data, self._raw_flag_data, self.raw = uid_data, flag_data, raw

    @cached_property
    def obj(self):  # type: ignore[override]
        import email

        return email.message_from_bytes(self.raw)


class ImapSource:
    """The province's mailbox over IMAP; certificates verified, the password never logged."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        host, port = settings.imap_host, settings.imap_port
        try:
            if settings.imap_ssl:
                context = ssl.create_default_context(
                    cafile=str(settings.imap_ca_file) if settings.imap_ca_file else None
                )
                box = MailBox(host, port or 993, timeout=settings.imap_timeout, ssl_context=context)
            elif settings.imap_starttls:
                context = ssl.create_default_context(
                    cafile=str(settings.imap_ca_file) if settings.imap_ca_file else None
                )
                box = MailBoxStartTls(
                    host, port or 143, timeout=settings.imap_timeout, ssl_context=context
                )
            else:
                box = MailBoxUnencrypted(host, port or 143, timeout=settings.imap_timeout)
            box.email_message_class = _RawMessage
            password = settings.imap_password.get_secret_value() if settings.imap_password else ""
            box.login(settings.imap_user or "", password, initial_folder=settings.imap_folder)
        except MailboxLoginError as error:
            raise MailboxUnavailable(
                f"Máy chủ thư {host} từ chối đăng nhập của {settings.imap_user}: "
                "kiểm tra KEHOACH_IMAP_USER và KEHOACH_IMAP_PASSWORD."
            ) from error
        except ssl.SSLError as error:
            raise MailboxUnavailable(
                f"Không xác minh được chứng chỉ của máy chủ thư {host}: {error.reason or error}. "
                "Dùng KEHOACH_IMAP_CA_FILE nếu máy chủ dùng CA riêng."
            ) from error
        except OSError as error:
            raise MailboxUnavailable(
                f"Không kết nối được máy chủ thư {host}:{port or ''} ({error})."
            ) from error
        # Servers announce MOVE only once logged in; imaplib read the capabilities before.
        status, data = box.client.capability()
        if status == "OK" and data and data[-1]:
            box.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
        self.box = box
        for folder in (settings.imap_processed_folder, settings.imap_triage_folder):
            if not box.folder.exists(folder):
                try:
                    box.folder.create(folder)
                except MailboxFolderCreateError:
                    # Two intakes starting at once both saw it missing; one made it first.
                    if not box.folder.exists(folder):
                        raise

    def _sizes(self) -> list[tuple[str, int]]:
        status, data = self.box.client.uid("FETCH", "1:*", "(UID RFC822.SIZE)")
        if status != "OK":
            return []
        sizes = []
        for line in data:
            item = line[0] if isinstance(line, tuple) else line
            match = _SIZES.search(item or b"")
            if match:
                uid = match.group(1) or match.group(4)
                size = match.group(2) or match.group(3)
                sizes.append((uid.decode(), int(size)))
        return sorted(sizes, key=lambda pair: int(pair[0]))

    def batches(self, size: int, max_bytes: int) -> Iterator[list[RawMail]]:
        """The folder's mails, oldest first, `size` at a time; one over max_bytes comes without
        its bytes (never fetched)."""
        pending = self._sizes()
        for start in range(0, len(pending), size):
            chunk = pending[start : start + size]
            wanted = [uid for uid, length in chunk if length <= max_bytes]
            fetched = {}
            if wanted:
                for message in self.box.fetch(uid_list=wanted, mark_seen=False, bulk=True):
                    fetched[message.uid] = message.raw
            yield [
                RawMail(uid, fetched.get(uid), length)
                for uid, length in chunk
                if length > max_bytes or uid in fetched
            ]

    def headers(self, key: str) -> bytes:
        """The header block of a mail too big to fetch whole."""
        for message in self.box.fetch(uid_list=[key], mark_seen=False, headers_only=True):
            return message.raw
        return b""

    def move(self, keys: list[str], outcome: str) -> None:
        """Move the mails out of the inbox; those another intake moved meanwhile are skipped."""
        folder = self.settings.folder_for(outcome)
        for _ in range(3):
            if not keys:
                return
            try:
                self.box.move(keys, folder)
                return
            except (MailboxMoveError, MailboxCopyError):
                # Some are gone (another intake moved them): move what is still here.
                present = set(self.box.uids("ALL"))
                keys = [key for key in keys if key in present]
        self.box.move(keys, folder)

    def close(self) -> None:
        try:
            self.box.logout()
        except Exception:  # noqa: BLE001 - a dropped connection needs no goodbye
            log.debug("IMAP logout failed", exc_info=True)


class MaildirSource:
    """A local Maildir (new/ and cur/); handled mails move to the .processed or .triage folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def batches(self, size: int, max_bytes: int) -> Iterator[list[RawMail]]:
        names = sorted(
            (entry.stat().st_mtime_ns, sub, entry.name)
            for sub in ("new", "cur")
            for entry in os.scandir(self.root / sub)
            if entry.is_file() and not entry.name.startswith(".")
        )
        for start in range(0, len(names), size):
            batch = []
            for _, sub, name in names[start : start + size]:
                path = self.root / sub / name
                try:
                    length = path.stat().st_size
                    data = path.read_bytes() if length <= max_bytes else None
                except FileNotFoundError:
                    continue  # another intake moved it meanwhile
                batch.append(RawMail(f"{sub}/{name}", data, length))
            yield batch

    def headers(self, key: str) -> bytes:
        with open(self.root / key, "rb") as handle:
            return handle.read(256 * 1024).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]

    def move(self, keys: list[str], outcome: str) -> None:
        target = self.root / f".{outcome}" / "cur"
        target.mkdir(parents=True, exist_ok=True)
        for key in keys:
            name = key.split("/", 1)[1].split(":", 1)[0]
            with contextlib.suppress(FileNotFoundError):  # a concurrent intake moved it
                os.replace(self.root / key, target / f"{name}:2,S")

    def close(self) -> None:
        return None


def deliver_to_maildir(root: Path, data: bytes, unique: str) -> Path:
    """Write one mail into root/new the Maildir way (tmp/ then rename), for the mail sink."""
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    temporary = root / "tmp" / unique
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    final = root / "new" / unique
    os.replace(temporary, final)
    return final


def open_source(settings: ImapSettings, maildir: Path) -> MailSource:
    """IMAP when KEHOACH_IMAP_HOST is set, the local Maildir otherwise."""
    if settings.imap_host:
        return ImapSource(settings)
    return MaildirSource(maildir)

"""Letters that carry files (a briefing pack, a consolidated report): queued and sent like every
other letter, with their files recorded in the ledger by path and sha256.

The outbox has no attachment column. A document letter's kind starts with `doc-`
(engine.ledger.outbox.DOCUMENT_KIND_PREFIX), which the plain drain never claims, and each of its
files is an archived file of kind `mail:<hash of the message key>`. Files are recorded before the
message is queued, so a queued document letter always has its files; `drain_documents` is the
only sender of such letters and refuses one whose files are gone rather than send it bare.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.ledger import outbox as ledger_outbox
from engine.ledger.archive import archive_file
from engine.ledger.errors import InvalidInput
from engine.ledger.models import ArchivedFile
from notifications.drain import DrainReport, drain
from notifications.sender import OutgoingMessage, Sender

log = logging.getLogger(__name__)
PREFIX = ledger_outbox.DOCUMENT_KIND_PREFIX


@dataclass(frozen=True)
class DocumentFile:
    path: Path
    sha256: str

    @classmethod
    def of(cls, path: Path) -> DocumentFile:
        return cls(Path(path), hashlib.sha256(Path(path).read_bytes()).hexdigest())


def mail_kind(key: str) -> str:
    """The archived-file kind under which a message's attachments are recorded (≤ 60 chars)."""
    return "mail:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def queue_documents(
    sessions: sessionmaker[Session],
    messages: Sequence[Mapping[str, Any]],
    files: Sequence[Path],
    *,
    domain: str,
    now: dt.datetime,
) -> int:
    """Record the files of each message, then queue the messages; returns how many were new.

    Each message needs an explicit `key` and a `doc-` kind; queueing again changes nothing.
    """
    documents = [DocumentFile.of(p) for p in files]
    for message in messages:
        if not str(message.get("kind", "")).startswith(PREFIX):
            raise InvalidInput(f"Thư kèm tài liệu phải có loại bắt đầu bằng '{PREFIX}'.")
        if not message.get("key"):
            raise InvalidInput("Thư kèm tài liệu cần khóa (key) cố định.")
    with sessions() as session:
        for message in messages:
            for document in documents:
                archive_file(
                    session,
                    kind=mail_kind(message["key"]),
                    file_name=document.path.name,
                    sha256=document.sha256,
                    path=str(document.path.resolve()),
                    cycle_id=message.get("cycle_id"),
                    now=now,
                )
        return ledger_outbox.enqueue(session, list(messages), domain=domain, now=now)


def attachments_of(session: Session, keys: Sequence[str]) -> dict[str, list[Path]]:
    """Each message key's files: the newest record per file name (a re-render replaces one)."""
    kinds = {mail_kind(key): key for key in keys}
    if not kinds:
        return {}
    rows = session.execute(
        select(ArchivedFile.kind, ArchivedFile.file_name, ArchivedFile.path)
        .where(ArchivedFile.kind.in_(list(kinds)))
        .order_by(ArchivedFile.id)
    ).all()
    newest: dict[str, dict[str, Path]] = {}
    for kind, name, path in rows:
        newest.setdefault(kinds[kind], {})[name] = Path(path)
    return {key: list(files.values()) for key, files in newest.items()}


def drain_documents(
    sessions: sessionmaker[Session],
    sender: Sender,
    *,
    batch_size: int = 10,
    stale_after: dt.timedelta = dt.timedelta(minutes=10),
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> DrainReport:
    """Send queued document letters with their files; a letter whose files are gone fails."""
    me = f"{socket.gethostname()}:{os.getpid()}:documents"
    by_message_id: dict[str, int] = {}

    def claim(limit: int) -> list[OutgoingMessage]:
        with sessions() as session:
            items = ledger_outbox.claim(session, me, limit, clock(), stale_after, documents=True)
            files = attachments_of(session, [i.key for i in items])
        ready = []
        for item in items:
            paths = files.get(item.key, [])
            missing = [str(p) for p in paths if not p.is_file()]
            if not paths or missing:
                reason = f"document files missing: {', '.join(missing) or 'none recorded'}"
                log.error("%s not sent: %s", item.key, reason)
                with sessions() as session:
                    ledger_outbox.mark_failed(session, item.id, reason, retry=False)
                continue
            by_message_id[item.message_id] = item.id
            ready.append(
                OutgoingMessage(
                    message_id=item.message_id,
                    to=list(item.to_addrs),
                    cc=list(item.cc_addrs),
                    subject=item.subject,
                    text=item.text_body,
                    html=item.html_body or "",
                    attachments=paths,
                )
            )
        return ready

    def mark_sent(result: Any) -> None:
        with sessions() as session:
            ledger_outbox.mark_sent(session, [by_message_id[result.message_id]], clock())

    def mark_failed(result: Any) -> None:
        with sessions() as session:
            ledger_outbox.mark_failed(
                session,
                by_message_id[result.message_id],
                result.error or "refused",
                retry=result.retryable,
            )

    return drain(claim, sender.send_each, mark_sent, mark_failed, batch_size=batch_size)

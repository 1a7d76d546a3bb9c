"""The letters of a simulated year, written for an administrator to read before running it:
one `.eml` per letter (opens in any mail program) and `index.txt`, by date and body."""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from cli.simulator.capture import CapturedMessage
from cli.simulator.header_cache import CachingPolicy
from engine.definitions.models import Definitions
from engine.names import alphabetical

FROM = "he-thong-theo-doi@kehoach.invalid"  # the simulation sends nothing: a reserved domain


def _body_names(defs: Definitions) -> dict[str, str]:
    """Mailbox → body name, for the index (a letter names its addressee by mailbox)."""
    names: dict[str, str] = {}
    for body in sorted(defs.bodies.values(), key=lambda b: b.id):
        for address in body.mailboxes.to:
            names.setdefault(address.lower(), body.name)
    return names


VIETNAM = dt.timezone(dt.timedelta(hours=7))


def _batch_boundary() -> str:
    """A multipart boundary of the shape email.generator draws, drawn once per batch.

    Left to itself the generator draws one per letter, and each distinct boundary costs a
    Content-Type header parsed and folded again; one shared boundary is parsed once.
    """
    digits = len(repr(sys.maxsize - 1))
    return "=" * 15 + f"{random.randrange(sys.maxsize):0{digits}d}" + "=="


def _eml(captured: CapturedMessage, policy: CachingPolicy, boundary: str) -> bytes:
    message = captured.message
    mail = EmailMessage(policy=policy)
    mail["From"] = FROM
    mail["To"] = ", ".join(message.to)
    if message.cc:
        mail["Cc"] = ", ".join(message.cc)
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(
        dt.datetime.combine(captured.day, dt.time(7, 30), tzinfo=VIETNAM)
    )
    mail["Message-ID"] = message.message_id or make_msgid()
    if message.reply_to:
        mail["Reply-To"] = message.reply_to
    for name, value in (message.headers or {}).items():
        if name.lower() not in {"from", "to", "cc", "subject", "date", "message-id"}:
            mail[name] = value
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
        # Encoded bodies cannot hold a run of 15 "=" and a 7bit/8bit body is its raw text:
        # a letter whose text holds the boundary is left to the generator to draw its own.
        if boundary not in message.text and boundary not in message.html:
            mail.set_boundary(boundary)
    for path in message.attachments or []:
        # The documents are in documents/ beside the letters; the letter names them only.
        mail["X-Kehoach-Attachment"] = Path(path).name
    return bytes(mail)


def _addressee(captured: CapturedMessage, names: dict[str, str]) -> str:
    first = captured.message.to[0] if captured.message.to else ""
    return names.get(first.lower(), first)


def write_letters(defs: Definitions, mail: Sequence[CapturedMessage], out_dir: Path) -> Path:
    """Write every captured letter under out_dir/letters/ and return the index file."""
    folder = Path(out_dir) / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.eml"):
        stale.unlink()  # a previous run into the same --out: the index must match the files
    names = _body_names(defs)
    policy = CachingPolicy()  # one per batch: its caches live as long as this call
    boundary = _batch_boundary()
    lines = []
    ordered = sorted(
        enumerate(mail),
        key=lambda item: (item[1].day, alphabetical(_addressee(item[1], names)), item[0]),
    )
    for number, (_index, captured) in enumerate(ordered, start=1):
        file_name = f"{number:05d}-{captured.day.isoformat()}.eml"
        (folder / file_name).write_bytes(_eml(captured, policy, boundary))
        body = _addressee(captured, names)
        lines.append(
            f"{captured.day.strftime('%d/%m/%Y')}\t{body}\t{captured.message.subject}\t{file_name}"
        )
    index = folder / "index.txt"
    header = "Ngày gửi\tCơ quan nhận\tTiêu đề\tTệp"
    index.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return index

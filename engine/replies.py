"""Reading an incoming mail: what kind it is (answer, delivery report, automatic reply), who sent
it, what it refers to, its own text without the quoted history, and its attachments.

Pure functions over bytes: no ledger, no network. The caller bounds the size before parsing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from functools import cached_property

from mailparser_reply import EmailReplyParser
from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE

from engine.definitions.models import FieldType, Form
from engine.mime_parts import message_from

ANSWER, BOUNCE, AUTO_REPLY = "answer", "bounce", "auto-reply"
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Subjects robots write when they answer for someone away (Vietnamese and the usual English).
AUTO_SUBJECTS = re.compile(
    r"trả lời tự động|tự động trả lời|vắng mặt|out of office|automatic reply|auto[- ]?reply|"
    r"autoreply",
    re.IGNORECASE,
)

# Vietnamese quote headers, the way Gmail ("Vào … lúc … đã viết:") and Outlook ("Từ: … Đã gửi:
# … Đến: … Chủ đề: …") write them; mail-parser-reply knows no Vietnamese of its own.
MAIL_LANGUAGES.setdefault(
    "vi",
    {
        "wrote_header": r"^(" + QUOTED_MATCH_INCLUDE + r"Vào\s(?:.+?\s?.+?)\s?đã viết:)$",
        "from_header": r"((?:(?:^|\n|\n"
        + QUOTED_MATCH_INCLUDE
        + r")[* ]*(?:Từ|Đã gửi|Gửi|Đến|Tới|Chủ đề|Tiêu đề|Ngày|Cc|Bcc):[ *]*(?:\s{,2}).*){2,}"
        r"(?:\n.*){,1})",
        "disclaimers": [],
        "signatures": [],
        "sent_from": [],
    },
)
_PARSER = EmailReplyParser(languages=["vi", "en"])


@dataclass(frozen=True)
class Bounce:
    """What a delivery report says: the addresses that failed and the letter it was about."""

    failed: list[str]
    delayed: bool
    original_message_id: str | None
    diagnostic: str


@dataclass(frozen=True)
class Incoming:
    message_id: str
    from_addr: str
    recipients: list[str]
    subject: str
    refers_to: list[str]  # In-Reply-To then References, newest first
    text: str  # the whole plain text, quotes included (a reference may be in the quote)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    kind: str = ANSWER
    bounce: Bounce | None = None

    @cached_property
    def own_text(self) -> str:
        """The reply's own words: quoted history and signature separators removed (worked out
        once: the fields and the inbox row both read it)."""
        return own_text(self.text)


def decoded(value: object) -> str:
    """A header as text: RFC 2047 words decoded, whitespace folded."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        text = str(value)
    return " ".join(text.split())


def _addresses(message: Message, *names: str) -> list[str]:
    values = []
    for name in names:
        values.extend(str(v) for v in message.get_all(name, []))
    return [a.strip().lower() for _, a in getaddresses(values) if "@" in a]


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";", 1)[0].strip().lower()
    return disposition == "attachment" or bool(part.get_filename())


def _text_of(message: Message) -> str:
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = part
        elif kind == "text/html" and html is None:
            html = part
    if plain is not None:
        content = _decode_part(plain)
    elif html is not None:
        content = re.sub(r"<br\s*/?>|</p>|</div>", "\n", _decode_part(html), flags=re.IGNORECASE)
        content = re.sub(r"<[^>]+>", "", content)
    else:
        return ""
    return unicodedata.normalize("NFC", content.replace("\r\n", "\n"))


def _attachments(message: Message) -> list[tuple[str, bytes]]:
    found = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        if not _is_attachment(part):
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        found.append((decoded(part.get_filename()) or "tep-dinh-kem", payload))
    return found


def is_auto_reply(message: Message) -> bool:
    """RFC 3834 Auto-Submitted, X-Autoreply/X-Autorespond, Precedence auto_reply, or a subject
    that says it (Vietnamese 'trả lời tự động', 'Out of Office')."""
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if submitted and submitted != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if str(message.get("Precedence", "")).strip().lower() in {"auto_reply", "bulk", "junk"}:
        return True
    return bool(AUTO_SUBJECTS.search(decoded(message.get("Subject"))))


def _bounce(message: Message) -> Bounce | None:
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    failed, delayed, diagnostic, original = [], False, "", None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in part.get_payload():
                action = str(block.get("Action", "")).strip().lower()
                recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient", ""))
                address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                diagnostic = diagnostic or " ".join(str(block.get("Diagnostic-Code", "")).split())
                if action == "failed" and "@" in address:
                    failed.append(address)
                elif action == "delayed":
                    delayed = True
        elif kind in {"message/rfc822", "text/rfc822-headers"} and original is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                headers = inner[0]
            else:
                headers = message_from_bytes(part.get_payload(decode=True) or b"")
            found = MESSAGE_ID.search(str(headers.get("Message-ID", "")))
            original = found.group(0) if found else None
    return Bounce(failed, delayed and not failed, original, diagnostic[:500])


def message_id_of(message: Message, raw: bytes) -> str:
    """The mail's Message-ID, or one derived from its bytes when it has none."""
    found = MESSAGE_ID.search(str(message.get("Message-ID", "")))
    return found.group(0) if found else f"<{hashlib.sha256(raw).hexdigest()[:40]}@khong-co-id>"


def head(raw: bytes) -> Message:
    """Only the header block of a mail (cheap: the body is not parsed)."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    return message_from_bytes(raw[: end if end >= 0 else 256 * 1024])


def parse(raw: bytes) -> Incoming:
    """The parts of a mail kehoach acts on; a mail without Message-ID gets one from its bytes."""
    # The compat32 tree (as imap-tools builds): the modern policy parses every header into
    # objects, which tripled the cost of reading a reply; and the bodies are cut at their
    # boundaries rather than walked line by line (engine.mime_parts).
    message = message_from(raw)
    refers = MESSAGE_ID.findall(str(message.get("In-Reply-To", "")))
    refers += list(reversed(MESSAGE_ID.findall(str(message.get("References", "")))))
    bounce = _bounce(message)
    kind = BOUNCE if bounce else AUTO_REPLY if is_auto_reply(message) else ANSWER
    return Incoming(
        message_id=message_id_of(message, raw),
        from_addr=parseaddr(str(message.get("From", "")))[1].strip().lower(),
        recipients=_addresses(message, "To", "Cc", "Delivered-To", "X-Original-To"),
        subject=decoded(message.get("Subject")),
        refers_to=list(dict.fromkeys(refers)),
        text=_text_of(message) if kind == ANSWER else "",
        attachments=_attachments(message) if kind == ANSWER else [],
        kind=kind,
        bounce=bounce,
    )


def own_text(text: str) -> str:
    """The newest reply in a mail's text, without the quoted letter below it."""
    if not text.strip():
        return ""
    latest = _PARSER.parse_reply(text)
    lines = [line for line in (latest or "").splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def fields_from_text(form: Form, text: str) -> dict[str, str]:
    """Form fields a reply wrote as 'Label: value' (or 'id: value') lines, one per line."""
    wanted: dict[str, str] = {}
    for f in form.fields:
        if f.type == FieldType.file:
            continue
        wanted[_key(f.label)] = f.id
        wanted[_key(f.id)] = f.id
    found: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if not sep or not value.strip():
            continue
        field_id = wanted.get(_key(label.strip(" -*•\t")))
        if field_id and field_id not in found:
            found[field_id] = value.strip()
    return found


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())

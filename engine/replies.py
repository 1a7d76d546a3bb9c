"""Reading an incoming mail: what kind it is (answer, delivery report, automatic reply), who sent
it, what it refers to, its own text without the quoted history, and its attachments.

Pure functions over bytes: no ledger, no network. The caller bounds the size before parsing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from mailparser_reply import EmailReplyParser
from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE

from engine.definitions.models import FieldType, Form

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

    @property
    def own_text(self) -> str:
        """The reply's own words: quoted history and signature separators removed."""
        return own_text(self.text)


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    values = []
    for name in names:
        values.extend(str(v) for v in message.get_all(name, []))
    return [a.strip().lower() for _, a in getaddresses(values) if "@" in a]


def _text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError):
        content = body.get_payload(decode=True).decode("utf-8", "replace")
    if body.get_content_subtype() == "html":
        content = re.sub(r"<br\s*/?>|</p>|</div>", "\n", content, flags=re.IGNORECASE)
        content = re.sub(r"<[^>]+>", "", content)
    return unicodedata.normalize("NFC", content.replace("\r\n", "\n"))


def _attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found = []
    for part in message.iter_attachments():
        if part.get_content_maintype() == "multipart" or part.get_content_type().startswith(
            "message/"
        ):
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        found.append((part.get_filename() or "tep-dinh-kem", payload))
    return found


def is_auto_reply(message: EmailMessage) -> bool:
    """RFC 3834 Auto-Submitted, X-Autoreply/X-Autorespond, Precedence auto_reply, or a subject
    that says it (Vietnamese 'trả lời tự động', 'Out of Office')."""
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if submitted and submitted != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if str(message.get("Precedence", "")).strip().lower() in {"auto_reply", "bulk", "junk"}:
        return True
    return bool(AUTO_SUBJECTS.search(str(message.get("Subject", ""))))


def _bounce(message: EmailMessage) -> Bounce | None:
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
                diagnostic = diagnostic or str(block.get("Diagnostic-Code", "")).strip()
                if action == "failed" and "@" in address:
                    failed.append(address)
                elif action == "delayed":
                    delayed = True
        elif kind in {"message/rfc822", "text/rfc822-headers"} and original is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original = str(inner[0].get("Message-ID", "")).strip() or None
            else:
                text = part.get_payload(decode=True) or b""
                headers = BytesParser(policy=policy.default).parsebytes(text, headersonly=True)
                original = str(headers.get("Message-ID", "")).strip() or None
    return Bounce(failed, delayed and not failed, original, diagnostic[:500])


def parse(raw: bytes) -> Incoming:
    """The parts of a mail kehoach acts on; a mail without Message-ID gets one from its bytes."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    found = MESSAGE_ID.search(str(message.get("Message-ID", "")))
    message_id = (
        found.group(0) if found else f"<{hashlib.sha256(raw).hexdigest()[:40]}@khong-co-message-id>"
    )
    refers = MESSAGE_ID.findall(str(message.get("In-Reply-To", "")))
    refers += list(reversed(MESSAGE_ID.findall(str(message.get("References", "")))))
    bounce = _bounce(message)
    kind = BOUNCE if bounce else AUTO_REPLY if is_auto_reply(message) else ANSWER
    return Incoming(
        message_id=message_id,
        from_addr=parseaddr(str(message.get("From", "")))[1].strip().lower(),
        recipients=_addresses(message, "To", "Cc", "Delivered-To", "X-Original-To"),
        subject=" ".join(str(message.get("Subject", "")).split()),
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

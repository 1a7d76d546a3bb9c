"""Personal form links: a signed token scoped to one assignment, valid until the cycle's close
plus grace. No accounts: whoever holds the emailed link may answer for that body, so the token
must be unforgeable and must expire."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path


class TokenError(ValueError):
    """A link that is malformed, tampered with, signed with another key, or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest[:20])


def sign(assignment_id: int, expires_on: dt.date, secret: str) -> str:
    """'<assignment>.<yyyymmdd>.<hmac>': short enough for an email, opaque enough to trust."""
    payload = f"{assignment_id}.{expires_on:%Y%m%d}"
    return f"{payload}.{_signature(secret, payload)}"


def verify(token: str, secret: str, today: dt.date) -> int:
    """The assignment id the token grants, or TokenError saying why not."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise TokenError("Đường dẫn không hợp lệ.")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(secret, payload), parts[2]):
        raise TokenError("Đường dẫn không hợp lệ hoặc đã bị sửa đổi.")
    try:
        expires_on = dt.datetime.strptime(parts[1], "%Y%m%d").date()
    except ValueError as error:
        raise TokenError("Đường dẫn không hợp lệ.") from error
    if today > expires_on:
        raise TokenError("Đường dẫn đã hết hạn: kỳ báo cáo đã đóng.")
    return int(parts[0])


def load_or_create_secret(given: str | None, var_dir: Path) -> str:
    """KEHOACH_SECRET_KEY when set; otherwise a key generated once into var/ and kept."""
    if given:
        return given
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    temporary.write_text(key, encoding="ascii")
    temporary.chmod(0o600)
    try:
        # Two processes starting together must agree on one key: the first link wins.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


# Reply tokens travel in an address's local part (nop+<token>@…), which some mail systems
# lower-case: lower-case hex only, and a scope of their own so a form link's signature never
# doubles as a reply token.
REPLY_TOKEN = re.compile(r"\bkh(\d{1,12})x([0-9a-f]{12})\b", re.IGNORECASE)


def sign_reply(assignment_id: int, secret: str) -> str:
    """'kh<assignment>x<12 hex>': the reply token of one assignment, for a plus-address."""
    digest = hmac.new(
        secret.encode("utf-8"), f"reply:{assignment_id}".encode("ascii"), hashlib.sha256
    ).hexdigest()
    return f"kh{assignment_id}x{digest[:12]}"


def find_reply_tokens(text: str) -> list[str]:
    """Every reply-token-shaped word in a text (addresses, subject, quoted letter)."""
    return [match.group(0).lower() for match in REPLY_TOKEN.finditer(text or "")]


def verify_reply(token: str, secret: str) -> int:
    """The assignment a reply token names, or TokenError when its signature is wrong."""
    match = REPLY_TOKEN.fullmatch(token.strip())
    if match is None:
        raise TokenError("Mã trả lời không hợp lệ.")
    expected = sign_reply(int(match.group(1)), secret)
    if not hmac.compare_digest(expected, token.strip().lower()):
        raise TokenError("Mã trả lời không đúng chữ ký (có thể bị sửa đổi).")
    return int(match.group(1))


def reply_address(mailbox: str, assignment_id: int, secret: str) -> str:
    """The intake mailbox with the assignment's token as plus-address: nop+kh12x…@domain."""
    local, _, domain = mailbox.partition("@")
    return f"{local}+{sign_reply(assignment_id, secret)}@{domain}"

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
import time
from dataclasses import dataclass
from pathlib import Path


class TokenError(ValueError):
    """A link that is malformed, tampered with, signed with another key, or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


MIN_SECRET_BYTES = 32
_NUMBER = re.compile(r"[0-9]+")


class SecretKeyInvalid(ValueError):
    """The link-signing key is missing, empty or too short to be trusted."""


@dataclass(frozen=True)
class LinkGrant:
    """What a verified link grants: an assignment, until a date, for one revision round."""

    assignment_id: int
    expires_on: dt.date
    revision: int = 0


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest[:20])


def sign(assignment_id: int, expires_on: dt.date, secret: str, revision: int = 0) -> str:
    """'<assignment>.<yyyymmdd>[.<revision>].<hmac>': short enough for an email, opaque enough to
    trust. Revision 0 (before any return for revision) keeps the original three-part form."""
    payload = f"{assignment_id}.{expires_on:%Y%m%d}"
    if revision:
        payload += f".{revision}"
    return f"{payload}.{_signature(secret, payload)}"


def read_link(token: str, secret: str) -> LinkGrant:
    """What a token grants if its signature holds (the date is not compared), or TokenError."""
    parts = token.split(".")
    # [0-9]+, not str.isdigit: "²" is a digit to isdigit() but not to int().
    if len(parts) not in (3, 4) or not all(_NUMBER.fullmatch(p) for p in parts[:-1]):
        raise TokenError("Đường dẫn không hợp lệ.")
    if len(parts[0]) > 15 or len(parts[1]) != 8 or (len(parts) == 4 and len(parts[2]) > 6):
        raise TokenError("Đường dẫn không hợp lệ.")
    payload = ".".join(parts[:-1])
    # As bytes: compare_digest refuses a non-ASCII str ('é') with a TypeError.
    given = parts[-1].encode("utf-8", "replace")
    if not hmac.compare_digest(_signature(secret, payload).encode("ascii"), given):
        raise TokenError("Đường dẫn không hợp lệ hoặc đã bị sửa đổi.")
    try:
        expires_on = dt.datetime.strptime(parts[1], "%Y%m%d").date()
    except ValueError as error:
        raise TokenError("Đường dẫn không hợp lệ.") from error
    revision = int(parts[2]) if len(parts) == 4 else 0
    return LinkGrant(int(parts[0]), expires_on, revision)


def verify(token: str, secret: str, today: dt.date) -> int:
    """The assignment id the token grants, or TokenError saying why not."""
    grant = read_link(token, secret)
    if today > grant.expires_on:
        raise TokenError("Đường dẫn đã hết hạn: kỳ báo cáo đã đóng.")
    return grant.assignment_id


def check_secret(key: str, source: str) -> str:
    """The key if it is long enough to sign links, or SecretKeyInvalid in Vietnamese."""
    if len(key.encode("utf-8")) < MIN_SECRET_BYTES:
        raise SecretKeyInvalid(
            f"Khóa ký đường liên kết ({source}) phải dài ít nhất {MIN_SECRET_BYTES} byte "
            f"(hiện có {len(key.encode('utf-8'))}). Tạo khóa mới, ví dụ: "
            'python -c "import secrets; print(secrets.token_urlsafe(32))".'
        )
    return key


def load_or_create_secret(given: str | None, var_dir: Path) -> str:
    """KEHOACH_SECRET_KEY when set; otherwise a key generated once into var/ and kept.

    The file is created exclusively with mode 0600 (never readable by others, not even for a
    moment), and a key of fewer than 32 bytes, from either place, is refused.
    """
    if given is not None:
        return check_secret(given, "KEHOACH_SECRET_KEY")
    path = var_dir / "secret_key"
    make_private_dir(var_dir)
    key = secrets.token_urlsafe(32)
    try:
        # Two processes starting together must agree on one key: the first creation wins.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w", encoding="ascii") as created:
            created.write(key)
        return key
    for _ in range(40):
        try:
            stored = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise SecretKeyInvalid(
                f"Không đọc được khóa ký đường liên kết {path}: {error}"
            ) from error
        if stored:
            break
        # Another process created the file an instant ago and is writing its key.
        time.sleep(0.025)
    return check_secret(stored, str(path))


def make_private_dir(path: Path) -> Path:
    """Create a directory (and parents) readable only by the service user; tighten an
    existing one we own."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError:
        pass  # not ours (a shared mount): its owner decides
    return path


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

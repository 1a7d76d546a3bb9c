"""The portal's defences: CSRF tokens tied to the page they protect, response headers, and the
operator's credential.

Agencies have no accounts: the signed link in their email is the credential. A CSRF token is an
HMAC of that link plus a fresh nonce, so a form page can only be posted back to its own link.
Operators authenticate with HTTP Basic against a password (or its scrypt hash) taken from the
environment; their forms carry CSRF tokens tied to the operator and the assignment, because a
browser re-sends Basic credentials to cross-site requests on its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

CSRF_FIELD = "_csrf"

# No script at all, styles from our own origin, forms only back to us, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # The personal link is in the URL: never hand it to another site in a Referer.
    (b"referrer-policy", b"no-referrer"),
    (b"x-robots-tag", b"noindex, nofollow"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
NO_STORE: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store, max-age=0"),
    (b"pragma", b"no-cache"),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _csrf_mac(secret: str, scope: str, nonce: str, issued: str) -> str:
    # The prefix keeps these MACs apart from link signatures made with the same key.
    message = f"kehoach-csrf\x00{scope}\x00{nonce}\x00{issued}".encode()
    return _b64(hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()[:18])


def csrf_token(secret: str, scope: str, now: float | None = None) -> str:
    """A fresh token for one rendering of a form protecting `scope` (a link or an operator),
    stamped with the time it was issued (seconds since the epoch) so that it can expire."""
    nonce = secrets.token_urlsafe(12)
    issued = format(int(time.time() if now is None else now), "x")
    return f"{nonce}.{issued}.{_csrf_mac(secret, scope, nonce, issued)}"


def csrf_valid(
    secret: str,
    scope: str,
    token: str | None,
    *,
    now: float | None = None,
    max_age: float | None = None,
    spent: SpentTokens | None = None,
) -> bool:
    """Whether `token` was issued for `scope`, within `max_age` seconds, and (with `spent`)
    never used before; a valid token is marked used in `spent` at once."""
    if not token or token.count(".") != 2 or len(token) > 100:
        return False
    nonce, issued, mac = token.split(".")
    if not re.fullmatch(r"[0-9a-f]{1,12}", issued):
        return False
    expected = _csrf_mac(secret, scope, nonce, issued).encode("ascii")
    if not hmac.compare_digest(expected, mac.encode("utf-8", "replace")):
        return False
    now = time.time() if now is None else now
    age = now - int(issued, 16)
    if max_age is not None and not -60 <= age <= max_age:
        return False
    return spent is None or spent.use(nonce, int(issued, 16) + (max_age or 86400))


class SpentTokens:
    """Nonces of CSRF tokens already used, kept until the token would have expired anyway, so
    one rendering of a form records at most one answer (or one review)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, nonce: str, expires_at: float) -> bool:
        """Mark `nonce` used; False if it already was."""
        with self._lock:
            if nonce in self._expiry:
                return False
            if len(self._expiry) >= self.capacity:
                self._forget_expired(time.time())
            if len(self._expiry) >= self.capacity:
                # Still full of live tokens: forget the oldest (they expire first anyway).
                oldest = min(self._expiry, key=self._expiry.__getitem__)
                del self._expiry[oldest]
            self._expiry[nonce] = expires_at
            return True

    def _forget_expired(self, now: float) -> None:
        for nonce in [n for n, at in self._expiry.items() if at < now]:
            del self._expiry[nonce]


class SecurityHeaders:
    """ASGI middleware: security headers on every response; no caching except static files."""

    def __init__(self, app, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(self.static_prefix)

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if cacheable or k.lower() != b"cache-control"
                ]
                headers.extend(SECURITY_HEADERS)
                if not cacheable:
                    headers.extend(NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


PERSONAL_LINK = re.compile(r"/s/[^/?#\s\"]+")


def redact(text: str) -> str:
    """A path or URL with its personal link token replaced: logs must not hand out links."""
    return PERSONAL_LINK.sub("/s/…", text)


class RedactLinks(logging.Filter):
    """For uvicorn's access log, whose third argument is the request path with its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


# --- operator credential --------------------------------------------------------------------

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# A password kept in clear in the environment must at least resist guessing.
MIN_PASSWORD_CHARS = 12


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """'scrypt$n$r$p$salt$hash', to put in KEHOACH_OPERATOR_PASSWORD_HASH."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_password_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """The parts of a stored hash, or ValueError saying it is not one we made."""
    parts = stored.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("not a 'scrypt$n$r$p$salt$hash' password hash")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        return n, r, p, _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error) as error:
        raise ValueError(f"malformed password hash: {error}") from error


@dataclass
class OperatorCredential:
    """Who may use the operator pages: one user name and a password or its scrypt hash."""

    user: str
    password: str | None = None
    password_hash: str | None = None
    # scrypt is slow on purpose; Basic auth re-sends the password with every request, so
    # remember the ones that already matched (by their SHA-256, never in clear).
    _verified: set[bytes] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not (self.password or self.password_hash):
            raise ValueError("an operator credential needs a password or a password hash")
        if self.password and not self.password_hash and len(self.password) < MIN_PASSWORD_CHARS:
            raise ValueError(
                f"KEHOACH_OPERATOR_PASSWORD quá ngắn ({len(self.password)} ký tự; cần ít nhất "
                f"{MIN_PASSWORD_CHARS}). Nên dùng KEHOACH_OPERATOR_PASSWORD_HASH tạo bằng "
                "`kehoach portal-password`."
            )
        if self.password_hash:
            parse_password_hash(self.password_hash)

    def check(self, user: str, password: str) -> bool:
        user_ok = hmac.compare_digest(user.encode("utf-8"), self.user.encode("utf-8"))
        fingerprint = hashlib.sha256(password.encode("utf-8")).digest()
        if self.password_hash:
            with self._lock:
                known = fingerprint in self._verified
            if not known:
                n, r, p, salt, expected = parse_password_hash(self.password_hash)
                given = hashlib.scrypt(
                    password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(expected)
                )
                known = hmac.compare_digest(given, expected)
                if known:
                    with self._lock:
                        self._verified.add(fingerprint)
            return user_ok and known
        assert self.password is not None
        expected = hashlib.sha256(self.password.encode("utf-8")).digest()
        return user_ok and hmac.compare_digest(fingerprint, expected)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an 'Authorization: Basic …' header, or None."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None

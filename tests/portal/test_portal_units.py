"""The portal's small pure parts: CSRF tokens, the operator credential, log redaction, how
stored values read on a page."""

from __future__ import annotations

import base64

import pytest

from engine.definitions.models import FieldType
from portal.formview import readable
from portal.limits import LoginThrottle, RateLimits, SlidingWindow
from portal.security import (
    OperatorCredential,
    SpentTokens,
    basic_credentials,
    csrf_token,
    csrf_valid,
    hash_password,
    redact,
)


def test_csrf_token_is_tied_to_its_scope_and_secret() -> None:
    token = csrf_token("secret", "agency:1.20260325.abc")
    assert csrf_valid("secret", "agency:1.20260325.abc", token)
    assert not csrf_valid("secret", "agency:2.20260325.abc", token)
    assert not csrf_valid("other", "agency:1.20260325.abc", token)
    nonce, issued, mac = token.split(".")
    assert not csrf_valid("secret", "agency:1.20260325.abc", f"{nonce}x.{issued}.{mac}")
    # The issue time is signed: moving it forward to extend the token's life breaks it.
    later = format(int(issued, 16) + 3600, "x")
    assert not csrf_valid("secret", "agency:1.20260325.abc", f"{nonce}.{later}.{mac}")
    for bad in ("", None, "abc", "a.b", "a.b.c", "a.zz.c", "x" * 200):
        assert not csrf_valid("secret", "agency:1.20260325.abc", bad)
    assert csrf_token("secret", "s") != csrf_token("secret", "s")  # a fresh nonce each time


def test_csrf_tokens_expire_and_are_single_use() -> None:
    token = csrf_token("secret", "s", now=1_000_000)
    assert csrf_valid("secret", "s", token, now=1_000_000 + 3599, max_age=3600)
    assert not csrf_valid("secret", "s", token, now=1_000_000 + 3601, max_age=3600)
    assert not csrf_valid("secret", "s", token, now=1_000_000 - 3600, max_age=3600)
    spent = SpentTokens()
    assert csrf_valid("secret", "s", token, now=1_000_010, max_age=3600, spent=spent)
    assert not csrf_valid("secret", "s", token, now=1_000_011, max_age=3600, spent=spent)
    # A forged token never takes a place in the store.
    assert not csrf_valid("other", "s", token, now=1_000_011, max_age=3600, spent=spent)
    small = SpentTokens(capacity=2)
    for n in range(5):
        assert small.use(f"n{n}", 2e9)
    assert len(small._expiry) == 2  # bounded memory whatever the traffic


def test_operator_credential() -> None:
    plain = OperatorCredential("vanhanh", password="mat-khau-rat-dai")
    assert plain.check("vanhanh", "mat-khau-rat-dai")
    assert not plain.check("vanhanh", "mat-khau-sai")
    assert not plain.check("khac", "mat-khau-rat-dai")
    hashed = OperatorCredential("vanhanh", password_hash=hash_password("mat-khau-rat-dai"))
    assert hashed.check("vanhanh", "mat-khau-rat-dai")
    assert hashed.check("vanhanh", "mat-khau-rat-dai")  # the second time from memory
    assert not hashed.check("vanhanh", "mat-khau-sai")
    with pytest.raises(ValueError):
        OperatorCredential("vanhanh", password_hash="md5$abc")
    with pytest.raises(ValueError):
        OperatorCredential("vanhanh")
    # A plaintext password from the environment must resist guessing: 'pw' is refused.
    with pytest.raises(ValueError, match="quá ngắn"):
        OperatorCredential("vanhanh", password="pw")
    with pytest.raises(ValueError, match="quá ngắn"):
        OperatorCredential("vanhanh", password="12345678901")


def test_rate_limit_windows_and_login_backoff() -> None:
    window = SlidingWindow(3, 60)
    assert [window.retry_after("a", now=t) for t in (0, 1, 2)] == [0, 0, 0]
    assert window.retry_after("a", now=3) == pytest.approx(57)
    assert window.retry_after("b", now=3) == 0  # keys are counted apart
    assert window.retry_after("a", now=60.5) == 0  # the first event left the window
    assert window.retry_after("c", now=61, record=False) == 0
    limits = RateLimits(login_failures=3, login_backoff_seconds=2, login_backoff_max_seconds=10)
    throttle = LoginThrottle(limits)
    for _ in range(2):
        throttle.failed("10.0.0.9", now=100)
    assert throttle.wait("10.0.0.9", now=100) == 0
    throttle.failed("10.0.0.9", now=100)
    assert throttle.wait("10.0.0.9", now=100) == 2
    throttle.failed("10.0.0.9", now=102)
    assert throttle.wait("10.0.0.9", now=102) == 4  # doubles
    for _ in range(10):
        throttle.failed("10.0.0.9", now=200)
    assert throttle.wait("10.0.0.9", now=200) == 10  # capped
    assert throttle.wait("10.0.0.8", now=200) == 0
    throttle.succeeded("10.0.0.9")
    assert throttle.wait("10.0.0.9", now=200) == 0


def test_rate_limits_from_the_environment() -> None:
    assert RateLimits.from_env({}) == RateLimits()
    given = RateLimits.from_env(
        {"KEHOACH_PORTAL_ANSWERS_PER_ADDRESS": "500", "KEHOACH_PORTAL_WINDOW_SECONDS": "30"}
    )
    assert given.answers_per_address == 500 and given.window_seconds == 30
    for bad in ("0", "-1", "nhiều", "nan", "inf"):
        with pytest.raises(ValueError, match="KEHOACH_PORTAL_ANSWERS_PER_LINK"):
            RateLimits.from_env({"KEHOACH_PORTAL_ANSWERS_PER_LINK": bad})


def test_basic_credentials() -> None:
    encoded = base64.b64encode("vanhanh:mật:khẩu".encode()).decode()
    assert basic_credentials(f"Basic {encoded}") == ("vanhanh", "mật:khẩu")
    assert basic_credentials(None) is None
    assert basic_credentials("Bearer abc") is None
    assert basic_credentials("Basic !!!") is None
    assert basic_credentials("Basic " + base64.b64encode(b"no-colon").decode()) is None


def test_links_are_redacted_from_logs() -> None:
    line = "GET /s/1.20260325.5EGzvLjG5DY_KdIVoDsqrS2_uQc/submit?x=1 HTTP/1.1"
    assert redact(line) == "GET /s/…/submit?x=1 HTTP/1.1"
    assert redact("/health") == "/health"


@pytest.mark.parametrize(
    "field_type, stored, shown",
    [
        (FieldType.integer, 1234567, "1.234.567"),
        (FieldType.integer, -5, "-5"),
        (FieldType.decimal, "2500000.5", "2.500.000,5"),
        (FieldType.decimal, "-1234.50", "-1.234,50"),
        (FieldType.date, "2026-03-05", "ngày 5 tháng 3 năm 2026"),
        (FieldType.text, "<b>", "<b>"),  # escaping is the template's job
        (FieldType.decimal, "không phải số", "không phải số"),
    ],
)
def test_stored_values_read_the_vietnamese_way(field_type, stored, shown) -> None:
    assert readable(field_type, stored) == shown

"""The portal's small pure parts: CSRF tokens, the operator credential, log redaction, how
stored values read on a page."""

from __future__ import annotations

import base64

import pytest

from engine.definitions.models import FieldType
from portal.formview import readable
from portal.security import (
    OperatorCredential,
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
    nonce, mac = token.split(".")
    assert not csrf_valid("secret", "agency:1.20260325.abc", f"{nonce}x.{mac}")
    for bad in ("", None, "abc", "a.b.c", "x" * 200):
        assert not csrf_valid("secret", "agency:1.20260325.abc", bad)
    assert csrf_token("secret", "s") != csrf_token("secret", "s")  # a fresh nonce each time


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

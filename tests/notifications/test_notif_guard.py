"""The .example guard and the SMTP settings read from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notifications.guard import is_example_address, is_loopback_host
from notifications.sender import Sender, SmtpSettings, UnsafeRecipientError


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    ["smtp.tuyenquang.gov.vn", "10.0.0.1", "0.0.0.0", "localhost.evil.com", "mail.localhost", ""],
)
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


def test_example_addresses() -> None:
    assert is_example_address("van-thu@so-tu-phap.tuyenquang.example")
    assert is_example_address("A@B.EXAMPLE")
    assert is_example_address("a@example")
    assert not is_example_address("a@example.com")
    assert not is_example_address("a@so.example.vn")


class NoConnectSender(Sender):
    """A Sender whose connection attempts are recorded and refused, so nothing leaves the host."""

    def __init__(self, settings: SmtpSettings) -> None:
        super().__init__(settings, retries=0, sleep=lambda _: None)
        self.connects = 0

    def _connect(self):
        self.connects += 1
        raise AssertionError("the guard should have refused before connecting")


def test_guard_refuses_example_through_a_real_relay(make_message) -> None:
    sender = NoConnectSender(SmtpSettings(smtp_host="smtp.tuyenquang.gov.vn", smtp_port=587))
    ok = make_message(1, to=["van-thu@stttt.tuyenquang.gov.vn"])
    test_cc = make_message(
        2, to=["van-thu@stttt.tuyenquang.gov.vn"], cc=["x@so.tuyenquang.example"]
    )
    with pytest.raises(UnsafeRecipientError, match=r"x@so\.tuyenquang\.example.*smtp\.tuyenquang"):
        sender.send_batch([ok, test_cc])
    with pytest.raises(UnsafeRecipientError):
        sender.send_each([make_message(3)])  # refused on the call, not on first iteration
    assert sender.connects == 0


def test_guard_allows_example_on_loopback(sink, make_sender, make_message) -> None:
    message = make_message(1, to=["van-thu@so-tu-phap.tuyenquang.example"])
    [result] = make_sender(sink).send_batch([message])
    assert result.accepted
    assert [m.to for m in sink.messages()] == [["van-thu@so-tu-phap.tuyenquang.example"]]


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEHOACH_SMTP_HOST", "smtp.tuyenquang.gov.vn")
    monkeypatch.setenv("KEHOACH_SMTP_PORT", "587")
    monkeypatch.setenv("KEHOACH_SMTP_USER", "kehoach")
    monkeypatch.setenv("KEHOACH_SMTP_PASSWORD", "bi-mat-123")
    monkeypatch.setenv("KEHOACH_SMTP_STARTTLS", "true")
    monkeypatch.setenv("KEHOACH_MAIL_FROM", "kehoach@tuyenquang.gov.vn")
    settings = SmtpSettings()
    assert (settings.smtp_host, settings.smtp_port) == ("smtp.tuyenquang.gov.vn", 587)
    assert settings.smtp_starttls and not settings.smtp_ssl
    assert settings.smtp_password.get_secret_value() == "bi-mat-123"
    assert "bi-mat-123" not in repr(settings)


def test_settings_defaults_point_at_the_local_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "USER", "PASSWORD", "STARTTLS", "SSL"):
        monkeypatch.delenv(f"KEHOACH_SMTP_{name}", raising=False)
    monkeypatch.delenv("KEHOACH_MAIL_FROM", raising=False)
    settings = SmtpSettings()
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 1025)
    assert settings.smtp_user is None and settings.smtp_password is None
    assert not settings.smtp_starttls and not settings.smtp_ssl
    assert settings.mail_from == "kehoach@localhost"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"smtp_user": "kehoach"}, "PASSWORD"),
        ({"smtp_ssl": True, "smtp_starttls": True}, "exclude each other"),
        ({"mail_from": "khong-phai-dia-chi"}, "MAIL_FROM"),
        ({"mail_from_name": "Văn phòng Ủy ban nhân dân tỉnh Tuyên Quang"}, "too long"),
    ],
)
def test_inconsistent_settings_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SmtpSettings(**values)

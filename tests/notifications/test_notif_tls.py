"""TLS and login against aiosmtpd: certificates are verified, credentials reach the server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from notifications.mailsink import MailSinkHandler, _Controller
from notifications.sender import Sender, SmtpSettings


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kehoach test relay")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "relay.pem", folder / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


class Credentials:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == b"kehoach" and auth_data.password == b"mat-khau-dung"
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: let aiosmtpd answer 535 itself on a failure.
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_relay(tmp_path: Path, certificate):
    credentials = Credentials()
    controller = _Controller(
        MailSinkHandler(tmp_path),
        hostname="127.0.0.1",
        port=0,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=credentials,
        auth_required=True,
    )
    controller.start()
    yield controller, credentials
    controller.stop()


def settings(port: int, **values) -> SmtpSettings:
    return SmtpSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5, **values)


def test_starttls_with_login_delivers(starttls_relay, certificate, make_message, tmp_path) -> None:
    controller, credentials = starttls_relay
    config = settings(
        controller.port,
        smtp_starttls=True,
        smtp_ca_file=certificate[0],
        smtp_user="kehoach",
        smtp_password=SecretStr("mat-khau-dung"),
    )
    [result] = Sender(config).send_batch([make_message(1)])
    assert result.accepted
    assert credentials.logins == ["kehoach"]  # a bare login name, not 'kehoach@gmail.com'
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_unverifiable_certificate_is_refused(starttls_relay, make_message, tmp_path) -> None:
    controller, _ = starttls_relay
    config = settings(
        controller.port,
        smtp_starttls=True,
        smtp_user="kehoach",
        smtp_password=SecretStr("mat-khau-dung"),
    )
    [result] = Sender(config, sleep=lambda _: None).send_batch([make_message(1)])
    assert not result.accepted and result.retryable
    assert "certificate verify failed" in result.error
    assert list(tmp_path.glob("*.eml")) == []


def test_wrong_password_fails_the_batch_without_retrying(
    starttls_relay, certificate, make_message, sleeps
) -> None:
    controller, credentials = starttls_relay
    config = settings(
        controller.port,
        smtp_starttls=True,
        smtp_ca_file=certificate[0],
        smtp_user="kehoach",
        smtp_password=SecretStr("sai"),
    )
    results = Sender(config, sleep=sleeps).send_batch([make_message(1), make_message(2)])
    assert [r.accepted for r in results] == [False, False]
    assert all(r.retryable and "535" in r.error for r in results)
    assert sleeps == [] and credentials.logins == []
    assert "sai" not in results[0].error


def test_implicit_tls_delivers(certificate, make_message, tmp_path: Path) -> None:
    controller = _Controller(
        MailSinkHandler(tmp_path),
        hostname="127.0.0.1",
        port=0,
        ssl_context=server_context(certificate),
    )
    controller.start()
    try:
        config = settings(controller.port, smtp_ssl=True, smtp_ca_file=certificate[0])
        [result] = Sender(config).send_batch([make_message(1)])
    finally:
        controller.stop()
    assert result.accepted
    assert len(list(tmp_path.glob("*.eml"))) == 1

"""Connecting the mailbox: a wrong password or inconsistent settings give one Vietnamese sentence
and a non-zero exit, and the password never appears in what is printed."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.intake.conftest import DEFS


def _intake():
    from cli.main import app

    return CliRunner().invoke(app, ["intake"])


def test_refused_login_is_a_sentence_without_the_password(kehoach_env, imap_server, monkeypatch):
    kehoach_env(DEFS)
    for name, value in imap_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEHOACH_IMAP_PASSWORD", "mat-khau-sai-9f3")
    result = _intake()
    assert result.exit_code == 1
    assert "từ chối đăng nhập" in result.output and "Traceback" not in result.output
    assert "mat-khau-sai-9f3" not in result.output


def test_inconsistent_settings_are_named_without_the_password(kehoach_env, monkeypatch):
    kehoach_env(DEFS)
    monkeypatch.setenv("KEHOACH_IMAP_HOST", "mail.tuyenquang.example")
    monkeypatch.setenv("KEHOACH_IMAP_USER", "nop")
    monkeypatch.setenv("KEHOACH_IMAP_PASSWORD", "mat-khau-bi-mat-7c1")
    monkeypatch.setenv("KEHOACH_IMAP_STARTTLS", "true")
    result = _intake()
    assert result.exit_code == 1
    assert "KEHOACH_IMAP_SSL và KEHOACH_IMAP_STARTTLS không dùng cùng lúc" in result.output
    assert "mat-khau-bi-mat-7c1" not in result.output

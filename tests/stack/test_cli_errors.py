"""Mistakes an operator can make with the stack commands: a clear Vietnamese message and a
non-zero exit, before anything is started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEHOACH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KEHOACH_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    return tmp_path / "var"


def test_up_refuses_a_busy_port_before_starting_anything(var_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["up", "--prefect-port", str(port)])
    assert result.exit_code == 1
    assert f"cổng {port} (máy chủ Prefect) đang bận" in result.output
    assert "--prefect-port" in result.output
    assert not (var_dir / "stack" / "children.json").exists()


def test_up_refuses_an_impossible_port(var_dir: Path) -> None:
    result = CliRunner().invoke(app, ["up", "--portal-port", "70000"])
    assert result.exit_code == 2 and "cổng không hợp lệ: 70000" in result.output


def test_up_refuses_broken_definitions(var_dir: Path, tmp_path: Path, monkeypatch) -> None:
    broken = tmp_path / "defs"
    broken.mkdir()
    (broken / "plan.yaml").write_text("plan: [\n", encoding="utf-8")
    monkeypatch.setenv("KEHOACH_DEFINITIONS", str(broken))
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 1
    assert "plan.yaml:" in result.output and "lỗi trong định nghĩa" in result.output


def test_reload_without_a_running_stack_says_so(var_dir: Path) -> None:
    result = CliRunner().invoke(app, ["reload"])
    assert result.exit_code == 1
    assert "không có `kehoach up` nào đang chạy" in result.output

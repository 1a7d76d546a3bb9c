"""Infrastructure failures as operators see them: one Vietnamese line, exit 1, no traceback
(the traceback goes to var/log/kehoach-cli.log, or to the terminal with --debug)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from cli.errors import infrastructure_message
from cli.main import app
from tests.relay import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEHOACH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KEHOACH_DEBUG", raising=False)
    return tmp_path / "var"


@pytest.mark.parametrize("command", [["status"], ["outbox"], ["outbox", "retry", "--failed"]])
def test_ledger_unreachable(var_dir: Path, monkeypatch, command) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    monkeypatch.setenv("KEHOACH_DATABASE_URL", url)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Lỗi: không kết nối được sổ theo dõi (127.0.0.1:")
    assert "KEHOACH_DATABASE_URL" in lines[-1] and "Traceback" not in result.output
    log = (var_dir / "log" / "kehoach-cli.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "OperationalError" in log


def test_read_only_ledger(var_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from engine.ledger.db import upgrade

    path = tmp_path / "ledger.db"
    upgrade(f"sqlite:///{path}")
    _one_failed_letter(f"sqlite:///{path}")
    monkeypatch.setenv("KEHOACH_DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    result = CliRunner().invoke(app, ["outbox", "retry", "--failed"])
    assert result.exit_code == 1
    assert "đang ở chế độ chỉ đọc" in result.output and "Traceback" not in result.output


def _one_failed_letter(url: str) -> None:
    import datetime as dt

    from engine.ledger import outbox as ledger_outbox
    from engine.ledger.db import make_engine, session_factory

    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    with session_factory(engine)() as session:
        letter = {"body_id": "b", "kind": "request", "to_addrs": ["a@x.example"]}
        ledger_outbox.enqueue(
            session, [{**letter, "subject": "s", "text_body": "t"}], domain="x.example"
        )
        [item] = ledger_outbox.claim(session, "w", 1, now, dt.timedelta(minutes=2))
        ledger_outbox.mark_failed(session, item.id, "550 no", retry=False)
    engine.dispose()


def test_debug_prints_the_traceback(var_dir: Path, monkeypatch) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    monkeypatch.setenv("KEHOACH_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["--debug", "status"])
    assert result.exit_code == 1 and "Traceback" in result.output


def test_a_full_database_is_named_as_such(tmp_path: Path) -> None:
    """A real SQLITE_FULL: the file may not grow past its current pages."""
    from engine.ledger import outbox as ledger_outbox
    from engine.ledger.db import make_engine, session_factory, upgrade

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_room(dbapi_connection, _record) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    letters = [
        {
            "body_id": f"b{i}",
            "kind": "request",
            "to_addrs": [f"a{i}@x.example"],
            "subject": "x" * 900,
            "text_body": "y" * 4000,
        }
        for i in range(200)
    ]
    with pytest.raises(Exception) as caught, session_factory(engine)() as session:
        ledger_outbox.enqueue(session, letters, domain="x.example")
    message = infrastructure_message(caught.value)
    assert message is not None and message.startswith("ổ đĩa đã đầy")
    engine.dispose()


def test_tick_with_prefect_unreachable(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
        "KEHOACH_VAR_DIR": str(tmp_path / "var"),
        "KEHOACH_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "tick", "--as-of", "2026-03-04"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("Lỗi: không kết nối được máy chủ Prefect (http://127.0.0.1:")
    assert "PREFECT_API_URL" in lines[0]

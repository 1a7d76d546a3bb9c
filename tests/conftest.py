"""Shared fixtures: a real Prefect test server, a real SMTP sink on loopback, real ledgers.

The Prefect harness takes seconds to start, so one serves the whole session; it is started
lazily, only when a test asks for it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The task-run recorder's writes collide on SQLite ("database is locked" → client back-off);
# our tests read flow runs and artifacts, never task runs.
os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# No network here: telemetry would only time out on DNS.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("KEHOACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    from prefect.settings import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # The heartbeat costs ~1 s per flow run; tests don't need it. The server took 93 s to start
    # with eight test runs sharing two cores: allow for it.
    with (
        temporary_settings(updates={"flows.heartbeat_frequency": None}),
        prefect_test_harness(server_startup_timeout=240),
    ):
        yield


@pytest.fixture
def mail_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from notifications.mailsink import running_sink

    with running_sink(tmp_path / "mail") as sink:
        monkeypatch.setenv("KEHOACH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("KEHOACH_SMTP_PORT", str(sink.port))
        yield sink


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty ledger on SQLite and on PostgreSQL (a fresh schema per test)."""
    from engine.ledger.db import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        upgrade(url)
        yield url
        return
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def kehoach_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger_url: str):
    """Point kehoach at a fresh ledger and var/ dir; returns a function to pick definitions."""
    from tasks import runtime

    monkeypatch.setenv("KEHOACH_DATABASE_URL", ledger_url)
    monkeypatch.setenv("KEHOACH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KEHOACH_SECRET_KEY", "test-secret-key-of-at-least-32-bytes")
    monkeypatch.setenv("KEHOACH_MAIL_FROM", "kehoach@tuyenquang.example")

    def use(definitions: Path) -> None:
        monkeypatch.setenv("KEHOACH_DEFINITIONS", str(definitions))
        runtime.reset()

    runtime.reset()
    yield use
    runtime.reset()

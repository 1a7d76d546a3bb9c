"""Fixtures for ledger tests: every test runs on SQLite and on PostgreSQL, on an empty ledger.

Migrations run once per session (a SQLite template file copied per test; one PostgreSQL schema
of its own, emptied before each test), which keeps the suite fast.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.ledger import make_engine, open_cycle, session_factory, upgrade
from engine.ledger.cycles import CycleOpening

PG_URL = os.environ.get("KEHOACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date


QUARTER = Period("2026-q1", dt.date(2025, 12, 15), dt.date(2026, 3, 14))
DUE = dt.date(2026, 3, 20)
CLOSES = dt.date(2026, 3, 27)


@cache
def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    engine = make_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means: skip, and say why
        cause = getattr(error, "orig", None) or error
        first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        return f"PostgreSQL unreachable at {PG_URL}: {type(cause).__name__}: {first_line}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> None:
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)


# Children first; DELETE on these tiny tables is much faster than TRUNCATE's file swaps.
LEDGER_TABLES = (
    "attachments",
    "submissions",
    "events",
    "outbox",
    "address_failures",
    "archived_files",
    "assignments",
    "cycles",
)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("ledger-template") / "ledger.db"
    upgrade(f"sqlite:///{path}")  # disposing the engine checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[Engine]:
    """A PostgreSQL schema of this test session, migrated once and dropped at the end."""
    require_postgres()
    schema = f"kehoach_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty ledger: a copy of the SQLite template, or the emptied PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite:///{path}"
    engine: Engine = request.getfixturevalue("migrated_postgres")
    with engine.begin() as connection:
        for table in LEDGER_TABLES:
            connection.execute(text(f"DELETE FROM {table}"))
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


def bodies(count: int, due_on: dt.date = DUE) -> list[tuple[str, str, dt.date]]:
    return [(f"body-{i:04d}", f"Sở số {i}", due_on) for i in range(count)]


@pytest.fixture
def opened(session: Session) -> Callable[..., CycleOpening]:
    """Open a quarter cycle of a sample obligation with the given bodies."""

    def _open(
        members: list[tuple[str, str, dt.date]] | None = None,
        *,
        obligation_id: str = "quarterly-report",
        period: Period = QUARTER,
        digest: str = "a" * 64,
    ) -> CycleOpening:
        return open_cycle(
            session,
            obligation_id,
            period,
            DUE,
            CLOSES,
            digest,
            bodies(3) if members is None else members,
            TODAY,
            now=NOW,
        )

    return _open


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """Collect every SQL statement the engine sends while the block runs."""
    statements: list[str] = []

    def _record(_conn, _cursor, statement, _params, _context, _executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _record)

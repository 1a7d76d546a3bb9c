"""Engines, sessions and migrations for the ledger (SQLite by default, PostgreSQL when set)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.ledger.transactions import RELAXED_OPTION, WRITE_OPTION, serialise_writes

DEFAULT_URL = "sqlite:///var/kehoach.db"
URL_ENV = "KEHOACH_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Per-connection record (pool record `info`) of the SQLite safety level last set; a connection
# whose owner chose its own level for good (a throwaway simulation ledger) is marked PINNED.
SYNCHRONOUS_KEY = "kehoach_synchronous"
SYNCHRONOUS_PINNED = "pinned"


def default_url() -> str:
    """KEHOACH_DATABASE_URL, or the SQLite file var/kehoach.db relative to the working directory."""
    return os.environ.get(URL_ENV) or DEFAULT_URL


def _normalise(url: str | URL) -> URL:
    parsed = make_url(url)
    # Plain postgresql:// would pick psycopg2, which is not installed; psycopg v3 is.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _private_file(path: Path) -> None:
    """Create the ledger file (and its directory) readable by the service user only: the
    outbox keeps every live link in its letters. SQLite's -wal and -shm files copy its mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # Never open (and close) an existing ledger here: closing any descriptor of a SQLite
        # file drops the POSIX locks this process's connections hold on it.
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        elif path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass  # created meanwhile, not ours, or read-only: SQLite reports what matters


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for the ledger; SQLite gets foreign keys, WAL and a 30 s busy timeout."""
    parsed = _normalise(url or default_url())
    # A failing statement's parameters are agencies' answers: keep them out of logs and errors.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)

    path = _sqlite_file(parsed)
    if path is not None:
        _private_file(path)
    engine = create_engine(parsed, **kwargs)
    serialise_writes(engine, path.with_name(path.name + "-writelock") if path else None)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from sqlite3 so that the "begin" hook below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the lock up front (IMMEDIATE): a deferred transaction that reads and then
        # writes fails at once with SQLITE_BUSY when another writer got in between, instead of
        # waiting for busy_timeout. Readers stay deferred so that they never block writers.
        options = connection.get_execution_options()
        write = options.get(WRITE_OPTION, False)
        if write:
            # The safety level is per connection and cannot change inside a transaction: set it
            # before BEGIN, only when it differs from what this connection last used.
            level = "NORMAL" if options.get(RELAXED_OPTION, False) else "FULL"
            info = connection.connection.info
            if info.get(SYNCHRONOUS_KEY) not in (level, SYNCHRONOUS_PINNED):
                connection.exec_driver_sql(f"PRAGMA synchronous={level}")
                info[SYNCHRONOUS_KEY] = level
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after the ledger operation commits."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations, usable from any cwd."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(url: str | URL | Engine | None = None, revision: str = "head") -> None:
    """Bring the ledger schema at url (or default_url()) up to the given revision."""
    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        command.upgrade(alembic_config(engine), revision)
    finally:
        if engine is not url:
            engine.dispose()

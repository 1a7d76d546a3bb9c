"""The migrated schema matches the ORM, and engines are configured the way the ledger needs."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, inspect, select, text
from sqlalchemy.exc import IntegrityError

from engine.ledger import Base, Event, InvalidInput, default_url, make_engine, upgrade
from engine.ledger.db import MIGRATIONS, alembic_config
from engine.ledger.models import Assignment
from engine.ledger.transactions import aware

from .conftest import NOW


def _diff(engine, metadata):
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), metadata)


def test_migrated_schema_matches_the_orm(engine):
    assert _diff(engine, Base.metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert {
        "cycles",
        "assignments",
        "submissions",
        "attachments",
        "outbox",
        "events",
        "archived_files",
        "alembic_version",
    } <= tables


def test_comparison_notices_drift(engine):
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["cycles"].append_column(Column("extra", Integer))
    drifted.tables["outbox"].indexes.clear()
    diff = _diff(engine, drifted)
    assert any(op[0] == "add_column" and op[3].name == "extra" for op in diff)
    assert any(
        op[0] == "remove_index" and op[1].name == "ix_outbox_state_claimed_at" for op in diff
    )


def test_upgrade_twice_changes_nothing(engine):

    upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (head,)
        ]


def test_upgrade_works_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEHOACH_DATABASE_URL", raising=False)
    assert default_url() == "sqlite:///var/kehoach.db"
    upgrade()
    assert (tmp_path / "var" / "kehoach.db").exists()
    engine = make_engine()
    assert "cycles" in inspect(engine).get_table_names()
    engine.dispose()
    assert (MIGRATIONS / "versions" / "0001_initial.py").exists()


def test_downgrade_removes_the_ledger_and_upgrade_restores_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(engine)
    assert _diff(engine, Base.metadata) == []
    engine.dispose()


def test_default_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("KEHOACH_DATABASE_URL", "postgresql+psycopg://u@db.example/ledger")
    assert default_url() == "postgresql+psycopg://u@db.example/ledger"


def test_plain_postgresql_urls_use_psycopg_v3():
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_sqlite_engine_enforces_foreign_keys_wal_and_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'ledger.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            Assignment.__table__.insert().values(
                cycle_id=999,
                body_id="x",
                body_name="X",
                state="open",
                due_on=dt.date(2026, 1, 1),
                updated_at=NOW,
            )
        )
    engine.dispose()


def test_check_constraints_refuse_unknown_states(engine):
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cycles (obligation_id, period_key, period_start, period_end, due_on,"
                " opened_on, closes_on, definitions_digest, handoff_version, state) VALUES"
                " ('o', 'p', '2026-01-01', '2026-01-31', '2026-02-05', '2026-01-01',"
                " '2026-02-10', 'd', 0, 'lost')"
            )
        )


def test_timestamps_are_stored_and_read_back_in_utc(session):
    hanoi = dt.timezone(dt.timedelta(hours=7))
    session.add(Event(at=dt.datetime(2026, 3, 2, 15, 0, tzinfo=hanoi), kind="probe", data={}))
    session.commit()
    session.expunge_all()
    at = session.scalar(select(Event.at).where(Event.kind == "probe"))
    assert at == dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    assert at.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_are_refused(session):
    with pytest.raises(InvalidInput, match="thiếu múi giờ"):
        aware(dt.datetime(2026, 3, 2, 8, 0))
    session.add(Event(at=dt.datetime(2026, 3, 2, 8, 0), kind="naive", data={}))
    with pytest.raises(Exception, match="without time zone"):
        session.commit()
    session.rollback()

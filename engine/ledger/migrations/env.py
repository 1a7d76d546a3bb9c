"""Alembic environment: runs on the engine engine.ledger.db.upgrade hands over (online only)."""

from __future__ import annotations

from alembic import context

from engine.ledger.db import make_engine
from engine.ledger.models import Base
from engine.ledger.transactions import WRITE_OPTION

config = context.config
given = config.attributes.get("engine")
# Without a handed-over engine (the alembic CLI), fall back to KEHOACH_DATABASE_URL.
engine = given or make_engine(config.get_main_option("sqlalchemy.url"))

try:
    with (
        engine.connect().execution_options(**{WRITE_OPTION: True}) as connection,
        connection.begin(),
    ):
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables for later revisions.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    if given is None:
        engine.dispose()

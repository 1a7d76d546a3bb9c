"""Files produced for a cycle (consolidated reports), recorded by path and checksum."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.ledger.events import record_event
from engine.ledger.models import ArchivedFile
from engine.ledger.transactions import aware, writing


def archive_file(
    session: Session,
    *,
    kind: str,
    file_name: str,
    sha256: str,
    path: str,
    cycle_id: int | None = None,
    now: dt.datetime | None = None,
) -> ArchivedFile:
    """Record a produced file once: the same cycle, kind and checksum return the earlier row."""
    now = aware(now)
    with writing(session):
        existing = session.scalar(
            select(ArchivedFile).where(
                ArchivedFile.cycle_id.is_(None)
                if cycle_id is None
                else ArchivedFile.cycle_id == cycle_id,
                ArchivedFile.kind == kind,
                ArchivedFile.sha256 == sha256,
            )
        )
        if existing is not None:
            return existing
        archived = ArchivedFile(
            cycle_id=cycle_id,
            kind=kind,
            file_name=file_name,
            sha256=sha256,
            path=path,
            created_at=now,
        )
        session.add(archived)
        session.flush()
        record_event(
            session,
            "file-archived",
            now,
            cycle_id=cycle_id,
            data={"kind": kind, "file_name": file_name, "sha256": sha256},
        )
        return archived

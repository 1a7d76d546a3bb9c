"""The append-only event log: what happened to which cycle, assignment and body, and when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, event, insert, select
from sqlalchemy.orm import Mapper, ORMExecuteState, Session

from engine.ledger.models import Event


class EventLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove a recorded event."""


def record_event(
    session: Session,
    kind: str,
    at: dt.datetime,
    *,
    cycle_id: int | None = None,
    assignment_id: int | None = None,
    body_id: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Event:
    """Add one event to the session's current transaction (the caller commits)."""
    entry = Event(
        at=at,
        kind=kind,
        cycle_id=cycle_id,
        assignment_id=assignment_id,
        body_id=body_id,
        data=dict(data or {}),
    )
    session.add(entry)
    return entry


def record_events(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert many events in one statement; each row has the keyword arguments of record_event."""
    values = [
        {
            "at": row["at"],
            "kind": row["kind"],
            "cycle_id": row.get("cycle_id"),
            "assignment_id": row.get("assignment_id"),
            "body_id": row.get("body_id"),
            "data": dict(row.get("data") or {}),
        }
        for row in rows
    ]
    if values:
        # A Core insert on the session's connection: the ORM's bulk-insert path cost several
        # times as much for the same rows (every answer an agency sends records one). Flushing
        # first keeps what session.execute's autoflush gave: events added before come first.
        session.flush()
        session.connection().execute(insert(Event.__table__), values)


def events_query(
    *, cycle_id: int | None = None, kind: str | None = None, body_id: str | None = None
) -> Select[tuple[Event]]:
    """Events in the order they were recorded, optionally narrowed."""
    query = select(Event).order_by(Event.id)
    if cycle_id is not None:
        query = query.where(Event.cycle_id == cycle_id)
    if kind is not None:
        query = query.where(Event.kind == kind)
    if body_id is not None:
        query = query.where(Event.body_id == body_id)
    return query


def list_events(session: Session, **filters: Any) -> list[Event]:
    """Read events (filters: cycle_id, kind, body_id)."""
    return list(session.scalars(events_query(**filters)))


# The guards below make "never updated or deleted by code" a property of the program, not a
# convention: the unit of work and ORM bulk statements both refuse to touch events.


@event.listens_for(Event, "before_update")
def _refuse_update(_mapper: Mapper[Event], _connection: Any, target: Event) -> None:
    raise EventLogIsAppendOnly(f"event {target.id} cannot be updated")


@event.listens_for(Event, "before_delete")
def _refuse_delete(_mapper: Mapper[Event], _connection: Any, target: Event) -> None:
    raise EventLogIsAppendOnly(f"event {target.id} cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is Event for mapper in state.all_mappers
    ):
        raise EventLogIsAppendOnly("events cannot be updated or deleted")

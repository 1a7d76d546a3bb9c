"""The event log is append-only: code can add events, never change or remove them."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from engine.ledger import Event, EventLogIsAppendOnly, list_events, record_event

from .conftest import NOW


def _snapshot(session):
    return [(e.id, e.kind, e.data) for e in list_events(session)]


def test_operations_append_events_in_order(session, opened):
    opened()
    record_event(session, "note", NOW, body_id="body-0001", data={"text": "Đã gọi điện nhắc."})
    session.commit()
    kinds = [e.kind for e in list_events(session)]
    assert kinds == ["cycle-opened"] + ["assignment-opened"] * 3 + ["note"]
    note = list_events(session, kind="note")[0]
    assert (note.body_id, note.data, note.at) == ("body-0001", {"text": "Đã gọi điện nhắc."}, NOW)


def test_an_event_cannot_be_changed_through_the_unit_of_work(session, opened):
    opened()
    before = _snapshot(session)
    event = session.scalars(select(Event)).first()
    event.kind = "rewritten"
    with pytest.raises(EventLogIsAppendOnly, match="cannot be updated"):
        session.commit()
    session.rollback()
    assert _snapshot(session) == before


def test_an_event_cannot_be_deleted_through_the_unit_of_work(session, opened):
    opened()
    before = _snapshot(session)
    session.delete(session.scalars(select(Event)).first())
    with pytest.raises(EventLogIsAppendOnly, match="cannot be deleted"):
        session.commit()
    session.rollback()
    assert _snapshot(session) == before


@pytest.mark.parametrize(
    "statement",
    [update(Event).values(kind="rewritten"), delete(Event).where(Event.kind == "cycle-opened")],
)
def test_bulk_statements_on_events_are_refused(session, opened, statement):
    opened()
    before = _snapshot(session)
    with pytest.raises(EventLogIsAppendOnly):
        session.execute(statement)
    session.rollback()
    assert _snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(Event)) == len(before)

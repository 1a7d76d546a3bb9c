"""Opening, closing and handing off cycles: idempotent, race-safe, history kept."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from engine.ledger import (
    Assignment,
    Cycle,
    InvalidInput,
    InvalidTransition,
    accept,
    close_cycle,
    list_events,
    mark_handed_off,
    mark_requested,
    open_cycle,
    record_submission,
    return_for_revision,
    waive,
)

from .conftest import CLOSES, DUE, NOW, QUARTER, TODAY, bodies


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_open_creates_the_cycle_its_assignments_and_events(session, opened):
    members = [
        ("so-tu-phap", "Sở Tư pháp", DUE),
        ("so-noi-vu", "Sở Nội vụ", DUE + dt.timedelta(days=3)),
    ]
    result = opened(members)
    assert result.created and result.added_bodies == ("so-tu-phap", "so-noi-vu")
    cycle = result.cycle
    assert (cycle.obligation_id, cycle.period_key, cycle.state) == (
        "quarterly-report",
        "2026-q1",
        "open",
    )
    assert (cycle.period_start, cycle.period_end) == (QUARTER.start, QUARTER.end)
    assert (cycle.due_on, cycle.closes_on, cycle.opened_on) == (DUE, CLOSES, TODAY)
    assert (cycle.handoff_version, cycle.handed_off_version) == (0, None)
    rows = session.scalars(select(Assignment).order_by(Assignment.body_id)).all()
    assert [(a.body_id, a.body_name, a.state, a.due_on) for a in rows] == [
        ("so-noi-vu", "Sở Nội vụ", "open", DUE + dt.timedelta(days=3)),
        ("so-tu-phap", "Sở Tư pháp", "open", DUE),
    ]
    kinds = [e.kind for e in list_events(session, cycle_id=cycle.id)]
    assert kinds == ["cycle-opened", "assignment-opened", "assignment-opened"]


def test_opening_again_changes_nothing(session, opened):
    first = opened()
    events_before = len(list_events(session))
    again = opened()
    assert not again.created and again.added_bodies == () and again.missing_bodies == ()
    assert again.cycle.id == first.cycle.id
    assert _count(session, Cycle) == 1 and _count(session, Assignment) == 3
    assert len(list_events(session)) == events_before


def test_sync_adds_new_bodies_and_keeps_removed_ones(session, opened):
    opened(bodies(3))
    changed = opened(bodies(2) + [("so-moi", "Sở mới thành lập", DUE)])
    assert changed.added_bodies == ("so-moi",)
    assert changed.missing_bodies == ("body-0002",)
    kept = session.scalar(select(Assignment).where(Assignment.body_id == "body-0002"))
    assert kept is not None and kept.body_name == "Sở số 2"
    assert _count(session, Assignment) == 4
    added = list_events(session, kind="assignment-opened", body_id="so-moi")
    assert len(added) == 1 and added[0].data["body_name"] == "Sở mới thành lập"


def test_a_definitions_edit_never_rewrites_an_open_cycle(session, opened):
    first = opened(digest="a" * 64)
    reopened = opened([("body-0000", "Tên sau sáp nhập", DUE)], digest="b" * 64)
    assert reopened.digest_changed
    assert reopened.cycle.definitions_digest == "a" * 64
    name = session.scalar(select(Assignment.body_name).where(Assignment.body_id == "body-0000"))
    assert name == "Sở số 0"  # the name the cycle was opened with, for audit
    assert reopened.cycle.id == first.cycle.id


def test_a_closed_cycle_takes_no_new_bodies(session, opened):
    result = opened(bodies(2))
    close_cycle(session, result.cycle, CLOSES, now=NOW)
    again = opened(bodies(3))
    assert again.added_bodies == () and _count(session, Assignment) == 2


def test_bad_body_lists_and_dates_are_refused(session, opened):
    with pytest.raises(InvalidInput, match="xuất hiện hai lần"):
        opened([("a", "A", DUE), ("a", "A", DUE)])
    with pytest.raises(InvalidInput, match="sớm hơn hạn nộp"):
        open_cycle(session, "o", QUARTER, DUE, DUE - dt.timedelta(days=1), "d", [], TODAY)
    assert _count(session, Cycle) == 0


def test_a_racing_opener_rereads_instead_of_failing(engine, sessions):
    """Another process inserts the cycle between our read and our insert: we adopt its row."""
    other = engine.connect()
    other.begin()
    other.execute(
        Cycle.__table__.insert().values(
            obligation_id="quarterly-report",
            period_key=QUARTER.key,
            period_start=QUARTER.start,
            period_end=QUARTER.end,
            due_on=DUE,
            opened_on=TODAY,
            closes_on=CLOSES,
            definitions_digest="x" * 64,
            handoff_version=0,
            state="open",
        )
    )
    other_id = other.execute(text("SELECT id FROM cycles")).scalar()

    def _open():
        with sessions() as session:
            result = open_cycle(
                session,
                "quarterly-report",
                QUARTER,
                DUE,
                CLOSES,
                "a" * 64,
                bodies(2),
                TODAY,
                now=NOW,
            )
            return result.created, result.cycle.id, result.added_bodies

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(_open)
        time.sleep(0.4)  # the opener is now blocked on the uncommitted row (or the lock)
        assert not future.done()
        other.commit()
        created, cycle_id, added = future.result(timeout=30)
    other.close()
    assert (created, cycle_id, added) == (False, other_id, ("body-0000", "body-0001"))


def test_concurrent_openers_make_one_cycle(sessions):
    start = threading.Barrier(6)

    def _open(_):
        with sessions() as session:
            start.wait()
            result = open_cycle(
                session,
                "quarterly-report",
                QUARTER,
                DUE,
                CLOSES,
                "a" * 64,
                bodies(20),
                TODAY,
                now=NOW,
            )
            return result.cycle.id, result.created

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(_open, range(6)))
    assert len({cycle_id for cycle_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with sessions() as session:
        assert _count(session, Assignment) == 20
        assert len(list_events(session, kind="cycle-opened")) == 1
        assert len(list_events(session, kind="assignment-opened")) == 20


def test_close_marks_whoever_still_owes_as_closed_missing(session, opened):
    result = opened(bodies(5))
    ids = {a.body_id: a.id for a in session.scalars(select(Assignment))}
    record_submission(session, ids["body-0001"], {"n": 1}, [], "portal", "a", NOW, TODAY)
    record_submission(session, ids["body-0002"], {"n": 2}, [], "portal", "b", NOW, TODAY)
    return_for_revision(session, ids["body-0002"], "Thiếu số liệu quý.", now=NOW)
    record_submission(session, ids["body-0003"], {"n": 3}, [], "email", "c", NOW, TODAY)
    accept(session, ids["body-0003"], now=NOW)
    waive(session, ids["body-0004"], "Đơn vị mới thành lập.", now=NOW)

    closing = close_cycle(session, result.cycle, CLOSES, now=NOW)
    assert closing.closed_now and closing.missing_bodies == ("body-0000", "body-0002")
    assert closing.cycle.state == "closed" and closing.cycle.closed_on == CLOSES
    states = {a.body_id: a.state for a in session.scalars(select(Assignment))}
    assert states == {
        "body-0000": "closed-missing",
        "body-0001": "submitted",
        "body-0002": "closed-missing",
        "body-0003": "accepted",
        "body-0004": "waived",
    }
    closed_event = list_events(session, kind="cycle-closed")
    assert closed_event[0].data["missing"] == ["body-0000", "body-0002"]
    assert len(list_events(session, kind="assignment-closed-missing")) == 2

    again = close_cycle(session, result.cycle.id, CLOSES + dt.timedelta(days=1), now=NOW)
    assert not again.closed_now and again.cycle.closed_on == CLOSES
    assert len(list_events(session, kind="cycle-closed")) == 1


def test_hand_off_is_compare_and_set(session, opened):
    cycle = opened().cycle
    with pytest.raises(InvalidTransition, match="chưa đóng"):
        mark_handed_off(session, cycle, 0, now=NOW)
    close_cycle(session, cycle, CLOSES, now=NOW)
    with pytest.raises(InvalidInput, match="chưa tồn tại"):
        mark_handed_off(session, cycle, 1, now=NOW)
    assert mark_handed_off(session, cycle, 0, now=NOW) is True
    assert mark_handed_off(session, cycle, 0, now=NOW) is False
    assert session.get(Cycle, cycle.id).handed_off_version == 0


def test_two_processes_cannot_both_hand_off(sessions, opened, session):
    cycle = opened().cycle
    close_cycle(session, cycle, CLOSES, now=NOW)
    start = threading.Barrier(8)

    def _hand_off(_):
        with sessions() as own:
            start.wait()
            return mark_handed_off(own, cycle.id, 0, now=NOW)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(_hand_off, range(8)))
    assert outcomes.count(True) == 1
    assert len(list_events(session, kind="cycle-handed-off")) == 1


def test_requests_are_marked_once(session, opened):
    opened(bodies(3))
    ids = list(session.scalars(select(Assignment.id).order_by(Assignment.id)))
    assert mark_requested(session, ids[:2], TODAY, now=NOW) == 2
    assert mark_requested(session, ids, TODAY + dt.timedelta(days=1), now=NOW) == 1
    requested = dict(session.execute(select(Assignment.id, Assignment.requested_on)).all())
    assert requested == {ids[0]: TODAY, ids[1]: TODAY, ids[2]: TODAY + dt.timedelta(days=1)}

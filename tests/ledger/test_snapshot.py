"""Read models: the daily tick's snapshot (constant query count), status rows, cycle results."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import insert, select

from engine.ledger import (
    Assignment,
    AttachmentInfo,
    Submission,
    close_cycle,
    cycle_results,
    enqueue,
    load_open_state,
    mark_handed_off,
    open_cycle,
    record_submission,
    return_for_revision,
    status_rows,
)

from .conftest import CLOSES, DUE, NOW, QUARTER, TODAY, Period, bodies, count_statements

DOMAIN = "tuyenquang.example"
Q4 = Period("2025-q4", dt.date(2025, 9, 15), dt.date(2025, 12, 14))
Q3 = Period("2025-q3", dt.date(2025, 6, 15), dt.date(2025, 9, 14))


def _populate(session, obligation_id: str, count: int) -> int:
    """A cycle with `count` open assignments, half of them answered, each with a reminder."""
    cycle = open_cycle(
        session, obligation_id, QUARTER, DUE, CLOSES, "a" * 64, bodies(count), TODAY, now=NOW
    ).cycle
    rows = session.execute(
        select(Assignment.id, Assignment.body_id).where(Assignment.cycle_id == cycle.id)
    ).all()
    session.execute(
        insert(Submission),
        [
            {
                "assignment_id": a_id,
                "version": 1,
                "fields": {"n": 1},
                "channel": "portal",
                "submitted_by": "x",
                "submitted_at": NOW,
                "late": False,
            }
            for a_id, _body in rows[::2]
        ],
    )
    session.commit()
    enqueue(
        session,
        [
            {
                "cycle_id": cycle.id,
                "body_id": body,
                "kind": "reminder",
                "rung": "r1",
                "to_addrs": [f"{body}@tuyenquang.example"],
                "subject": "Nhắc",
                "text_body": "…",
            }
            for _a_id, body in rows
        ],
        domain=DOMAIN,
        now=NOW,
    )
    return cycle.id


def test_the_snapshot_costs_the_same_queries_for_10_and_1000_assignments(engine, session):
    _populate(session, "small", 10)
    _populate(session, "large", 1000)
    with count_statements(engine) as small_statements:
        small = load_open_state(session, "small")
    with count_statements(engine) as large_statements:
        large = load_open_state(session, "large")
    assert len(small.cycles[0].assignments) == 10
    assert len(large.cycles[0].assignments) == 1000
    assert len(large.outbox_keys) == 1000
    assert len(small_statements) == len(large_statements) <= 4


def test_the_snapshot_holds_what_the_decision_code_needs(session):
    done = open_cycle(
        session,
        "quarterly-report",
        Q3,
        dt.date(2025, 9, 20),
        dt.date(2025, 9, 27),
        "d" * 64,
        bodies(2),
        dt.date(2025, 9, 1),
        now=NOW,
    )
    close_cycle(session, done.cycle, dt.date(2025, 9, 27), now=NOW)
    assert mark_handed_off(session, done.cycle, 0, now=NOW)
    pending = open_cycle(
        session,
        "quarterly-report",
        Q4,
        dt.date(2025, 12, 20),
        dt.date(2025, 12, 27),
        "d" * 64,
        bodies(2),
        dt.date(2025, 12, 1),
        now=NOW,
    )
    close_cycle(session, pending.cycle, dt.date(2025, 12, 27), now=NOW)
    current = open_cycle(
        session, "quarterly-report", QUARTER, DUE, CLOSES, "a" * 64, bodies(3), TODAY, now=NOW
    ).cycle
    open_cycle(session, "other-obligation", QUARTER, DUE, CLOSES, "a" * 64, bodies(1), TODAY)
    ids = dict(
        session.execute(
            select(Assignment.body_id, Assignment.id).where(Assignment.cycle_id == current.id)
        ).all()
    )
    record_submission(session, ids["body-0001"], {"n": 1}, [], "portal", "a", NOW, TODAY)
    record_submission(session, ids["body-0001"], {"n": 2}, [], "portal", "a", NOW, TODAY)
    key = f"{current.id}:body-0000:-:request"
    enqueue(
        session,
        [
            {
                "cycle_id": current.id,
                "body_id": "body-0000",
                "kind": "request",
                "to_addrs": ["a@tuyenquang.example"],
                "subject": "Đề nghị",
                "text_body": "…",
            }
        ],
        domain=DOMAIN,
        now=NOW,
    )

    snapshot = load_open_state(session, "quarterly-report")
    assert [c.period_key for c in snapshot.cycles] == ["2025-q3", "2025-q4", "2026-q1"]
    q3, q4, q1 = snapshot.cycles
    assert (q3.handoff_pending, q3.assignments) == (False, ())
    assert q4.handoff_pending and [a.state for a in q4.assignments] == ["closed-missing"] * 2
    assert q1.is_open and not q1.handoff_pending
    assert [c.period_key for c in snapshot.open_cycles] == ["2026-q1"]
    assert snapshot.cycle("2026-q1") == q1 and snapshot.cycle("2024-q1") is None
    answered = q1.assignment("body-0001")
    assert (answered.state, answered.latest_version, answered.last_submitted_at) == (
        "submitted",
        2,
        NOW,
    )
    waiting = q1.assignment("body-0000")
    assert (waiting.latest_version, waiting.last_submitted_at) == (0, None)
    assert waiting.is_overdue(DUE + dt.timedelta(days=1)) and not waiting.is_overdue(DUE)
    assert not answered.is_overdue(DUE + dt.timedelta(days=1))
    assert snapshot.has_message(key) and snapshot.outbox_keys == {key}
    with pytest.raises(dataclasses.FrozenInstanceError):
        q1.state = "closed"  # type: ignore[misc]
    # Without a downstream nothing is ever handed off: the closed cycle keeps its place in the
    # list (its period was opened) but no longer brings its assignments to every day's read.
    alone = load_open_state(session, "quarterly-report", hands_off=False)
    assert [c.period_key for c in alone.cycles] == ["2025-q3", "2025-q4", "2026-q1"]
    assert [len(c.assignments) for c in alone.cycles] == [0, 0, 3]
    assert alone.outbox_keys == {key}


def test_status_rows_filter_and_derive_overdue(session, opened):
    cycle = opened(bodies(3)).cycle
    open_cycle(
        session,
        "quarterly-report",
        Q4,
        dt.date(2025, 12, 20),
        dt.date(2025, 12, 27),
        "d" * 64,
        bodies(1),
        dt.date(2025, 12, 1),
        now=NOW,
    )
    ids = {
        a.body_id: a.id
        for a in session.scalars(select(Assignment).where(Assignment.cycle_id == cycle.id))
    }
    record_submission(session, ids["body-0001"], {"n": 1}, [], "portal", "a", NOW, TODAY)
    record_submission(session, ids["body-0002"], {"n": 1}, [], "portal", "a", NOW, TODAY)
    return_for_revision(session, ids["body-0002"], "Thiếu phụ lục.", now=NOW)

    rows = status_rows(session, "quarterly-report", "2026-q1", today=DUE + dt.timedelta(days=1))
    assert [(r.body_id, r.state, r.overdue, r.latest_version) for r in rows] == [
        ("body-0000", "open", True, 0),
        ("body-0001", "submitted", False, 1),
        ("body-0002", "returned", True, 1),
    ]
    assert rows[2].state_label == "bị trả lại để chỉnh sửa"
    assert rows[0].body_name == "Sở số 0" and rows[0].cycle_state == "open"
    everything = status_rows(session)
    assert [r.period_key for r in everything] == ["2025-q4", "2026-q1", "2026-q1", "2026-q1"]
    assert {r.overdue for r in everything} == {None}
    assert status_rows(session, "no-such-obligation") == []


def test_cycle_results_give_each_latest_submission(engine, session, opened):
    cycle = opened(bodies(3)).cycle
    ids = {a.body_id: a.id for a in session.scalars(select(Assignment))}
    report = AttachmentInfo("bao-cao.pdf", "application/pdf", 1000, "e" * 64)
    record_submission(session, ids["body-0000"], {"n": 1}, [], "portal", "a", NOW, TODAY)
    record_submission(
        session,
        ids["body-0000"],
        {"n": 2},
        [report],
        "portal",
        "a",
        NOW + dt.timedelta(hours=1),
        TODAY,
    )
    record_submission(session, ids["body-0001"], {"n": 7}, [], "email", "b", NOW, TODAY)
    close_cycle(session, cycle, CLOSES, now=NOW)

    with count_statements(engine) as statements:
        results = cycle_results(session, cycle.id)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 4
    latest = {e.assignment.body_id: e.latest for e in results.entries}
    assert (latest["body-0000"].version, latest["body-0000"].fields) == (2, {"n": 2})
    assert latest["body-0000"].attachments == (report,)
    assert (latest["body-0001"].channel, latest["body-0002"]) == ("email", None)
    missing = results.by_state("closed-missing")
    assert [e.assignment.body_id for e in missing] == ["body-0002"]
    assert results.cycle.state == "closed" and results.cycle.handoff_pending

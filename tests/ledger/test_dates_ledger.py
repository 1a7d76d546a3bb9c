"""The ledger's part in the dates (SQLite and PostgreSQL): a late start recorded on the cycle,
an early hand-off (at the due date) that late reports amend, ticks that never go back."""

from __future__ import annotations

import datetime as dt

from engine.ledger import Cycle, list_events, mark_handed_off, open_cycle, record_submission
from engine.ledger.ticks import advance_tick, latest_tick

from .conftest import CLOSES, DUE, NOW, QUARTER, TODAY, bodies


def test_a_late_start_is_recorded_on_the_cycle(session):
    rule_due = TODAY - dt.timedelta(days=2)
    note = "Kỳ được mở muộn: hạn theo quy tắc đã qua."
    opening = open_cycle(
        session, "bao-cao", QUARTER, DUE, CLOSES, "d" * 64, bodies(2), TODAY,
        now=NOW, rule_due_on=rule_due, due_note=note,
    )  # fmt: skip
    cycle = session.get(Cycle, opening.cycle.id)
    assert (cycle.due_on, cycle.rule_due_on, cycle.due_note) == (DUE, rule_due, note)
    [event] = list_events(session, kind="cycle-opened")
    assert event.data["rule_due_on"] == rule_due.isoformat() and event.data["due_note"] == note


def test_an_open_cycle_hands_off_at_its_due_date_and_a_late_report_amends_it(session, opened):
    opening = opened()
    cycle_id = opening.cycle.id
    # An ordinary (at-close) hand-off still needs the close; an early one does not.
    assert mark_handed_off(session, cycle_id, 0, now=NOW, before_close=True) is True
    assert mark_handed_off(session, cycle_id, 0, now=NOW, before_close=True) is False
    assignment_id = next(a.id for a in session.get(Cycle, cycle_id).assignments)
    late = record_submission(
        session, assignment_id, {"x": 1}, [], "portal", "A", NOW, DUE + dt.timedelta(days=1)
    )
    assert late.handoff_reopened
    cycle = session.get(Cycle, cycle_id, populate_existing=True)
    assert (cycle.state, cycle.handoff_version, cycle.handed_off_version) == ("open", 1, 0)
    assert mark_handed_off(session, cycle_id, 1, now=NOW, before_close=True) is True


def test_ticks_never_go_back_unless_forced(session):
    assert latest_tick(session, "bao-cao") is None
    assert advance_tick(session, "bao-cao", dt.date(2026, 12, 18), now=NOW) is None
    assert advance_tick(session, "bao-cao", dt.date(2026, 12, 18), now=NOW) is None  # same day
    assert advance_tick(session, "bao-cao", dt.date(2026, 12, 11), now=NOW) == dt.date(2026, 12, 18)
    # Forced: allowed, and the mark stays at the latest date.
    assert advance_tick(session, "bao-cao", dt.date(2026, 12, 11), force=True, now=NOW) is None
    assert latest_tick(session, "bao-cao") == dt.date(2026, 12, 18)
    assert advance_tick(session, "bao-cao", dt.date(2026, 12, 21), now=NOW) is None
    assert latest_tick(session, "bao-cao") == dt.date(2026, 12, 21)
    # Each obligation has its own mark.
    assert advance_tick(session, "khac", dt.date(2026, 1, 5), now=NOW) is None

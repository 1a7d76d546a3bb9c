"""The shipped plan simulated for 2026: the numbers add up, checked from the ledger itself."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.calendar import LegalCalendar
from engine.definitions.models import RungKind
from engine.ledger.models import Assignment, Cycle, OutboxMessage, Submission
from engine.plan import obligation_active, planned_actions
from engine.schedule import rung_date

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
START, END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)


def ledger_assignments(run) -> list[dict]:
    """Every assignment with its first answer's day, straight from the ledger."""
    first = (
        select(Submission.assignment_id, Submission.submitted_at)
        .where(Submission.version == 1)
        .subquery()
    )
    query = (
        select(
            Cycle.obligation_id,
            Cycle.period_key,
            Cycle.closes_on,
            Cycle.state.label("cycle_state"),
            Assignment.body_id,
            Assignment.state,
            Assignment.due_on,
            Assignment.requested_on,
            first.c.submitted_at,
        )
        .join(Cycle, Cycle.id == Assignment.cycle_id)
        .outerjoin(first, first.c.assignment_id == Assignment.id)
    )
    with run.sessions() as session:
        rows = session.execute(query).all()
    return [
        {
            **row._asdict(),
            "answered": row.submitted_at.astimezone(VIETNAM).date() if row.submitted_at else None,
        }
        for row in rows
    ]


def sent_mail(run) -> list[dict]:
    """Every delivered message with the simulated day it went out and its outbox row."""
    days = {c.message.message_id: c.day for c in run.mail}
    query = select(OutboxMessage, Cycle.obligation_id, Cycle.period_key).outerjoin(
        Cycle, Cycle.id == OutboxMessage.cycle_id
    )
    with run.sessions() as session:
        rows = session.execute(query).all()
    return [
        {
            "day": days[m.message_id],
            "kind": m.kind,
            "rung": m.rung,
            "body_id": m.body_id,
            "obligation_id": obligation_id,
            "period_key": period_key,
            "state": m.state,
        }
        for m, obligation_id, period_key in rows
    ]


def test_the_simulation_reports_no_inconsistency(year_2026) -> None:
    figures = year_2026.figures
    assert figures.problems == []
    assert figures.cycles_still_open == 0
    assert figures.emails_total == len(year_2026.run.mail) > 500
    assert figures.outcomes["pending"] == 0


def test_every_request_is_answered_on_time_late_or_missing(year_2026) -> None:
    run = year_2026.run
    assignments = ledger_assignments(run)
    assert all(a["cycle_state"] == "closed" for a in assignments)
    requested = [a for a in assignments if a["requested_on"] is not None]
    assert len(requested) == len(assignments) > 200  # every body of the plan has an address
    verdicts = Counter()
    for a in requested:
        if a["answered"] is None:
            assert a["state"] == "closed-missing", a
            verdicts["missing"] += 1
        else:
            assert a["state"] in ("submitted", "resubmitted"), a
            verdicts["late" if a["answered"] > a["due_on"] else "on_time"] += 1
    assert sum(verdicts.values()) == len(requested)
    assert verdicts["on_time"] and verdicts["late"] and verdicts["missing"]
    assert {k: year_2026.figures.outcomes[k] for k in verdicts} == dict(verdicts)
    # One request per assignment, one receipt per recorded version.
    mail = sent_mail(run)
    assert all(m["state"] == "sent" for m in mail)
    requests = Counter(
        (m["obligation_id"], m["period_key"], m["body_id"]) for m in mail if m["kind"] == "request"
    )
    assert set(requests.values()) == {1} and len(requests) == len(requested)
    receipts = [m for m in mail if m["kind"] == "receipt"]
    assert len(receipts) == sum(1 for a in run.answers if a.refused is None)


def _ticks(start: dt.date, cal: LegalCalendar) -> dt.date:
    """The first run day on or after `start`: runs fire daily and act on working days only."""
    while not cal.is_working_day(start):
        start += dt.timedelta(days=1)
    return start


def test_escalations_go_exactly_where_the_ladder_reached_its_escalation(year_2026) -> None:
    run = year_2026.run
    cal = LegalCalendar(run.defs.calendars)
    escalated = {
        (m["obligation_id"], m["period_key"], m["body_id"]): m["day"]
        for m in sent_mail(run)
        if m["kind"] == RungKind.escalation.value
    }
    expected = {}
    for a in ledger_assignments(run):
        obligation = run.defs.obligations[a["obligation_id"]]
        rungs = [r for r in obligation.ladder if r.kind == RungKind.escalation]
        if not rungs or a["requested_on"] is None:
            continue
        # The ladder starts the run after the request; the escalation goes out on the first
        # run on or after its date, if the cycle is still open and nothing came before it.
        reached = _ticks(
            max(rung_date(rungs[0], a["due_on"], cal), a["requested_on"] + dt.timedelta(days=1)),
            cal,
        )
        answered_before = a["answered"] is not None and a["answered"] < reached
        if reached <= a["closes_on"] and not answered_before:
            expected[(a["obligation_id"], a["period_key"], a["body_id"])] = reached
    assert escalated == expected
    assert len(escalated) == len(year_2026.figures.escalations) > 5


def test_cycles_opened_and_closed_match_the_plan(year_2026) -> None:
    run = year_2026.run
    actions = planned_actions(run.defs, dt.date(2025, 1, 1), dt.date(2027, 12, 31))
    opens = {(a.obligation, a.period): a.date for a in actions if a.action == "open-cycle"}
    closes = {(a.obligation, a.period): a.date for a in actions if a.action == "close"}
    expected = {
        key
        for key, opens_on in opens.items()
        if max(opens_on, START) <= END
        and closes.get(key, dt.date.max) >= START
        and obligation_active(run.defs.obligations[key[0]], max(opens_on, START))
    }
    expected.add(("difficulties-report", "event-ra-soat"))  # the one simulated event
    opened = {(o, p) for _d, o, p in run.opened}
    closed = {(o, p) for _d, o, p in run.closed}
    assert opened == expected
    assert closed == expected
    assert year_2026.figures.cycles_closed == len(expected)
    # A cycle closes on the first run after its close date, never before.
    for day, obligation_id, period in run.closed:
        if (obligation_id, period) in closes:
            assert day > closes[(obligation_id, period)]


def test_the_pinned_agencies_behave_as_their_personas(year_2026) -> None:
    run = year_2026.run
    assignments = defaultdict(list)
    for a in ledger_assignments(run):
        assignments[a["body_id"]].append(a)
    chases = defaultdict(list)
    for m in sent_mail(run):
        if m["kind"] in ("reminder", "due-today", "overdue", "escalation"):
            chases[(m["obligation_id"], m["period_key"], m["body_id"])].append(m["day"])

    assert assignments["so-tu-phap"] and all(
        a["answered"] is None for a in assignments["so-tu-phap"]
    )
    assert all(a["answered"] and a["answered"] <= a["due_on"] for a in assignments["so-y-te"])
    punctual_chases = [
        m
        for m in sent_mail(run)
        if m["body_id"] == "so-y-te" and m["kind"] in ("overdue", "escalation")
    ]
    assert punctual_chases == []
    assert all(a["answered"] and a["answered"] > a["due_on"] for a in assignments["so-xay-dung"])
    for a in assignments["thanh-tra-tinh"]:
        received = sorted(chases[(a["obligation_id"], a["period_key"], "thanh-tra-tinh")])
        if len(received) >= 2:
            assert a["answered"] == received[1]  # the day its second reminder arrived
        else:
            assert a["answered"] is None


def test_the_consolidation_documents_are_made_at_each_hand_off(year_2026) -> None:
    figures = year_2026.figures
    annual = [h for h in figures.handoffs if h.downstream == "annual-consolidation"]
    assert annual, figures.handoffs
    assert annual[0].period_key == "2026" and annual[0].version == 0
    if not figures.annual_available:
        assert all(not h.documents and "reports.annual" in h.note for h in annual)
        return
    # Four annual sources feed the consolidation; all hand off the day after their common due
    # date (hand_off: at-due), so one document is made that day and the others say so.
    sources = {h.obligation_id for h in annual if h.period_key == "2026"}
    assert len(sources) == 4, sources
    made = [h for h in annual if h.documents]
    assert made and made[0].period_key == "2026"
    for handoff in made:
        suffixes = sorted(Path(d).suffix for d in handoff.documents)
        assert suffixes == [".docx", ".png", ".xlsx"]
        assert all(Path(d).stat().st_size > 1000 for d in handoff.documents)
        assert "cơ quan đã báo cáo" in handoff.note
    for handoff in annual:
        if not handoff.documents:
            assert "chờ kỳ" in handoff.note or "cùng đợt" in handoff.note, handoff.note
    assert (year_2026.out / "documents").is_dir()

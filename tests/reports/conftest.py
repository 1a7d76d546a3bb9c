"""A ledger holding one year of the shipped plan's annual results report, built through the
ledger's own operations: cycle opened for every responsible body, some submissions (one late,
one after the close), the cycle closed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OBLIGATION = "annual-results-report"


@dataclass
class AnnualLedger:
    defs: object
    sessions: object
    submitted: dict[str, dict]  # body id → fields
    bodies: list[str]  # every body of the cycle
    late_body: str  # submitted after the close


def _fields(index: int) -> dict:
    return {
        "so_tin_bai": 10 + index,
        "so_cuoc_hop_bao": index % 4,
        "so_can_bo_truyen_thong": 2,
        "kinh_phi": str(Decimal("1500000.5") * index),
        "danh_gia": "Hoàn thành tốt" if index % 2 else "Hoàn thành",
        "ket_qua_dat_duoc": f"Đăng {10 + index} tin, bài về chính sách mới.\nMở chuyên mục.",
        "ton_tai_han_che": "Cán bộ làm truyền thông còn kiêm nhiệm.",
        "nhiem_vu_de_xuat": "Đề nghị UBND tỉnh bố trí kinh phí năm 2027.",
    }


def single_source(defs):
    """The shipped definitions with annual-results-report as the consolidation's only source
    (the other annual sources' own sections are tested in test_consolidation_sources.py)."""
    changed = {
        o.id: o.model_copy(update={"downstream": None})
        for o in defs.obligations.values()
        if o.downstream is not None and o.id != OBLIGATION
    }
    return defs.model_copy(update={"obligations": {**defs.obligations, **changed}})


def build_annual_ledger(url: str, *, submit: int = 6) -> AnnualLedger:
    from engine.bodies import resolve_responsible
    from engine.calendar import LegalCalendar
    from engine.definitions.loader import load_definitions
    from engine.ledger import close_cycle, make_engine, open_cycle, record_submission
    from engine.ledger import session_factory as factory
    from engine.periods import period_for_key
    from engine.schedule import cycle_dates

    defs = single_source(load_definitions(REPO / "definitions").definitions)
    sessions = factory(make_engine(url))
    obligation = defs.obligations[OBLIGATION]
    period = period_for_key(obligation.schedule, obligation.window, "2026")
    dates = cycle_dates(obligation, period, LegalCalendar(defs.calendars))
    bodies = resolve_responsible(defs, obligation, dates.request_on)
    opened_at = dt.datetime.combine(dates.request_on, dt.time(1), tzinfo=dt.UTC)
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
            now=opened_at,
        ).cycle
        assignments = {a.body_id: a.id for a in cycle.assignments}
    submitted = {}
    for index, body in enumerate(bodies[:submit]):
        # The last one is a day late (after the due date, before the close).
        day = dates.due_on + dt.timedelta(days=1 if index == submit - 1 else -3)
        fields = _fields(index)
        with sessions() as session:
            record_submission(
                session,
                assignments[body.id],
                fields,
                [],
                "portal",
                body.id,
                dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC),
                day,
            )
        submitted[body.id] = fields
    closed_on = dates.closes_on + dt.timedelta(days=1)
    with sessions() as session:
        close_cycle(
            session,
            cycle.id,
            closed_on,
            now=dt.datetime.combine(closed_on, dt.time(1), tzinfo=dt.UTC),
        )
    late = bodies[submit]
    late_day = closed_on + dt.timedelta(days=1)
    fields = _fields(submit)
    with sessions() as session:
        record_submission(
            session,
            assignments[late.id],
            fields,
            [],
            "portal",
            late.id,
            dt.datetime.combine(late_day, dt.time(2), tzinfo=dt.UTC),
            late_day,
            allow_late=True,
        )
    submitted[late.id] = fields
    return AnnualLedger(defs, sessions, submitted, [b.id for b in bodies], late.id)


@pytest.fixture
def annual_ledger(ledger_url: str) -> AnnualLedger:
    return build_annual_ledger(ledger_url)

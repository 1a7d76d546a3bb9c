"""What a consolidation says: who reported, the summed figures, each body's own words.

Read from the ledger and the definitions only, no rendering: the DOCX, the XLSX, the flow's
artifact and the simulator all start from a `Consolidation`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from engine.definitions.declarations import sources_of
from engine.definitions.models import Completeness, Definitions, FieldType, FormField, Obligation
from engine.ledger.cycles import get_cycle
from engine.ledger.events import list_events
from engine.ledger.results import SubmissionView, cycle_results, submission_history
from engine.ledger.snapshot import CycleView
from engine.ledger.states import AssignmentState
from engine.periods import Period, period_containing, period_for_key, periods_between

REPORTED = frozenset(
    {AssignmentState.submitted, AssignmentState.resubmitted, AssignmentState.accepted}
)
NUMERIC = (FieldType.integer, FieldType.decimal)
# The usual outline of a report (Decree 09/2019 practice); long-text fields are filed under the
# heading whose stems their id starts with, the rest under the first heading.
OUTLINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Kết quả đạt được", ("ket_qua",)),
    ("Tồn tại, hạn chế và nguyên nhân", ("ton_tai", "han_che", "kho_khan", "vuong_mac")),
    ("Nhiệm vụ và đề xuất", ("nhiem_vu", "de_xuat", "kien_nghi", "phuong_huong")),
)


SECTIONS = ("results", "shortcomings", "proposals")  # FormField.section, in OUTLINE order


class ReportError(Exception):
    """A report cannot be made from what the definitions and the ledger hold (Vietnamese)."""


@dataclass(frozen=True)
class BodyResult:
    body_id: str
    body_name: str
    state: str
    version: int
    submitted_at: dt.datetime
    late: bool  # recorded after the body's due date
    after_close: bool  # recorded after the cycle closed (an amendment's reason)
    values: dict[str, Any]
    attachments: tuple[str, ...]


@dataclass(frozen=True)
class Consolidation:
    upstream: Obligation
    cycle: CycleView
    reported: tuple[BodyResult, ...]
    missing: tuple[tuple[str, str], ...]  # (body id, name) of bodies that owe a report
    waived: tuple[tuple[str, str], ...]
    totals: dict[str, Decimal]
    rule: Completeness
    complete: bool

    @property
    def expected(self) -> int:
        return len(self.reported) + len(self.missing)

    @property
    def numeric_fields(self) -> list[FormField]:
        return [f for f in self.upstream.form.fields if f.type in NUMERIC]

    @property
    def summed_fields(self) -> list[FormField]:
        return [f for f in self.numeric_fields if f.sum_in_report]

    @property
    def detail_fields(self) -> list[FormField]:
        """Fields shown in each body's table: figures, choices, dates, one-line texts."""
        shown = (*NUMERIC, FieldType.choice, FieldType.date, FieldType.text)
        return [f for f in self.upstream.form.fields if f.type in shown]

    def outline(self) -> list[tuple[str, list[FormField]]]:
        """(heading, long-text fields) in outline order; headings without fields are kept."""
        sections: list[tuple[str, list[FormField]]] = [(h, []) for h, _ in OUTLINE]
        for field in self.upstream.form.fields:
            if field.type != FieldType.long_text:
                continue
            index = SECTIONS.index(field.section) if field.section else None
            if index is None:
                # Undeclared: the usual stems of field ids (documented in the key reference).
                index = next(
                    (i for i, (_, stems) in enumerate(OUTLINE) if field.id.startswith(stems)), 0
                )
            sections[index][1].append(field)
        return sections


def as_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def upstreams(defs: Definitions, obligation_id: str) -> list[Obligation]:
    """The obligations whose closed cycles hand off to this one (declared by `downstream`)."""
    return sources_of(defs, obligation_id)


def consolidation_obligation(defs: Definitions, obligation_id: str | None = None) -> Obligation:
    """The consolidation (flow: consolidation) named, or the first one with a source."""
    if obligation_id is not None:
        obligation = defs.obligations.get(obligation_id)
        if obligation is None or obligation.flow != "consolidation":
            message = f"'{obligation_id}' không phải nghĩa vụ tổng hợp (flow: consolidation)."
            raise ReportError(message)
        return obligation
    for obligation in sorted(defs.obligations.values(), key=lambda o: o.id):
        if obligation.flow == "consolidation" and upstreams(defs, obligation.id):
            return obligation
    raise ReportError(
        "Định nghĩa không có nghĩa vụ tổng hợp (flow: consolidation) nhận kết quả từ báo cáo "
        "nguồn nào (downstream)."
    )


def annual_pair(defs: Definitions) -> tuple[Obligation, Obligation]:
    """(the first consolidation, its first source), for callers that show one source."""
    obligation = consolidation_obligation(defs)
    return obligation, upstreams(defs, obligation.id)[0]


def consolidation_period(obligation: Obligation, period_key: str) -> Period:
    """The consolidation's period for a key; ReportError (Vietnamese) for a wrong key."""
    try:
        return period_for_key(obligation.schedule, obligation.window, period_key)
    except ValueError as error:
        raise ReportError(f"Kỳ tổng hợp không hợp lệ: {error}.") from None


def consolidation_key(defs: Definitions, obligation: Obligation, key: str) -> str:
    """The consolidation's own period key for a key of its own or of a source's period (a
    hand-off passes the source's: "2026" from an annual source of a half-yearly consolidation
    is "2026-H2")."""
    try:
        return period_for_key(obligation.schedule, obligation.window, key).key
    except ValueError:
        pass
    for source in upstreams(defs, obligation.id):
        try:
            end = period_for_key(source.schedule, source.window, key).end
        except ValueError:
            continue
        period = period_containing(obligation.schedule, obligation.window, end)
        if period is not None:
            return period.key
    return consolidation_period(obligation, key).key


def source_periods(
    defs: Definitions, obligation: Obligation, period_key: str
) -> list[tuple[Obligation, str]]:
    """(source, its period key) for every source whose period ends with the consolidation's
    period: the same period, or a longer one ending with it (an annual report at year end)."""
    period = consolidation_period(obligation, period_key)
    found = []
    for source in upstreams(defs, obligation.id):
        for candidate in periods_between(source.schedule, source.window, period.end, period.end):
            found.append((source, candidate.key))
    return found


@dataclass(frozen=True)
class SourceReport:
    """One source obligation's part of a consolidation; no cycle yet means nothing received."""

    obligation: Obligation
    period_key: str
    consolidation: Consolidation | None

    @property
    def complete(self) -> bool:
        return self.consolidation is not None and self.consolidation.complete


def consolidate_sources(
    defs: Definitions, session: Session, obligation: Obligation, period_key: str
) -> list[SourceReport]:
    """Every source's consolidation for the period; ReportError when none has a cycle."""
    reports = []
    for source, key in source_periods(defs, obligation, period_key):
        try:
            reports.append(SourceReport(source, key, consolidate(defs, session, source, key)))
        except ReportError:
            reports.append(SourceReport(source, key, None))
    if not any(r.consolidation for r in reports):
        raise ReportError(
            f"Chưa có kỳ {period_key} của báo cáo nguồn nào của '{obligation.id}' trong sổ "
            "theo dõi: chưa có gì để tổng hợp."
        )
    return reports


def sources_still_open(
    defs: Definitions, session: Session, obligation: Obligation, key: str
) -> list[str]:
    """Sources the consolidation still waits for: those that hand off at their close and
    whose cycle of the period is still open (each close hands off, so the last one starts it
    with everything). A source declaring `hand_off: at-due` never holds it back: it hands off
    once its due date has passed, and its late reports make amended versions."""
    waiting = []
    for source, source_key in source_periods(defs, obligation, key):
        if source.downstream is not None and source.downstream.hand_off == "at-due":
            continue
        cycle = get_cycle(session, source.id, source_key)
        if cycle is not None and cycle.state == "open":
            waiting.append(source.id)
    return waiting


def handoff_total(defs: Definitions, session: Session, obligation: Obligation, key: str) -> int:
    """The hand-off versions of every source cycle of the period, added: a late report to any
    source makes the next amended version of the consolidation."""
    total = 0
    for source, source_key in source_periods(defs, obligation, key):
        cycle = get_cycle(session, source.id, source_key)
        total += cycle.handoff_version if cycle is not None else 0
    return total


def _closed_at(session: Session, cycle_id: int) -> dt.datetime | None:
    closes = list_events(session, cycle_id=cycle_id, kind="cycle-closed")
    return closes[0].at if closes else None


def _before(session: Session, assignment_id: int, moment: dt.datetime) -> SubmissionView | None:
    history = [s for s in submission_history(session, assignment_id) if s.submitted_at <= moment]
    return history[-1] if history else None


def _complete(rule: Completeness, reported: set[str], missing: list[str]) -> bool:
    if rule.rule == "at-least":
        return len(reported) >= (rule.count or 0)
    if rule.rule == "required":
        return set(rule.bodies) <= reported
    return not missing


def consolidate(
    defs: Definitions, session: Session, upstream: Obligation, period_key: str
) -> Consolidation:
    """The consolidation of one upstream cycle, as the ledger holds it now.

    With `late: ignore`, what arrived after the cycle closed is left out (the version recorded
    before the close counts, if any); with `late: amend` everything counts.
    """
    cycle = get_cycle(session, upstream.id, period_key)
    if cycle is None:
        raise ReportError(
            f"Chưa có kỳ {period_key} của nhiệm vụ '{upstream.id}' trong sổ theo dõi: "
            "chưa có gì để tổng hợp."
        )
    results = cycle_results(session, cycle.id)
    rule = upstream.downstream.completeness if upstream.downstream else Completeness()
    closed_at = _closed_at(session, cycle.id) if results.cycle.state == "closed" else None
    reported: list[BodyResult] = []
    missing: list[tuple[str, str]] = []
    waived: list[tuple[str, str]] = []
    for entry in results.entries:
        a = entry.assignment
        name = defs.bodies[a.body_id].name if a.body_id in defs.bodies else a.body_name
        latest, state = entry.latest, a.state
        if state == AssignmentState.waived:
            waived.append((a.body_id, name))
            continue
        after_close = bool(closed_at and latest and latest.submitted_at > closed_at)
        if after_close and rule.late == "ignore":
            latest = _before(session, a.id, closed_at)
            state = AssignmentState.accepted if latest else AssignmentState.closed_missing
            after_close = False
        if latest is None or state not in REPORTED:
            missing.append((a.body_id, name))
            continue
        reported.append(
            BodyResult(
                body_id=a.body_id,
                body_name=name,
                state=state,
                version=latest.version,
                submitted_at=latest.submitted_at,
                late=latest.late,
                after_close=after_close,
                values=dict(latest.fields),
                attachments=tuple(f.file_name for f in latest.attachments),
            )
        )
    totals: dict[str, Decimal] = {}
    for field in upstream.form.fields:
        if field.type in NUMERIC and field.sum_in_report:
            amounts = [as_decimal(r.values.get(field.id)) for r in reported]
            totals[field.id] = sum((x for x in amounts if x is not None), Decimal(0))
    ids = {r.body_id for r in reported}
    return Consolidation(
        upstream=upstream,
        cycle=results.cycle,
        reported=tuple(reported),
        missing=tuple(missing),
        waived=tuple(waived),
        totals=totals,
        rule=rule,
        complete=_complete(rule, ids, [m for m, _ in missing]),
    )


def rule_text(rule: Completeness, expected: int) -> str:
    """The completeness rule in words, for the report and the approval form."""
    if rule.rule == "at-least":
        return f"cần ít nhất {rule.count}/{expected} cơ quan báo cáo"
    if rule.rule == "required":
        return f"cần đủ báo cáo của {len(rule.bodies)} cơ quan bắt buộc"
    return f"cần đủ báo cáo của tất cả {expected} cơ quan"

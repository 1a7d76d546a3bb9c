"""What a simulation did, in numbers, read back from its ledger and its captured mail; and the
checks that the numbers are consistent (every request answered, late or missing; escalations
only where the ladder reached one; the cycles the plan expects, opened and closed)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cli.simulator.driver import SimulationRun
from cli.simulator.handoffs import HandOffRecord
from engine.calendar import LegalCalendar
from engine.definitions.models import Cadence, RungKind
from engine.ledger.models import Assignment, Cycle, OutboxMessage, Submission
from engine.ledger.states import AssignmentState
from engine.ledger.transactions import committing
from engine.names import alphabetical
from engine.plan import cycles_in_range, obligation_active
from engine.schedule import rung_date

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
KIND_LABELS = {
    "request": "Yêu cầu báo cáo",
    "reminder": "Nhắc trước hạn",
    "due-today": "Nhắc đến hạn",
    "overdue": "Nhắc quá hạn",
    "escalation": "Đôn đốc, báo thủ trưởng",
    "closed-summary": "Tổng hợp khi đóng kỳ",
    "receipt": "Xác nhận đã nhận",
    "digest": "Tổng hợp tuần",
    "returned": "Trả lại để chỉnh sửa",
}
OUTCOMES = ("on_time", "late", "missing", "waived", "pending", "not_requested")


@dataclass(frozen=True)
class MailRow:
    """One delivered message, with what the outbox knows about it."""

    day: dt.date
    kind: str
    obligation_id: str | None
    period_key: str | None
    body_id: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    message_id: str


@dataclass(frozen=True)
class AssignmentOutcome:
    obligation_id: str
    period_key: str
    body_id: str
    body_name: str
    due_on: dt.date
    requested_on: dt.date | None
    answered_on: dt.date | None
    outcome: str  # one of OUTCOMES


@dataclass
class BodyFigures:
    body_id: str
    name: str
    requested: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    waived: int = 0
    pending: int = 0
    escalations: int = 0


@dataclass
class Figures:
    year_from: dt.date
    year_to: dt.date
    last_day: dt.date
    emails_by_kind: dict[str, int]
    emails_by_month: dict[str, dict[str, int]]
    outcomes: dict[str, int]
    bodies: list[BodyFigures]
    escalations: list[dict[str, str]]
    cycles_opened: int
    cycles_closed: int
    cycles_still_open: int
    cycles_expected: int
    closed_by_obligation: dict[str, int]
    handoffs: list[HandOffRecord]
    documents: list[str]
    submissions: int
    revisions: int
    refused_answers: list[str]
    refused_mail: list[str]
    skipped_mail: list[str]
    ignored_events: list[str]
    annual_available: bool
    problems: list[str] = field(default_factory=list)

    @property
    def emails_total(self) -> int:
        return sum(self.emails_by_kind.values())

    def as_json(self) -> dict:
        data = asdict(self)
        data["emails_total"] = self.emails_total
        return _jsonable(data)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def mail_rows(run: SimulationRun) -> list[MailRow]:
    """Every captured message joined to its outbox row (kind, body, cycle) by Message-ID."""
    query = select(
        OutboxMessage.message_id,
        OutboxMessage.kind,
        OutboxMessage.body_id,
        Cycle.obligation_id,
        Cycle.period_key,
    ).outerjoin(Cycle, Cycle.id == OutboxMessage.cycle_id)
    with run.sessions() as session, committing(session):
        known = {row.message_id: row for row in session.execute(query)}
    rows = []
    for captured in run.mail:
        message = captured.message
        row = known[message.message_id]
        rows.append(
            MailRow(
                captured.day,
                row.kind,
                row.obligation_id,
                row.period_key,
                row.body_id,
                tuple(message.to),
                tuple(message.cc),
                message.subject,
                message.message_id,
            )
        )
    return rows


def assignment_outcomes(run: SimulationRun) -> list[AssignmentOutcome]:
    """How each assignment ended: first version on time or late, missing, waived, pending."""
    first = (
        select(Submission.assignment_id, Submission.submitted_at, Submission.late)
        .where(Submission.version == 1)
        .subquery()
    )
    query = (
        select(
            Cycle.obligation_id,
            Cycle.period_key,
            Assignment.body_id,
            Assignment.body_name,
            Assignment.due_on,
            Assignment.requested_on,
            Assignment.state,
            first.c.submitted_at,
            first.c.late,
        )
        .join(Cycle, Cycle.id == Assignment.cycle_id)
        .outerjoin(first, first.c.assignment_id == Assignment.id)
        .order_by(Cycle.obligation_id, Cycle.period_start, Assignment.body_id)
    )
    with run.sessions() as session, committing(session):
        rows = session.execute(query).all()
    outcomes = []
    for r in rows:
        answered = r.submitted_at.astimezone(VIETNAM).date() if r.submitted_at else None
        if r.requested_on is None:
            outcome = "not_requested"
        elif answered is not None:
            outcome = "late" if r.late else "on_time"
        elif r.state == AssignmentState.closed_missing.value:
            outcome = "missing"
        elif r.state == AssignmentState.waived.value:
            outcome = "waived"
        else:
            outcome = "pending"
        outcomes.append(
            AssignmentOutcome(
                r.obligation_id,
                r.period_key,
                r.body_id,
                r.body_name,
                r.due_on,
                r.requested_on,
                answered,
                outcome,
            )
        )
    return outcomes


def expected_cycles(run: SimulationRun) -> set[tuple[str, str]]:
    """The cycles the plan (engine.plan, not the decision code) says the range must open: those
    whose request falls in it, or that are still running when it starts, plus the events."""
    cal = LegalCalendar(run.defs.calendars)
    expected = set()
    for obligation in run.defs.obligations.values():
        if obligation.schedule.every == Cadence.event:
            continue
        for dates in cycles_in_range(obligation, cal, run.start, run.end):
            opens_on = max(dates.request_on, run.start)
            running = opens_on <= run.end and dates.closes_on >= run.start
            if running and obligation_active(obligation, opens_on):
                expected.add((obligation.id, dates.period.key))
    return expected


def figures(run: SimulationRun) -> Figures:
    """Count everything and run the consistency checks."""
    mail = mail_rows(run)
    outcomes = assignment_outcomes(run)
    names = {b.id: b.name for b in run.defs.bodies.values()}
    bodies: dict[str, BodyFigures] = {}
    for o in outcomes:
        body = bodies.setdefault(
            o.body_id, BodyFigures(o.body_id, names.get(o.body_id, o.body_name))
        )
        if o.outcome != "not_requested":
            body.requested += 1
        if o.outcome in ("on_time", "late", "missing", "waived", "pending"):
            setattr(body, o.outcome, getattr(body, o.outcome) + 1)
    escalations = [m for m in mail if m.kind == RungKind.escalation.value]
    for m in escalations:
        bodies.setdefault(m.body_id, BodyFigures(m.body_id, names.get(m.body_id, m.body_id)))
        bodies[m.body_id].escalations += 1
    by_month: dict[str, Counter] = {}
    for m in mail:
        by_month.setdefault(m.day.strftime("%Y-%m"), Counter())[m.kind] += 1
    opened = {(o, p) for _d, o, p in run.opened}
    closed = {(o, p) for _d, o, p in run.closed}
    expected = expected_cycles(run) | {(e.obligation, f"event-{e.name}") for e in run.events}
    documents = [d for h in run.handoffs for d in h.documents]
    result = Figures(
        year_from=run.start,
        year_to=run.end,
        last_day=run.last_day,
        emails_by_kind=dict(Counter(m.kind for m in mail).most_common()),
        emails_by_month={k: dict(v) for k, v in sorted(by_month.items())},
        outcomes={k: sum(1 for o in outcomes if o.outcome == k) for k in OUTCOMES},
        bodies=sorted(bodies.values(), key=lambda b: (-b.requested, alphabetical(b.name))),
        escalations=[
            {
                "day": m.day.isoformat(),
                "obligation": m.obligation_id or "",
                "period": m.period_key or "",
                "body": m.body_id,
            }
            for m in escalations
        ],
        cycles_opened=len(opened),
        cycles_closed=len(closed),
        cycles_still_open=len(opened - closed),
        cycles_expected=len(expected),
        closed_by_obligation=dict(Counter(o for o, _p in closed).most_common()),
        handoffs=list(run.handoffs),
        documents=documents,
        submissions=sum(1 for a in run.answers if a.refused is None),
        revisions=sum(1 for a in run.answers if a.refused is None and a.version > 1),
        refused_answers=[
            f"{a.day.isoformat()} {a.obligation_id} {a.period_key} {a.body_id}: {a.refused}"
            for a in run.answers
            if a.refused
        ],
        refused_mail=[f"{d.isoformat()} {m.message_id}: {why}" for d, m, why in run.refused_mail],
        skipped_mail=list(run.skipped),
        ignored_events=[f"{e.obligation} {e.on.isoformat()}" for e in run.events_ignored],
        annual_available=run.annual_available,
    )
    result.problems = consistency_problems(run, mail, outcomes, opened, closed, expected)
    return result


def consistency_problems(
    run: SimulationRun,
    mail: list[MailRow],
    outcomes: list[AssignmentOutcome],
    opened: set[tuple[str, str]],
    closed: set[tuple[str, str]],
    expected: set[tuple[str, str]],
) -> list[str]:
    """Everything that contradicts the definitions, in Vietnamese; empty when consistent."""
    problems = []
    cal = LegalCalendar(run.defs.calendars)
    ids = Counter(m.message_id for m in mail)
    problems += [f"thư {i} được gửi {n} lần" for i, n in ids.items() if n > 1]
    requests = Counter(
        (m.obligation_id, m.period_key, m.body_id) for m in mail if m.kind == "request"
    )
    by_assignment = {(o.obligation_id, o.period_key, o.body_id): o for o in outcomes}
    for key, outcome in by_assignment.items():
        sent = requests.get(key, 0)
        if sent != (1 if outcome.requested_on else 0):
            problems.append(f"{' · '.join(key)}: {sent} thư yêu cầu")
        if outcome.outcome == "pending" and key[:2] in closed:
            problems.append(f"{' · '.join(key)}: kỳ đã đóng mà phần việc vẫn chờ nộp")
    for m in mail:
        if m.kind != RungKind.escalation.value:
            continue
        key = (m.obligation_id, m.period_key, m.body_id)
        outcome = by_assignment.get(key)
        obligation = run.defs.obligations.get(m.obligation_id or "")
        rungs = (
            [r for r in obligation.ladder if r.kind == RungKind.escalation] if obligation else []
        )
        label = " · ".join(str(k) for k in key)
        if outcome is None or not rungs:
            problems.append(f"{label}: đôn đốc không có bậc đôn đốc trong thang nhắc")
            continue
        reached = min(rung_date(r, outcome.due_on, cal) for r in rungs)
        if m.day < reached:
            problems.append(f"{label}: đôn đốc ngày {m.day} trước bậc đôn đốc ({reached})")
        if outcome.answered_on is not None and outcome.answered_on < m.day:
            problems.append(f"{label}: đôn đốc ngày {m.day} sau khi đã nộp ({outcome.answered_on})")
    if opened != expected:
        for o, p in sorted(expected - opened):
            problems.append(f"{o} · {p}: kế hoạch cần mở kỳ này nhưng mô phỏng không mở")
        for o, p in sorted(opened - expected):
            problems.append(f"{o} · {p}: mô phỏng mở kỳ này nhưng kế hoạch không có")
    if run.last_day > run.end:  # followed to the close: every cycle opened must have closed
        for o, p in sorted(opened - closed):
            problems.append(f"{o} · {p}: kỳ chưa đóng khi kết thúc mô phỏng")
    return problems

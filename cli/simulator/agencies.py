"""Simulated agencies acting on the ledger: each working day, whoever's persona says so submits.

The agencies read only what a real agency would know from the ledger and its mailbox (its
request, its due date, how many reminders it received) and answer through the same function as
the portal (notifications.receipts.submit, channel "portal"), so validation, the submission
record and the receipt are the live ones. The simulator and the live-tick test share this class.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from cli.simulator.personas import Cast, Persona, PersonaKind
from engine.calendar import LegalCalendar
from engine.definitions.models import FieldType, Obligation
from engine.ledger.errors import LedgerError
from engine.ledger.models import Assignment, Cycle, OutboxMessage
from engine.ledger.queries import StatusRow
from engine.ledger.snapshot import assignment_rows_query
from engine.ledger.states import AWAITING, UNDER_REVIEW, AssignmentState, CycleState, OutboxState
from engine.ledger.transactions import committing
from notifications.compose import RUNG_KINDS
from notifications.receipts import Desk, submit

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# Agencies work office hours: the daily tick has already run when they answer.
ANSWER_TIME = dt.time(9, 30)
# The smallest file `engine.files.sniff` recognises as a PDF, for forms that require one.
TINY_PDF = b"%PDF-1.4\n% kehoach simulation\n%%EOF\n"
CLOSED_MISSING = AssignmentState.closed_missing.value


@dataclass(frozen=True)
class Answer:
    """One submission a simulated agency made (or tried to)."""

    day: dt.date
    obligation_id: str
    period_key: str
    body_id: str
    persona_id: str
    version: int
    late: bool
    refused: str | None = None


def answer_moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, ANSWER_TIME, tzinfo=VIETNAM).astimezone(dt.UTC)


def form_answers(obligation: Obligation, draw: random.Random, version: int) -> dict[str, Any]:
    """Plausible values for every field of the form, valid by construction."""
    values: dict[str, Any] = {}
    for field in obligation.form.fields:
        low = int(field.min) if field.min is not None else 0
        high = int(field.max) if field.max is not None else low + 60
        if field.type == FieldType.integer:
            values[field.id] = draw.randint(low, max(low, high))
        elif field.type == FieldType.decimal:
            values[field.id] = str(draw.randint(low, max(low, high)) * 1_000_000)
        elif field.type == FieldType.choice:
            values[field.id] = draw.choice(field.choices)
        elif field.type == FieldType.date:
            values[field.id] = dt.date(2026, 1, 1).isoformat()
        elif field.type == FieldType.text:
            values[field.id] = f"Số {draw.randint(1, 300)}/BC (bản {version})"
        elif field.type == FieldType.long_text:
            values[field.id] = (
                f"Nội dung giả lập, bản {version}: đã triển khai {draw.randint(1, 30)} "
                "hoạt động truyền thông chính sách theo Kế hoạch."
            )
    return values


def _row(values: Any) -> StatusRow:
    return StatusRow(
        obligation_id=values.obligation_id,
        period_key=values.period_key,
        cycle_state=values.cycle_state,
        cycle_due_on=values.cycle_due_on,
        closes_on=values.closes_on,
        assignment_id=values.id,
        body_id=values.body_id,
        body_name=values.body_name,
        state=values.state,
        due_on=values.due_on,
        requested_on=values.requested_on,
        latest_version=values.latest_version,
        last_submitted_at=values.last_submitted_at,
        overdue=None,
    )


class Agencies:
    """Every simulated agency; `act(day)` makes the day's submissions and returns them."""

    def __init__(
        self,
        desk: Desk,
        cast: Cast,
        cal: LegalCalendar,
        changes: Callable[[], int] | None = None,
    ) -> None:
        self.desk, self.cast, self.cal = desk, cast, cal
        # The simulation's ledger can say whether anything was written since the last look;
        # then yesterday's reading is still exact and the two queries are skipped.
        self._changes = changes
        self._read: tuple[int, list[StatusRow], dict | None] | None = None

    def _candidates(self) -> list[StatusRow]:
        # Still owed, missing after the close (a late agency may still answer), or answered
        # while the cycle is open (a revising agency sends a second version).
        query = assignment_rows_query(
            or_(
                Assignment.state.in_(AWAITING | {CLOSED_MISSING}),
                Cycle.state == CycleState.open.value,
            ),
            Assignment.requested_on.is_not(None),
        ).order_by(Assignment.id)
        with self.desk.sessions() as session, committing(session):
            return [_row(r) for r in session.connection().execute(query).all()]

    def _chases_received(self) -> dict[tuple[str, str, str], int]:
        query = (
            select(Cycle.obligation_id, Cycle.period_key, OutboxMessage.body_id, func.count())
            .join(Cycle, Cycle.id == OutboxMessage.cycle_id)
            .where(
                Cycle.state == CycleState.open.value,
                OutboxMessage.kind.in_(RUNG_KINDS),
                OutboxMessage.state == OutboxState.sent.value,
            )
            .group_by(Cycle.obligation_id, Cycle.period_key, OutboxMessage.body_id)
        )
        with self.desk.sessions() as session, committing(session):
            return {(o, p, b): n for o, p, b, n in session.connection().execute(query).all()}

    def _answers_today(self, row: StatusRow, persona: Persona, chases: int, today: dt.date) -> bool:
        if row.state in UNDER_REVIEW:
            if persona.kind != PersonaKind.revises or row.latest_version != 1:
                return False
            if row.cycle_state != CycleState.open.value or row.last_submitted_at is None:
                return False
            first = row.last_submitted_at.astimezone(VIETNAM).date()
            return today >= self.cal.add_working_days(first, persona.revise_after)
        if row.latest_version:
            return False  # returned for revision: the simulation never returns a report
        if persona.kind in (PersonaKind.punctual, PersonaKind.revises):
            return today >= self.cal.add_working_days(row.due_on, -persona.days_before_due)
        if persona.kind == PersonaKind.late:
            return today >= self.cal.add_working_days(row.due_on, persona.days_late)
        if persona.kind == PersonaKind.after_reminders:
            return chases >= persona.reminders
        return False

    def act(self, today: dt.date) -> list[Answer]:
        """Submit what the personas owe on `today` (working days only)."""
        if not self.cal.is_working_day(today):
            return []
        stamp = self._changes() if self._changes else None
        if stamp is not None and self._read is not None and self._read[0] == stamp:
            rows, chases = self._read[1], self._read[2]
        else:
            rows, chases = self._candidates(), None
        answers = []
        for row in rows:
            persona_id = self.cast.persona_id(row.obligation_id, row.period_key, row.body_id)
            persona = self.cast.personas.personas[persona_id]
            if persona.kind == PersonaKind.never:
                continue
            if persona.kind == PersonaKind.after_reminders and chases is None:
                chases = self._chases_received()
            received = (chases or {}).get((row.obligation_id, row.period_key, row.body_id), 0)
            if self._answers_today(row, persona, received, today):
                answers.append(self._submit(row, persona_id, today))
        if stamp is not None:
            self._read = (stamp, rows, chases) if not answers else None
        return answers

    def _submit(self, row: StatusRow, persona_id: str, today: dt.date) -> Answer:
        obligation = self.desk.defs.obligations[row.obligation_id]
        version = row.latest_version + 1
        draw = random.Random(
            f"{self.cast.seed}:{row.obligation_id}:{row.period_key}:{row.body_id}:{version}"
        )
        needs_file = any(f.type == FieldType.file and f.required for f in obligation.form.fields)
        uploads = [("bao-cao.pdf", TINY_PDF)] if needs_file else []
        try:
            recorded = submit(
                self.desk,
                row,
                form_answers(obligation, draw, version),
                uploads,
                channel="portal",
                who=f"Văn thư {row.body_name}",
                today=today,
                now=answer_moment(today),
                # Nothing an agency sends is lost: after the close it amends the hand-off.
                allow_late=True,
            )
        except (LedgerError, ValueError) as error:
            return Answer(
                today,
                row.obligation_id,
                row.period_key,
                row.body_id,
                persona_id,
                version,
                late=today > row.due_on,
                refused=str(error),
            )
        return Answer(
            today,
            row.obligation_id,
            row.period_key,
            row.body_id,
            persona_id,
            recorded.version,
            recorded.late,
        )

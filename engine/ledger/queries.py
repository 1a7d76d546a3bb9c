"""Lookups for the CLI and the portal: the status table, an assignment by its natural key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from engine.ledger.errors import NotFound
from engine.ledger.models import Assignment, Cycle
from engine.ledger.snapshot import assignment_rows_query
from engine.ledger.states import AWAITING, assignment_label
from engine.ledger.transactions import committing


@dataclass(frozen=True)
class StatusRow:
    """One line of `kehoach status`: a body's part in a cycle."""

    obligation_id: str
    period_key: str
    cycle_state: str
    cycle_due_on: dt.date
    closes_on: dt.date
    assignment_id: int
    body_id: str
    body_name: str
    state: str
    due_on: dt.date
    requested_on: dt.date | None
    latest_version: int
    last_submitted_at: dt.datetime | None
    overdue: bool | None  # None when no `today` was given

    @property
    def state_label(self) -> str:
        return assignment_label(self.state)


def status_rows(
    session: Session,
    obligation_id: str | None = None,
    period_key: str | None = None,
    *,
    today: dt.date | None = None,
) -> list[StatusRow]:
    """Every assignment (optionally of one obligation and/or period), in one query."""
    criteria: list[ColumnElement[bool]] = []
    if obligation_id is not None:
        criteria.append(Cycle.obligation_id == obligation_id)
    if period_key is not None:
        criteria.append(Cycle.period_key == period_key)
    query = assignment_rows_query(*criteria).order_by(
        Cycle.obligation_id, Cycle.period_start, Assignment.body_id
    )
    with committing(session):
        rows = session.execute(query).all()
    return [
        status_row(
            row,
            latest_version=row.latest_version,
            last_submitted_at=row.last_submitted_at,
            overdue=None if today is None else (row.state in AWAITING and today > row.due_on),
        )
        for row in rows
    ]


def status_row(
    row: Any,
    *,
    latest_version: int,
    last_submitted_at: dt.datetime | None,
    overdue: bool | None,
) -> StatusRow:
    """A StatusRow from a row carrying the assignment's and its cycle's columns under the names
    assignment_rows_query gives them (the portal's page query uses the same names)."""
    return StatusRow(
        obligation_id=row.obligation_id,
        period_key=row.period_key,
        cycle_state=row.cycle_state,
        cycle_due_on=row.cycle_due_on,
        closes_on=row.closes_on,
        assignment_id=row.id,
        body_id=row.body_id,
        body_name=row.body_name,
        state=row.state,
        due_on=row.due_on,
        requested_on=row.requested_on,
        latest_version=latest_version,
        last_submitted_at=last_submitted_at,
        overdue=overdue,
    )


def find_assignment(
    session: Session, obligation_id: str, period_key: str, body_id: str
) -> Assignment:
    """The assignment of a body in a cycle, or NotFound with a sentence saying which."""
    with committing(session):
        assignment = session.scalar(
            select(Assignment)
            .join(Cycle, Cycle.id == Assignment.cycle_id)
            .where(
                Cycle.obligation_id == obligation_id,
                Cycle.period_key == period_key,
                Assignment.body_id == body_id,
            )
            .options(selectinload(Assignment.cycle))
        )
    if assignment is None:
        raise NotFound(
            f"Không có phân công cho cơ quan '{body_id}' trong kỳ {period_key} "
            f"của nhiệm vụ '{obligation_id}'."
        )
    return assignment

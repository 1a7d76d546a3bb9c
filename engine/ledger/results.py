"""What a cycle collected, as plain values: read by the hand-off and the consolidation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.ledger.assignments import AttachmentInfo
from engine.ledger.errors import NotFound
from engine.ledger.models import Assignment, Attachment, Cycle, Submission
from engine.ledger.snapshot import AssignmentView, CycleView, assignment_rows_query
from engine.ledger.transactions import committing


@dataclass(frozen=True)
class SubmissionView:
    id: int
    assignment_id: int
    version: int
    fields: dict[str, Any]
    channel: str
    submitted_by: str
    submitted_at: dt.datetime
    late: bool
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class ResultEntry:
    assignment: AssignmentView
    latest: SubmissionView | None  # the newest version, whatever its review state


@dataclass(frozen=True)
class CycleResults:
    cycle: CycleView
    entries: tuple[ResultEntry, ...]

    def by_state(self, *states: str) -> tuple[ResultEntry, ...]:
        return tuple(e for e in self.entries if e.assignment.state in states)


SUBMISSION_COLUMNS = [c for c in Submission.__table__.columns]


def _with_attachments(session: Session, rows: Iterable[Any]) -> list[SubmissionView]:
    rows = list(rows)
    files: dict[int, list[AttachmentInfo]] = {}
    if rows:
        attachment_rows = session.execute(
            select(Attachment)
            .where(Attachment.submission_id.in_([row.id for row in rows]))
            .order_by(Attachment.id)
        ).scalars()
        for a in attachment_rows:
            files.setdefault(a.submission_id, []).append(
                AttachmentInfo(a.file_name, a.content_type, a.size, a.sha256)
            )
    return [
        SubmissionView(**row._asdict(), attachments=tuple(files.get(row.id, ()))) for row in rows
    ]


def submission_history(session: Session, assignment_id: int) -> list[SubmissionView]:
    """Every version an assignment received, oldest first, with attachments (two queries)."""
    with committing(session):
        rows = session.execute(
            select(*SUBMISSION_COLUMNS)
            .where(Submission.assignment_id == assignment_id)
            .order_by(Submission.version)
        ).all()
        return _with_attachments(session, rows)


def cycle_results(session: Session, cycle_id: int) -> CycleResults:
    """Each assignment of a cycle with its latest submission, in four queries."""
    with committing(session):
        cycle_row = session.execute(
            select(*Cycle.__table__.columns).where(Cycle.id == cycle_id)
        ).one_or_none()
        if cycle_row is None:
            raise NotFound(f"Không tìm thấy kỳ báo cáo số {cycle_id}.")
        assignment_rows = session.execute(
            assignment_rows_query(Assignment.cycle_id == cycle_id).order_by(Assignment.body_id)
        ).all()
        newest = (
            select(Submission.assignment_id, func.max(Submission.version).label("version"))
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .where(Assignment.cycle_id == cycle_id)
            .group_by(Submission.assignment_id)
            .subquery()
        )
        latest_rows = session.execute(
            select(*SUBMISSION_COLUMNS).join(
                newest,
                (newest.c.assignment_id == Submission.assignment_id)
                & (newest.c.version == Submission.version),
            )
        ).all()
        latest = {s.assignment_id: s for s in _with_attachments(session, latest_rows)}
    assignments = [
        AssignmentView(**{n: row._mapping[n] for n in AssignmentView.__dataclass_fields__})
        for row in assignment_rows
    ]
    cycle = CycleView(**cycle_row._asdict(), assignments=tuple(assignments))
    entries = tuple(ResultEntry(a, latest.get(a.id)) for a in assignments)
    return CycleResults(cycle=cycle, entries=entries)

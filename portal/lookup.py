"""From a link to what a page shows: the assignment it grants, its cycle, the version to show.

A page reads one session's worth of small queries: the assignment with its cycle, the newest
version (or the one asked for) with its files; the whole history only for the operator. Nothing
here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, select

from engine.definitions.models import Definitions, Obligation
from engine.ledger.assignments import AttachmentInfo
from engine.ledger.models import Assignment, Attachment, Cycle, Event, Submission
from engine.ledger.queries import StatusRow, status_row
from engine.ledger.results import SubmissionView, submission_history
from engine.ledger.states import AWAITING, UNDER_REVIEW, AssignmentState, CycleState
from engine.ledger.transactions import committing
from engine.letters import naming
from engine.periods import period_for_key
from notifications.receipts import Desk

# Built once: Core statements on the tables (no ORM entities) with bound parameters, so a page
# view pays neither for constructing the SQL nor for ORM loading on every request.
_A, _C, _S, _F = (
    Assignment.__table__.c,
    Cycle.__table__.c,
    Submission.__table__.c,
    Attachment.__table__.c,
)
ASSIGNMENT_QUERY = (
    select(
        _A.id,
        _A.body_id,
        _A.body_name,
        _A.state,
        _A.due_on,
        _A.requested_on,
        _A.link_revision,
        _C.obligation_id,
        _C.period_key,
        _C.period_start,
        _C.state.label("cycle_state"),
        _C.due_on.label("cycle_due_on"),
        _C.closes_on,
    )
    .join_from(Assignment.__table__, Cycle.__table__, _C.id == _A.cycle_id)
    .where(_A.id == bindparam("assignment_id"))
)
SUBMISSION_COLUMNS = list(Submission.__table__.columns)
LATEST_QUERY = (
    select(*SUBMISSION_COLUMNS)
    .where(_S.assignment_id == bindparam("assignment_id"))
    .order_by(_S.version.desc())
    .limit(1)
)
VERSION_QUERY = select(*SUBMISSION_COLUMNS).where(
    _S.assignment_id == bindparam("assignment_id"), _S.version == bindparam("version")
)
FILES_QUERY = (
    select(_F.file_name, _F.content_type, _F.size, _F.sha256)
    .where(_F.submission_id == bindparam("submission_id"))
    .order_by(_F.id)
)
RETURN_COMMENT_QUERY = (
    select(Event.__table__.c.data)
    .where(
        Event.__table__.c.assignment_id == bindparam("assignment_id"),
        Event.__table__.c.kind == "assignment-returned",
    )
    .order_by(Event.__table__.c.id.desc())
    .limit(1)
)


@dataclass(frozen=True)
class AssignmentPage:
    """Everything a page about one assignment needs."""

    row: StatusRow
    obligation: Obligation
    body_name: str
    period_label: str
    latest: SubmissionView | None
    # The version a receipt page asked for (None when absent or not asked).
    shown: SubmissionView | None = None
    # Every version, oldest first: loaded for the operator's page only.
    history: tuple[SubmissionView, ...] = ()
    # The operator's words when the latest version was returned for revision.
    return_comment: str | None = None
    # The round the assignment's current link is signed for (returns so far).
    link_revision: int = 0

    @property
    def named(self) -> str:
        """The obligation and its period as the letters name them ('… năm 2026', never
        '… hằng năm năm 2026')."""
        return naming(self.obligation, self.period_label).named

    @property
    def cycle_open(self) -> bool:
        return self.row.cycle_state == CycleState.open.value

    @property
    def accepts_answers(self) -> bool:
        """A new version is taken while the cycle is open and nobody accepted or waived it."""
        return self.cycle_open and (self.row.state in AWAITING or self.row.state in UNDER_REVIEW)


def _version(connection: Connection, assignment_id: int, version: int | None):
    """One version with its files (the newest when `version` is None)."""
    if version is None:
        row = connection.execute(LATEST_QUERY, {"assignment_id": assignment_id}).one_or_none()
    else:
        params = {"assignment_id": assignment_id, "version": version}
        row = connection.execute(VERSION_QUERY, params).one_or_none()
    if row is None:
        return None
    files = connection.execute(FILES_QUERY, {"submission_id": row.id}).all()
    return SubmissionView(**row._asdict(), attachments=tuple(AttachmentInfo(*f) for f in files))


def _return_comment(connection: Connection, assignment_id: int) -> str | None:
    data = connection.execute(RETURN_COMMENT_QUERY, {"assignment_id": assignment_id}).scalar()
    return data.get("comment") if isinstance(data, dict) else None


def _period_label(obligation: Obligation, period_key: str, period_start: dt.date) -> str:
    try:
        period = period_for_key(obligation.schedule, obligation.window, period_key, on=period_start)
    except ValueError:
        return period_key
    return period.label


@contextmanager
def _reading(desk: Desk) -> Iterator[Connection]:
    """One read transaction on the ledger: straight on the engine's connection, which costs
    a page view a good part less than an ORM Session around it (nothing here is an entity)."""
    bind = desk.sessions.kw.get("bind")
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
        return
    with desk.sessions() as session, committing(session):
        yield session.connection()


def load_page(
    desk: Desk, assignment_id: int, *, version: int | None = None, history: bool = False
) -> AssignmentPage | None:
    """The page data of an assignment, or None when the ledger or the definitions lack it."""
    with _reading(desk) as connection:
        row = connection.execute(ASSIGNMENT_QUERY, {"assignment_id": assignment_id}).one_or_none()
        if row is None:
            return None
        latest = _version(connection, assignment_id, None)
        shown = None
        if version is not None:
            shown = latest if latest and latest.version == version else None
            shown = shown or _version(connection, assignment_id, version)
        comment = None
        if row.state == AssignmentState.returned.value:
            comment = _return_comment(connection, assignment_id)
    obligation = desk.defs.obligations.get(row.obligation_id)
    if obligation is None:
        return None
    versions: tuple[SubmissionView, ...] = ()
    if history:
        with desk.sessions() as session:
            versions = tuple(submission_history(session, assignment_id))
    status = status_row(
        row,
        latest_version=latest.version if latest else 0,
        last_submitted_at=latest.submitted_at if latest else None,
        overdue=None,
    )
    return AssignmentPage(
        row=status,
        obligation=obligation,
        body_name=body_name(desk.defs, status),
        period_label=_period_label(obligation, row.period_key, row.period_start),
        latest=latest,
        shown=shown,
        history=versions,
        return_comment=comment,
        link_revision=row.link_revision or 0,
    )


def body_name(defs: Definitions, row: StatusRow) -> str:
    body = defs.bodies.get(row.body_id)
    return body.name if body else row.body_name

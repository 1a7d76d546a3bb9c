"""The assignment state machine: submissions, acceptance, return for revision, waivers.

open ──submit──▶ submitted ──accept──▶ accepted
  │                 │  ▲
  │              return │ submit (again, before review)
  │                 ▼  │
  │             returned ──submit──▶ resubmitted ──accept / return──▶ …
  └─waive─▶ waived          (open, returned ──close──▶ closed-missing ──late submit──▶ submitted)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine.ledger.errors import CycleClosed, InvalidInput, InvalidTransition, NotFound
from engine.ledger.events import record_event, record_events
from engine.ledger.models import Assignment, Attachment, Cycle, Submission
from engine.ledger.states import (
    AWAITING,
    UNDER_REVIEW,
    AssignmentState,
    Channel,
    CycleState,
    assignment_label,
)
from engine.ledger.transactions import aware, vn_date, writing

S = AssignmentState
# Where a new submission takes an assignment; states absent here refuse submissions.
AFTER_SUBMISSION: dict[str, str] = {
    S.open.value: S.submitted.value,
    S.submitted.value: S.submitted.value,
    S.returned.value: S.resubmitted.value,
    S.resubmitted.value: S.resubmitted.value,
    S.closed_missing.value: S.submitted.value,
}


@dataclass(frozen=True)
class AttachmentInfo:
    """A file received with a submission; the file itself is stored elsewhere, by checksum."""

    file_name: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RecordedSubmission:
    submission_id: int
    assignment_id: int
    version: int
    state: str
    late: bool
    # False when the same content was already recorded (a retried or double-clicked submit).
    created: bool
    # True when the cycle was closed and this late report re-opened its hand-off.
    handoff_reopened: bool


def _locked_assignment(session: Session, assignment_id: int) -> tuple[Assignment, Cycle]:
    # FOR UPDATE serialises submissions and reviews of one assignment on PostgreSQL (SQLite
    # already serialises writers); the cycle is read after the lock so a close is seen.
    assignment = session.scalar(
        select(Assignment)
        .where(Assignment.id == assignment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if assignment is None:
        raise NotFound(f"Không tìm thấy phân công số {assignment_id}.")
    cycle = session.get(Cycle, assignment.cycle_id, populate_existing=True)
    assert cycle is not None  # a foreign key guarantees it
    return assignment, cycle


def _refuse(assignment: Assignment, action: str) -> InvalidTransition:
    return InvalidTransition(
        f"Không thể {action}: báo cáo của {assignment.body_name} đang ở trạng thái "
        f"“{assignment_label(assignment.state)}”."
    )


def _normalise_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise InvalidInput("Dữ liệu biểu mẫu phải là một bảng tên trường → giá trị.")
    try:
        # Round-trip so that what we compare and store is exactly what the database gives back.
        return json.loads(json.dumps(dict(fields), ensure_ascii=False))
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"Dữ liệu biểu mẫu không lưu được: {error}.") from error


def _normalise_attachments(
    attachments: Sequence[AttachmentInfo | Mapping[str, Any]],
) -> list[AttachmentInfo]:
    result = []
    for item in attachments:
        if isinstance(item, AttachmentInfo):
            result.append(item)
            continue
        try:
            result.append(AttachmentInfo(**item))
        except TypeError as error:
            raise InvalidInput(f"Thông tin tệp đính kèm không hợp lệ: {dict(item)!r}.") from error
    return result


_A, _C, _S, _F = (
    Assignment.__table__.c,
    Cycle.__table__.c,
    Submission.__table__.c,
    Attachment.__table__.c,
)
# record_submission runs on every answer an agency sends: Core statements on the tables, built
# once, cost a fraction of loading and flushing ORM objects (the portal's POST is mostly this).
_LOCK_ASSIGNMENT = (
    select(_A.id, _A.cycle_id, _A.body_id, _A.body_name, _A.state, _A.due_on)
    .where(_A.id == bindparam("assignment_id"))
    .with_for_update()
)
_CYCLE_OF = select(
    _C.id,
    _C.obligation_id,
    _C.period_key,
    _C.period_start,
    _C.state,
    _C.closed_on,
    _C.handed_off_version,
).where(_C.id == bindparam("cycle_id"))
_LATEST = (
    select(_S.id, _S.version, _S.fields, _S.channel, _S.submitted_by, _S.late)
    .where(_S.assignment_id == bindparam("assignment_id"))
    .order_by(_S.version.desc())
    .limit(1)
)
_FILES_OF = (
    select(_F.file_name, _F.sha256)
    .where(_F.submission_id == bindparam("submission_id"))
    .order_by(_F.id)
)


@dataclass(frozen=True)
class CycleOfAnswer:
    """The cycle an answer was recorded in, as `record_submission`'s `then` sees it."""

    id: int
    obligation_id: str
    period_key: str
    period_start: dt.date


def _same_as(
    session: Session,
    latest: Any,
    fields: dict[str, Any],
    files: list[AttachmentInfo],
    channel: str,
    who: str,
) -> bool:
    if latest is None:
        return False
    if not (latest.fields == fields and latest.channel == channel and latest.submitted_by == who):
        return False
    stored = session.execute(_FILES_OF, {"submission_id": latest.id}).all()
    return [(a.file_name, a.sha256) for a in stored] == [(f.file_name, f.sha256) for f in files]


def _sync_loaded_assignment(session: Session, assignment_id: int, state: str, at) -> None:
    """Keep an Assignment the caller already loaded in this session in step with the update."""
    loaded = session.identity_map.get(identity_key(Assignment, assignment_id))
    if loaded is not None:
        set_committed_value(loaded, "state", state)
        set_committed_value(loaded, "updated_at", at)


def record_submission(
    session: Session,
    assignment_id: int,
    fields: Mapping[str, Any],
    attachments: Sequence[AttachmentInfo | Mapping[str, Any]],
    channel: str,
    who: str,
    now: dt.datetime,
    today: dt.date,
    *,
    allow_late: bool = False,
    then: Callable[[Session, RecordedSubmission, CycleOfAnswer], None] | None = None,
    relaxed: bool = False,
    own_transaction: bool = True,
) -> RecordedSubmission:
    """Record a new version of a body's answer; after the close only with allow_late=True.

    `then` runs inside the same transaction once a new version is recorded (not for a repeat of
    the latest one): what it writes, such as the receipt in the outbox, commits with the version
    or not at all. `relaxed` (see transactions.writing) is for a caller that makes the commit
    durable itself before acting on it (the reply intake, once per batch). `own_transaction`
    False: the caller's `writing` transaction is used, so that several answers commit together
    (the reply intake records a fetched batch in one commit).
    """
    if channel not in {c.value for c in Channel}:
        raise InvalidInput(
            f"Kênh nộp “{channel}” không hợp lệ; chỉ nhận: "
            + ", ".join(c.value for c in Channel)
            + "."
        )
    who = (who or "").strip()
    if not who:
        raise InvalidInput("Cần ghi rõ người nộp báo cáo.")
    values = _normalise_fields(fields)
    files = _normalise_attachments(attachments)
    now = aware(now)
    with writing(session, relaxed=relaxed) if own_transaction else contextlib.nullcontext():
        connection = session.connection()
        # FOR UPDATE serialises submissions and reviews of one assignment on PostgreSQL (SQLite
        # already serialises writers); the cycle is read after the lock so a close is seen.
        assignment = connection.execute(
            _LOCK_ASSIGNMENT, {"assignment_id": assignment_id}
        ).one_or_none()
        if assignment is None:
            raise NotFound(f"Không tìm thấy phân công số {assignment_id}.")
        cycle = connection.execute(_CYCLE_OF, {"cycle_id": assignment.cycle_id}).one()
        latest = connection.execute(_LATEST, {"assignment_id": assignment_id}).one_or_none()
        if assignment.state in UNDER_REVIEW and _same_as(
            session, latest, values, files, channel, who
        ):
            return RecordedSubmission(
                submission_id=latest.id,
                assignment_id=assignment_id,
                version=latest.version,
                state=assignment.state,
                late=latest.late,
                created=False,
                handoff_reopened=False,
            )
        after_close = cycle.state == CycleState.closed.value
        if after_close and not allow_late:
            raise CycleClosed(
                f"Kỳ {cycle.period_key} của nhiệm vụ '{cycle.obligation_id}' đã đóng ngày "
                f"{vn_date(cycle.closed_on or today)}; báo cáo muộn của {assignment.body_name} "
                "chỉ được ghi nhận khi được cho phép."
            )
        next_state = AFTER_SUBMISSION.get(assignment.state)
        if next_state is None:
            raise _refuse(assignment, "nhận thêm báo cáo")
        version = (latest.version if latest else 0) + 1
        late = today > assignment.due_on
        submission_id = connection.execute(
            insert(Submission.__table__).returning(_S.id),
            {
                "assignment_id": assignment_id,
                "version": version,
                "fields": values,
                "channel": channel,
                "submitted_by": who,
                "submitted_at": now,
                "late": late,
            },
        ).scalar_one()
        if files:
            connection.execute(
                insert(Attachment.__table__),
                [
                    {
                        "submission_id": submission_id,
                        "file_name": f.file_name,
                        "content_type": f.content_type,
                        "size": f.size,
                        "sha256": f.sha256,
                    }
                    for f in files
                ],
            )
        connection.execute(
            update(Assignment.__table__)
            .where(_A.id == assignment_id)
            .values(state=next_state, updated_at=now)
        )
        _sync_loaded_assignment(session, assignment_id, next_state, now)
        events = [
            {
                "at": now,
                "kind": "submission-recorded",
                "cycle_id": cycle.id,
                "assignment_id": assignment_id,
                "body_id": assignment.body_id,
                "data": {
                    "version": version,
                    "channel": channel,
                    "by": who,
                    "late": late,
                    "from_state": assignment.state,
                    "after_close": after_close,
                },
            }
        ]
        # A report arriving after the results were handed off (at the close, or at the due date
        # for an early hand-off) makes the downstream's version stale: it must run again.
        reopens = after_close or cycle.handed_off_version is not None
        if reopens:
            # Increment in SQL so two late reports arriving together both count.
            handoff_version = connection.execute(
                update(Cycle.__table__)
                .where(_C.id == cycle.id)
                .values(handoff_version=_C.handoff_version + 1)
                .returning(_C.handoff_version)
            ).scalar_one()
            events.append(
                {
                    "at": now,
                    "kind": "handoff-reopened",
                    "cycle_id": cycle.id,
                    "assignment_id": assignment_id,
                    "body_id": assignment.body_id,
                    "data": {"version": version, "handoff_version": handoff_version},
                }
            )
        record_events(session, events)
        recorded = RecordedSubmission(
            submission_id=submission_id,
            assignment_id=assignment_id,
            version=version,
            state=next_state,
            late=late,
            created=True,
            handoff_reopened=reopens,
        )
        if then is not None:
            then(
                session,
                recorded,
                CycleOfAnswer(cycle.id, cycle.obligation_id, cycle.period_key, cycle.period_start),
            )
        return recorded


def _review(
    session: Session,
    assignment_id: int,
    *,
    allowed: frozenset[str],
    target: str,
    action: str,
    event_kind: str,
    data: dict[str, Any],
    now: dt.datetime | None,
    needs_open_cycle: bool = False,
    new_link: bool = False,
) -> Assignment:
    now = aware(now)
    with writing(session):
        assignment, cycle = _locked_assignment(session, assignment_id)
        if assignment.state == target:
            return assignment  # already done: repeating a review changes nothing
        if assignment.state not in allowed:
            raise _refuse(assignment, action)
        if needs_open_cycle and cycle.state == CycleState.closed.value:
            raise CycleClosed(
                f"Kỳ {cycle.period_key} của nhiệm vụ '{cycle.obligation_id}' đã đóng; "
                f"không thể {action}."
            )
        data = {"from_state": assignment.state, **data}
        assignment.state = target
        assignment.updated_at = now
        if new_link:
            assignment.link_revision = (assignment.link_revision or 0) + 1
        record_event(
            session,
            event_kind,
            now,
            cycle_id=cycle.id,
            assignment_id=assignment_id,
            body_id=assignment.body_id,
            data=data,
        )
        return assignment


def accept(
    session: Session, assignment_id: int, *, who: str = "", now: dt.datetime | None = None
) -> Assignment:
    """Accept the latest submission (submitted or resubmitted → accepted)."""
    return _review(
        session,
        assignment_id,
        allowed=UNDER_REVIEW,
        target=S.accepted.value,
        action="chấp nhận báo cáo",
        event_kind="assignment-accepted",
        data={"by": who},
        now=now,
    )


def return_for_revision(
    session: Session,
    assignment_id: int,
    comment: str,
    *,
    who: str = "",
    now: dt.datetime | None = None,
) -> Assignment:
    """Send the submission back with a comment; only while the cycle is open."""
    if not comment or not comment.strip():
        raise InvalidInput("Cần ghi rõ lý do trả lại báo cáo để cơ quan chỉnh sửa.")
    return _review(
        session,
        assignment_id,
        allowed=UNDER_REVIEW,
        target=S.returned.value,
        action="trả lại báo cáo",
        event_kind="assignment-returned",
        data={"comment": comment.strip(), "by": who},
        now=now,
        needs_open_cycle=True,
        new_link=True,
    )


def waive(
    session: Session,
    assignment_id: int,
    reason: str,
    *,
    who: str = "",
    now: dt.datetime | None = None,
) -> Assignment:
    """Excuse a body that has not (validly) submitted: open, returned or closed-missing."""
    if not reason or not reason.strip():
        raise InvalidInput("Cần ghi rõ lý do miễn nộp báo cáo.")
    return _review(
        session,
        assignment_id,
        allowed=AWAITING | {S.closed_missing.value},
        target=S.waived.value,
        action="miễn nộp báo cáo",
        event_kind="assignment-waived",
        data={"reason": reason.strip(), "by": who},
        now=now,
    )

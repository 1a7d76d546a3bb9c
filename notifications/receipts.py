"""Recording a body's answer and queueing its receipt: one path for the operator's CLI and the
agency portal, so both validate the same way and every accepted answer gets the same receipt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine import files as attachments
from engine.definitions.models import Definitions, FieldType
from engine.forms import FormErrors, validate_submission
from engine.ledger import outbox as ledger_outbox
from engine.ledger.assignments import (
    AttachmentInfo,
    CycleOfAnswer,
    RecordedSubmission,
    record_submission,
)
from engine.ledger.errors import NotFound
from engine.ledger.models import OutboxMessage
from engine.ledger.queries import StatusRow, status_rows
from engine.ledger.states import OutboxState
from engine.ledger.transactions import aware
from engine.periods import period_for_key
from engine.vndates import short_date
from notifications.compose import Links, obligation_ref, signature
from notifications.contexts import Addressee, Answer, ReceiptContext, ReceivedFile
from notifications.render import Renderer
from notifications.vietnamese import format_number


@dataclass(frozen=True)
class Desk:
    """Where answers are received: the definitions, the ledger, file storage, the mail."""

    defs: Definitions
    sessions: sessionmaker[Session]
    renderer: Renderer
    links: Links
    mail_domain: str
    files_dir: Path
    # At most one receipt email per assignment within this interval (see coalesce_receipt).
    receipt_interval: dt.timedelta = dt.timedelta(minutes=2)


def find_assignment(desk: Desk, obligation_id: str, period_key: str, body_id: str) -> StatusRow:
    with desk.sessions() as session:
        rows = status_rows(session, obligation_id, period_key)
    row = next((r for r in rows if r.body_id == body_id), None)
    if row is None:
        raise NotFound(
            f"Không có phần việc của '{body_id}' trong kỳ {period_key} của "
            f"nghĩa vụ '{obligation_id}'."
        )
    return row


def _format(kind: FieldType, value: Any) -> str:
    """An answer as a letter writes it: dates 05/01/2026, numbers 1.245 and 12,5."""
    if kind == FieldType.date:
        try:
            return short_date(dt.date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if kind in (FieldType.integer, FieldType.decimal) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return str(value)
        whole = number == number.to_integral_value()
        return format_number(int(number) if whole else float(number))
    return value if isinstance(value, str) else str(value)


def submit(
    desk: Desk,
    assignment: StatusRow,
    data: Mapping[str, Any],
    uploads: Sequence[tuple[str, bytes]],
    *,
    channel: str,
    who: str,
    today: dt.date,
    now: dt.datetime,
    allow_late: bool = False,
) -> RecordedSubmission:
    """Validate, store files, record a new version and queue its receipt; FormErrors if bad.

    Nothing is written unless every field and every file is acceptable. The version and its
    receipt commit in one transaction: a crash can lose neither one without the other.
    """
    obligation = desk.defs.obligations[assignment.obligation_id]
    form = obligation.form
    values = validate_submission(form, data, attachments=len(uploads))
    problems = {}
    checked: list[tuple[bytes, attachments.Inspected]] = []
    for index, (name, content) in enumerate(uploads):
        try:
            found = attachments.inspect(
                content, name, list(form.attachments.types), form.attachments.max_mb
            )
            checked.append((content, found))
        except attachments.FileRefused as refused:
            problems[f"file-{index}"] = str(refused)
    if problems:
        raise FormErrors(problems)
    # Each file was inspected once above; saving does not read its content again.
    stored = [attachments.save(content, found, desk.files_dir) for content, found in checked]
    infos = [AttachmentInfo(s.file_name, s.content_type, s.size, s.sha256) for s in stored]

    def queue_receipt(session: Session, recorded: RecordedSubmission, cycle: CycleOfAnswer) -> None:
        row = receipt_message(desk, assignment, cycle, recorded, values, stored, today, now)
        if row is not None and not coalesce_receipt(session, row, now, desk.receipt_interval):
            ledger_outbox.add(session, [row], domain=desk.mail_domain, now=now)

    with desk.sessions() as session:
        return record_submission(
            session,
            assignment.assignment_id,
            values,
            infos,
            channel,
            who,
            now,
            today,
            allow_late=allow_late,
            then=queue_receipt,
        )


_OUTBOX = OutboxMessage.__table__.c
LAST_RECEIPT_QUERY = (
    select(_OUTBOX.id, _OUTBOX.state, _OUTBOX.claimed_by, _OUTBOX.created_at)
    .where(
        _OUTBOX.cycle_id == bindparam("cycle_id"),
        _OUTBOX.body_id == bindparam("body_id"),
        _OUTBOX.kind == "receipt",
    )
    .order_by(_OUTBOX.id.desc())
    .limit(1)
)


def coalesce_receipt(
    session: Session, row: Mapping[str, Any], now: dt.datetime, interval: dt.timedelta
) -> bool:
    """Fold this receipt into the assignment's last one when that was queued within
    `interval`: a receipt still waiting to be sent is rewritten to describe the newest version;
    one already on its way makes this one unnecessary (the receipt page shows every version).
    True when folded, so that a flood of answers mails the body at most once per interval."""
    last = session.execute(
        LAST_RECEIPT_QUERY, {"cycle_id": row["cycle_id"], "body_id": row["body_id"]}
    ).first()
    if last is None or last.created_at is None or now - aware(last.created_at) >= interval:
        return False
    if last.state == OutboxState.pending.value and last.claimed_by is None:
        session.execute(
            update(OutboxMessage.__table__)
            .where(
                _OUTBOX.id == last.id,
                _OUTBOX.state == OutboxState.pending.value,
                _OUTBOX.claimed_by.is_(None),
            )
            .values(subject=row["subject"], text_body=row["text_body"], html_body=row["html_body"])
        )
    return True


def receipt_message(
    desk: Desk,
    assignment: StatusRow,
    cycle: CycleOfAnswer,
    recorded: RecordedSubmission,
    values: Mapping[str, Any],
    stored: Sequence[attachments.StoredFile],
    today: dt.date,
    now: dt.datetime,
    *,
    missing: Sequence[str] = (),
) -> dict[str, Any] | None:
    """The outbox row of a version's receipt (None when the body left the definitions);
    `missing` lists required fields an emailed answer lacked, with the form to complete it."""
    obligation = desk.defs.obligations[assignment.obligation_id]
    body = desk.defs.bodies.get(assignment.body_id)
    if body is None:
        return None
    fields = {f.id: f for f in obligation.form.fields if f.type != FieldType.file}
    label = period_for_key(
        obligation.schedule, obligation.window, cycle.period_key, on=cycle.period_start
    ).label
    context = ReceiptContext(
        addressee=Addressee(body.name),
        obligation=obligation_ref(desk.defs, obligation, today, label),
        period_label=label,
        due_on=assignment.due_on,
        signature=signature(desk.defs, obligation, today),
        submitted_at=now,
        version=recorded.version,
        on_time=not recorded.late,
        answers=[
            Answer(fields[k].label, _format(fields[k].type, v))
            for k, v in values.items()
            if k in fields
        ],
        attachments=[ReceivedFile(s.file_name, s.size, s.sha256) for s in stored],
        missing=list(missing),
        complete_url=desk.links.form_url(assignment.assignment_id, assignment.closes_on)
        if missing
        else None,
    )
    rendered = desk.renderer.render("receipt", context)
    return {
        "cycle_id": cycle.id,
        "body_id": body.id,
        "kind": "receipt",
        "rung": f"v{recorded.version}",
        "to_addrs": list(body.mailboxes.to),
        "cc_addrs": [],
        "subject": rendered.subject,
        "text_body": rendered.text,
        "html_body": rendered.html,
    }

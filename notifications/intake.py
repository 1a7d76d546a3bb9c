"""A reply is an answer: match an incoming mail to an assignment, check it is consistent, and
record it as a version (channel `email`) with its receipt, threaded; or keep it for triage.

Matching, strongest first: our Message-ID in In-Reply-To/References (deterministic, so it names
one assignment), the reply token in a plus-address, then the token cited in the subject or in the
quoted letter. A mail is recorded only when its sender is a declared mailbox of the body (or its
domain, when the settings allow); anything else waits in triage for an operator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from engine import files as attachment_files
from engine import replies
from engine.definitions.models import FieldType, Form
from engine.forms import FormErrors, clean_value
from engine.ledger import inbox as ledger_inbox
from engine.ledger import outbox as ledger_outbox
from engine.ledger.assignments import (
    AFTER_SUBMISSION,
    AttachmentInfo,
    CycleOfAnswer,
    RecordedSubmission,
    record_submission,
)
from engine.ledger.errors import InvalidInput, InvalidTransition, NotFound
from engine.ledger.queries import StatusRow
from engine.ledger.states import INBOX_LABELS, Channel, InboxState, assignment_label
from engine.ledger.transactions import writing
from notifications.bounces import record_bounce
from notifications.intake_match import Outcome, matched_rows, sender_allowed
from notifications.receipts import Desk, receipt_message

log = logging.getLogger("kehoach.intake")


@dataclass(frozen=True)
class IntakeRules:
    """What the intake trusts: the signing key, whether a body's whole mail domain may answer,
    and the largest mail it parses."""

    secret: str
    trust_domain: bool = False
    max_bytes: int = 30 * 1024 * 1024


def keep_raw(files_dir, raw: bytes) -> str:
    """Store the raw mail by its checksum (triage needs it later); returns the checksum."""
    digest = hashlib.sha256(raw).hexdigest()
    target = attachment_files.path_for(files_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{digest}.{secrets.token_hex(4)}.tmp")
        temporary.write_bytes(raw)
        os.replace(temporary, target)
    return digest


def _values(form: Form, mail: replies.Incoming, files: int) -> tuple[dict, list[str]]:
    """The fields the reply wrote as 'Label: value' lines, cleaned; and the labels of required
    fields it did not give (or gave unreadably): the version is recorded, marked incomplete."""
    given = replies.fields_from_text(form, mail.own_text)
    values, missing = {}, []
    for f in form.fields:
        if f.type == FieldType.file:
            if f.required and files == 0:
                missing.append(f.label)
            continue
        if f.id not in given:
            if f.required:
                missing.append(f.label)
            continue
        value, problem = clean_value(f, given[f.id])
        if problem:
            missing.append(f"{f.label} ({problem})")
        else:
            values[f.id] = value
    return values, missing


@dataclass(frozen=True)
class Prepared:
    """An answer whose files passed the checks and are stored: ready to record."""

    row: StatusRow
    mail: replies.Incoming
    values: dict
    missing: list[str]
    stored: list[attachment_files.StoredFile]


def prepare_reply(desk: Desk, row: StatusRow, mail: replies.Incoming) -> Prepared:
    """Check and store the files, read the fields; FormErrors when a file is refused (the
    caller sends the mail to triage). Each file is inspected once and saved without re-reading."""
    form = desk.defs.obligations[row.obligation_id].form
    rules = form.attachments
    problems = {}
    inspected = []
    for index, (name, content) in enumerate(mail.attachments):
        try:
            found = attachment_files.inspect(content, name, list(rules.types), rules.max_mb)
            inspected.append((content, found))
        except attachment_files.FileRefused as refused:
            problems[f"file-{index}"] = str(refused)
    if len(mail.attachments) > rules.max_files:
        problems[""] = f"tối đa {rules.max_files} tệp đính kèm"
    if problems:
        raise FormErrors(problems)
    values, missing = _values(form, mail, len(mail.attachments))
    stored = [attachment_files.save(content, found, desk.files_dir) for content, found in inspected]
    return Prepared(row, mail, values, missing, stored)


def record_reply(
    desk: Desk,
    row: StatusRow,
    mail: replies.Incoming,
    raw_sha256: str | None,
    *,
    today: dt.date,
    now: dt.datetime,
    settle: tuple[int, str] | None = None,
    relaxed: bool = False,
) -> Outcome:
    """Check the files, record a version with its receipt and the inbox row, all in one commit.

    FormErrors when a file is refused (the caller sends the mail to triage). `settle` =
    (inbox row, operator) records an operator's assignment of a triaged mail instead. `relaxed`:
    the caller makes the commit durable before the mail leaves the mailbox.
    """
    prepared = prepare_reply(desk, row, mail)
    return _record_one(
        desk, prepared, raw_sha256, today=today, now=now, settle=settle, relaxed=relaxed
    )


def _record_one(
    desk: Desk,
    prepared: Prepared,
    raw_sha256: str | None,
    *,
    today: dt.date,
    now: dt.datetime,
    settle: tuple[int, str] | None = None,
    relaxed: bool = False,
) -> Outcome:
    """One prepared answer with its receipt and inbox row, in a commit of its own."""
    with desk.sessions() as session, writing(session, relaxed=relaxed):
        pending = Pending()
        outcome = _record_in(
            session, desk, prepared, raw_sha256, pending, today=today, now=now, settle=settle
        )
        pending.write(session, desk, now)
        return outcome


@dataclass
class Pending:
    """The receipts and inbox rows of recorded answers, inserted together at the end of their
    transaction (one statement each for a whole batch rather than two per answer)."""

    receipts: list[dict] = field(default_factory=list)
    inbox: list[dict] = field(default_factory=list)

    def write(self, session: Session, desk: Desk, now: dt.datetime) -> None:
        """Insert them; AlreadyRecorded (roll back) when a Message-ID is already in the inbox."""
        if self.receipts:
            ledger_outbox.add(session, self.receipts, domain=desk.mail_domain, now=now)
        ledger_inbox.add_all_in(session, self.inbox, now)


def _record_in(
    session: Session,
    desk: Desk,
    prepared: Prepared,
    raw_sha256: str | None,
    pending: Pending,
    *,
    today: dt.date,
    now: dt.datetime,
    settle: tuple[int, str] | None = None,
) -> Outcome:
    """record_reply's writes inside the caller's write transaction; the receipt and the inbox
    row go to `pending`, which the caller writes before the commit."""
    row, mail, values, missing, stored = (
        prepared.row,
        prepared.mail,
        prepared.values,
        prepared.missing,
        prepared.stored,
    )
    infos = [AttachmentInfo(s.file_name, s.content_type, s.size, s.sha256) for s in stored]
    text = mail.own_text

    def then(session: Session, recorded: RecordedSubmission, cycle: CycleOfAnswer) -> None:
        receipt = receipt_message(
            desk, row, cycle, recorded, values, stored, today, now, missing=missing
        )
        if receipt is not None:
            receipt["headers"] = {"In-Reply-To": mail.message_id, "References": mail.message_id}
            pending.receipts.append(receipt)
        state = InboxState.assigned.value if settle else InboxState.recorded.value
        reason = (
            f"Ghi nhận lần gửi thứ {recorded.version}"
            + (" (thiếu: " + "; ".join(missing) + ")" if missing else "")
            + (" sau khi kỳ đã đóng" if recorded.handoff_reopened else "")
            + "."
        )
        if settle:
            ledger_inbox.settle_in(
                session,
                settle[0],
                state=state,
                who=settle[1],
                reason=reason,
                now=now,
                assignment_id=row.assignment_id,
                submission_id=recorded.submission_id,
                missing_fields=missing,
            )
            return
        pending.inbox.append(
            {
                "message_id": mail.message_id,
                "from_addr": mail.from_addr,
                "subject": mail.subject,
                "state": state,
                "reason": reason,
                "assignment_id": row.assignment_id,
                "submission_id": recorded.submission_id,
                "reply_text": text,
                "raw_sha256": raw_sha256,
                "missing_fields": missing,
            }
        )

    recorded = record_submission(
        session,
        row.assignment_id,
        values,
        infos,
        Channel.email.value,
        mail.from_addr or row.body_name,
        now,
        today,
        allow_late=True,
        then=then,
        own_transaction=False,
    )
    if not recorded.created:
        # The very same answer as the latest version (the same mail under a new Message-ID):
        # nothing new to record, but the mail is kept and counted once.
        pending.inbox.append(
            {
                "message_id": mail.message_id,
                "from_addr": mail.from_addr,
                "subject": mail.subject,
                "state": InboxState.recorded.value,
                "reason": f"Trùng nội dung lần gửi thứ {recorded.version}.",
                "assignment_id": row.assignment_id,
                "submission_id": recorded.submission_id,
                "reply_text": text,
                "raw_sha256": raw_sha256,
            }
        )
    return Outcome(
        mail.message_id,
        InboxState.assigned.value if settle else InboxState.recorded.value,
        "" if recorded.created else "trùng nội dung",
        mail.from_addr,
        mail.subject,
        row.body_id,
        recorded.version,
        missing=missing,
    )


def _keep(desk: Desk, mail: replies.Incoming, state: str, reason: str, now, **extra) -> Outcome:
    with desk.sessions() as session:
        added = ledger_inbox.add(
            session,
            {
                "message_id": mail.message_id,
                "from_addr": mail.from_addr,
                "subject": mail.subject,
                "state": state,
                "reason": reason,
                "reply_text": mail.own_text if mail.kind == replies.ANSWER else None,
                **extra,
            },
            now,
        )
    return Outcome(
        mail.message_id, state, reason, mail.from_addr, mail.subject, duplicate=added is None
    )


def headers_only(raw: bytes) -> replies.Incoming:
    """A mail known by its headers only (too big, or unreadable)."""
    message = replies.head(raw)
    return replies.Incoming(
        message_id=replies.message_id_of(message, raw),
        from_addr=str(message.get("From", ""))[:320],
        recipients=[],
        subject=replies.decoded(message.get("Subject")),
        refers_to=[],
        text="",
    )


def too_big(desk: Desk, head: bytes, size: int, rules: IntakeRules, now: dt.datetime) -> Outcome:
    """A mail over the size cap: kept for triage by its headers, never parsed whole."""
    mail = headers_only(head)
    why = (
        f"Thư quá lớn ({size / 1024 / 1024:.1f} MB, giới hạn "
        f"{rules.max_bytes / 1024 / 1024:.0f} MB); không đọc nội dung."
    )
    with desk.sessions() as session:
        if ledger_inbox.is_known(session, mail.message_id):
            return Outcome(mail.message_id, "", "", duplicate=True)
    return _keep(desk, mail, InboxState.triage.value, why, now)


def process(
    desk: Desk,
    raw: bytes,
    rules: IntakeRules,
    *,
    today: dt.date,
    now: dt.datetime,
    known: set[str] | None = None,
) -> Outcome:
    """What one mail becomes; repeating it for the same mail records nothing more. `known`:
    Message-IDs the caller already found in the inbox. A recorded version is committed
    relaxed: call ledger inbox.make_durable before moving it."""
    return process_batch(desk, [raw], rules, today=today, clock=lambda: now, known=known)[0]


def _read(raw: bytes) -> tuple[replies.Incoming, bool]:
    """The parsed mail and True, or its headers and False when its structure is unreadable."""
    try:
        return replies.parse(raw), True
    except Exception as error:  # noqa: BLE001 - one unreadable mail must not block the inbox
        log.warning("unreadable mail kept for triage: %r", error)
        return headers_only(raw), False


def process_batch(
    desk: Desk,
    raws: list[bytes],
    rules: IntakeRules,
    *,
    today: dt.date,
    clock: Callable[[], dt.datetime],
    known: set[str] | None = None,
) -> list[Outcome]:
    """What each mail of a fetched batch becomes, in order. Each mail is parsed once; the
    inbox and the assignments are read with one query each for the batch; the answers to
    record commit together (relaxed: call ledger inbox.make_durable before moving them).
    The batch is received at one instant: `clock` is read once."""
    now = clock()
    mails = [_read(raw) for raw in raws]
    if known is None:
        with desk.sessions() as session:
            known = ledger_inbox.known_ids(session, [mail.message_id for mail, _ in mails])
    known = set(known)
    outcomes: list[Outcome | None] = [None] * len(raws)
    answers = []
    for index, (mail, readable) in enumerate(mails):
        if mail.message_id in known:
            # Recorded by an earlier run, or an earlier copy in this very batch.
            outcomes[index] = Outcome(
                mail.message_id, "", "", mail.from_addr, mail.subject, duplicate=True
            )
        elif readable and mail.kind == replies.ANSWER:
            answers.append(index)
        known.add(mail.message_id)
    matched = {}
    if answers:
        with desk.sessions() as session:
            found = matched_rows(session, [mails[i][0] for i in answers], rules.secret)
        matched = dict(zip(answers, found, strict=True))
    ready: dict[int, Prepared] = {}
    for index, (raw, (mail, readable)) in enumerate(zip(raws, mails, strict=True)):
        if outcomes[index] is not None:
            continue
        if not readable:
            sha = keep_raw(desk.files_dir, raw)
            why = "Không đọc được cấu trúc thư."
            outcomes[index] = _keep(desk, mail, InboxState.triage.value, why, now, raw_sha256=sha)
        elif mail.kind == replies.BOUNCE:
            outcomes[index] = record_bounce(desk, mail, now)
        elif mail.kind == replies.AUTO_REPLY:
            log.info("automatic reply from %s kept, not answered", mail.from_addr)
            why = "Thư trả lời tự động."
            outcomes[index] = _keep(desk, mail, InboxState.auto_reply.value, why, now)
        else:
            decided = _answer(desk, raw, mail, *matched[index], rules, now)
            if isinstance(decided, Prepared):
                ready[index] = decided
            else:
                outcomes[index] = decided
    recorded = _record_all(desk, list(ready.values()), today, now)
    for index, outcome in zip(ready, recorded, strict=True):
        outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def _answer(
    desk: Desk,
    raw: bytes,
    mail: replies.Incoming,
    row: StatusRow | None,
    why: str,
    rules: IntakeRules,
    now: dt.datetime,
) -> Outcome | Prepared:
    """An answer ready to record (files checked and stored), or why it waits in triage."""

    def triage(why: str) -> Outcome:
        # Kept whole: an operator may assign it later, files and all.
        extra = {"raw_sha256": keep_raw(desk.files_dir, raw)}
        if row is not None:
            extra["assignment_id"] = row.assignment_id
        return _keep(desk, mail, InboxState.triage.value, why, now, **extra)

    if row is None:
        return triage(why or "Mã trả lời chỉ tới phần việc không còn trong sổ theo dõi.")
    if not sender_allowed(desk, row.body_id, mail.from_addr, rules.trust_domain):
        return triage(
            f"Người gửi {mail.from_addr or '(không rõ)'} không phải hộp thư đã khai báo của "
            f"{row.body_name}."
        )
    if row.state not in AFTER_SUBMISSION:
        return triage(
            f"Phần việc của {row.body_name} đang ở trạng thái “{assignment_label(row.state)}”; "
            "không tự ghi nhận thêm."
        )
    try:
        return prepare_reply(desk, row, mail)
    except FormErrors as errors:
        return triage("Tệp đính kèm không được nhận: " + "; ".join(errors.errors.values()))


def _record_all(
    desk: Desk, ready: list[Prepared], today: dt.date, now: dt.datetime
) -> list[Outcome]:
    """Record the batch's answers in one relaxed commit. Should any of them fail (a Message-ID
    another intake recorded meanwhile, a changed assignment), the whole commit rolls back and
    each is recorded in its own, so that one bad reply loses none of the others."""
    if not ready:
        return []
    try:
        with desk.sessions() as session, writing(session, relaxed=True):
            pending = Pending()
            outcomes = [
                _record_in(session, desk, prepared, None, pending, today=today, now=now)
                for prepared in ready
            ]
            pending.write(session, desk, now)
            return outcomes
    except Exception as error:  # noqa: BLE001 - retried one by one below, where it surfaces
        log.info("batch of %d replies recorded one by one after %r", len(ready), error)
    outcomes = []
    for prepared in ready:
        try:
            outcomes.append(_record_one(desk, prepared, None, today=today, now=now, relaxed=True))
        except ledger_inbox.AlreadyRecorded:
            mail = prepared.mail
            outcomes.append(
                Outcome(mail.message_id, "", "", mail.from_addr, mail.subject, duplicate=True)
            )
    return outcomes


def assign(
    desk: Desk,
    message: str,
    obligation_id: str,
    period_key: str,
    body_id: str,
    *,
    who: str,
    today: dt.date,
    now: dt.datetime,
) -> Outcome:
    """An operator's decision: record a triaged mail as the answer of this body in this cycle
    (its files pass the same checks); the inbox row records who decided."""
    from notifications.receipts import find_assignment

    with desk.sessions() as session:
        entry = ledger_inbox.get(session, message)
    if entry.state != InboxState.triage.value:
        raise InvalidTransition(
            f"Thư số {entry.id} đang ở trạng thái “{INBOX_LABELS.get(entry.state, entry.state)}”, "
            "không còn chờ phân loại."
        )
    if not entry.raw_sha256:
        raise NotFound(f"Không còn lưu nội dung của thư số {entry.id}.")
    row = find_assignment(desk, obligation_id, period_key, body_id)
    raw = attachment_files.path_for(desk.files_dir, entry.raw_sha256).read_bytes()
    mail = replies.parse(raw)
    try:
        return record_reply(
            desk, row, mail, entry.raw_sha256, today=today, now=now, settle=(entry.id, who)
        )
    except FormErrors as errors:
        raise InvalidInput(
            "Tệp đính kèm không được nhận: " + "; ".join(errors.errors.values())
        ) from errors

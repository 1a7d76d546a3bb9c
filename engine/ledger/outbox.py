"""The outbox: every email is first a row with a unique key, then claimed, sent and marked.

Enqueueing the same key twice inserts nothing the second time. A transient failure puts the row
back to 'pending' with a later next attempt (jittered, bounded back-off, RetryPolicy); the claim
takes only rows that are due. A sender that crashes leaves its rows in 'sending', which another
sender reclaims after a short lease (or at once when the claimer is known dead) and resends with
the same Message-ID, so the recipient's mail client shows one message.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    Update,
    and_,
    bindparam,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.ledger.errors import InvalidInput, NotFound
from engine.ledger.meta import installation_id
from engine.ledger.models import OutboxMessage
from engine.ledger.retry import RetryPolicy
from engine.ledger.states import OutboxState
from engine.ledger.transactions import aware, committing, writing, writing_on

# Rows per INSERT: 14 columns a row keeps this well under SQLite's bound-parameter limit.
ENQUEUE_BATCH = 500
MESSAGE_FIELDS = frozenset(
    {
        "key",
        "message_id",
        "cycle_id",
        "body_id",
        "kind",
        "rung",
        "to_addrs",
        "cc_addrs",
        "subject",
        "text_body",
        "html_body",
        "headers",
    }
)
REQUIRED_FIELDS = frozenset({"body_id", "kind", "to_addrs", "subject", "text_body"})
TABLE = OutboxMessage.__table__
# Messages whose kind starts with this carry files (recorded as archived files of the message, see
# notifications.documents); only a drain that attaches them may claim such rows, so a plain
# drain can never send a document letter without its documents.
DOCUMENT_KIND_PREFIX = "doc-"


def outbox_key(cycle_id: int | None, body_id: str, rung: str | None, kind: str) -> str:
    """The idempotency key of a message: one per (cycle, body, ladder rung, kind)."""
    return f"{'-' if cycle_id is None else cycle_id}:{body_id}:{rung or '-'}:{kind}"


def message_id_for(key: str, domain: str, installation: str = "") -> str:
    """The RFC 5322 Message-ID derived from an outbox key and the ledger's installation id,
    stable across resends and distinct between two ledgers on one mail domain."""
    domain = domain.strip().strip(".")
    if not domain:
        raise InvalidInput("Cần tên miền để tạo Message-ID cho thư.")
    seed = f"{installation}:{key}" if installation else key
    return f"<{hashlib.sha256(seed.encode('utf-8')).hexdigest()[:32]}@kehoach.{domain}>"


@dataclass(frozen=True)
class OutboxItem:
    """A claimed message, detached from any session so a sender can carry it anywhere."""

    id: int
    key: str
    message_id: str
    cycle_id: int | None
    body_id: str
    kind: str
    rung: str | None
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]
    subject: str
    text_body: str
    html_body: str | None
    attempts: int
    claimed_by: str | None
    claimed_at: dt.datetime | None
    headers: dict[str, str] | None = None


def _row(
    message: Mapping[str, Any], domain: str | None, installation: str, now: dt.datetime
) -> dict[str, Any]:
    unknown = set(message) - MESSAGE_FIELDS
    if unknown:
        raise InvalidInput(f"Thư có trường không hợp lệ: {', '.join(sorted(unknown))}.")
    missing = {name for name in REQUIRED_FIELDS if not message.get(name)}
    if missing:
        raise InvalidInput(f"Thư thiếu trường bắt buộc: {', '.join(sorted(missing))}.")
    to_addrs, cc_addrs = message["to_addrs"], message.get("cc_addrs") or []
    for addrs in (to_addrs, cc_addrs):
        if isinstance(addrs, str) or not all(isinstance(a, str) and "@" in a for a in addrs):
            raise InvalidInput(f"Danh sách địa chỉ thư không hợp lệ: {addrs!r}.")
    key = message.get("key") or outbox_key(
        message.get("cycle_id"), message["body_id"], message.get("rung"), message["kind"]
    )
    message_id = message.get("message_id")
    if not message_id:
        if domain is None:
            raise InvalidInput(f"Thư '{key}' chưa có Message-ID và không có tên miền để tạo.")
        message_id = message_id_for(key, domain, installation)
    return {
        "key": key,
        "message_id": message_id,
        "cycle_id": message.get("cycle_id"),
        "body_id": message["body_id"],
        "kind": message["kind"],
        "rung": message.get("rung"),
        "to_addrs": list(to_addrs),
        "cc_addrs": list(cc_addrs),
        "subject": message["subject"],
        "text_body": message["text_body"],
        "html_body": message.get("html_body"),
        "headers": dict(message["headers"]) if message.get("headers") else None,
        "state": OutboxState.pending.value,
        "attempts": 0,
        "created_at": now,
    }


def _insert_ignoring_duplicates(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(TABLE).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(TABLE).on_conflict_do_nothing()
    raise NotImplementedError(f"outbox enqueue has no ON CONFLICT support for {dialect}")


def enqueue(
    session: Session,
    messages: Iterable[Mapping[str, Any]],
    *,
    domain: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Insert messages whose key is new (one statement per batch); returns how many were new.

    A message without 'key' gets outbox_key(cycle_id, body_id, rung, kind); one without
    'message_id' gets message_id_for(key, domain).
    """
    rows = _new_rows(session, messages, domain, now)
    if not rows:
        return 0  # an idle tick takes no write lock
    with writing(session):
        return _insert(session, rows)


def add(
    session: Session,
    messages: Iterable[Mapping[str, Any]],
    *,
    domain: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """enqueue's insert inside the caller's write transaction: the messages are queued exactly
    when whatever else that transaction records commits (a receipt with its submission)."""
    rows = _new_rows(session, messages, domain, now)
    return _insert(session, rows) if rows else 0


def _new_rows(
    session: Session,
    messages: Iterable[Mapping[str, Any]],
    domain: str | None,
    now: dt.datetime | None,
) -> list[dict[str, Any]]:
    now = aware(now)
    rows: dict[str, dict[str, Any]] = {}
    installation: str | None = None
    for message in messages:
        if installation is None:
            installation = installation_id(session) if domain is not None else ""
        row = _row(message, domain, installation, now)
        rows.setdefault(row["key"], row)
    return list(rows.values())


def _insert(session: Session, rows: list[dict[str, Any]]) -> int:
    # executemany of one INSERT: SQLAlchemy sends it as multi-row VALUES statements of
    # ENQUEUE_BATCH rows each ("insertmanyvalues"), compiled once.
    statement = (
        _insert_ignoring_duplicates(session)
        .returning(TABLE.c.id)
        .execution_options(insertmanyvalues_page_size=ENQUEUE_BATCH)
    )
    return len(session.execute(statement, rows).all())


def claim(
    session: Session,
    worker_id: str,
    limit: int,
    now: dt.datetime,
    stale_after: dt.timedelta,
    *,
    documents: bool = False,
) -> list[OutboxItem]:
    """Move up to `limit` sendable rows to 'sending' for this worker and return them.

    Sendable: pending and due (no next attempt, or one not after now), or stuck in 'sending'
    since before now - stale_after (a crashed sender).
    On PostgreSQL rows another worker has locked are skipped; SQLite has one writer at a time.
    Only letters by default; with documents=True only messages of the DOCUMENT_KIND_PREFIX kinds.
    """
    now = aware(now)
    if limit <= 0:
        return []
    parameters = {
        "claim_cutoff": now - stale_after,
        "claim_limit": limit,
        "claim_worker": worker_id,
        "claim_now": now,
        "claim_due": now,
    }
    with writing(session, relaxed=True):
        connection = session.connection()
        statement = _claim_statement(documents, connection.dialect.name == "sqlite")
        rows = connection.execute(statement, parameters).all()
    items = [
        OutboxItem(
            **{**row._asdict(), "to_addrs": tuple(row.to_addrs), "cc_addrs": tuple(row.cc_addrs)}
        )
        for row in rows
    ]
    return sorted(items, key=lambda item: item.id)


@functools.cache
def _claim_statement(documents: bool, sqlite: bool = False) -> Update:
    """The claim UPDATE, built once per kind of drain (it runs once per batch of messages)."""
    cutoff = bindparam("claim_cutoff", type_=TABLE.c.claimed_at.type)
    due = bindparam("claim_due", type_=TABLE.c.next_attempt_at.type)
    limit = bindparam("claim_limit", type_=Integer)
    is_document = TABLE.c.kind.startswith(DOCUMENT_KIND_PREFIX, autoescape=True)
    of_kind = is_document if documents else ~is_document
    pending = TABLE.c.state == OutboxState.pending.value
    stale = and_(TABLE.c.state == OutboxState.sending.value, TABLE.c.claimed_at < cutoff)
    sendable = and_(
        or_(
            and_(pending, or_(TABLE.c.next_attempt_at.is_(None), TABLE.c.next_attempt_at <= due)),
            stale,
        ),
        of_kind,
    )
    if sqlite:
        candidates = _first_sendable_sqlite(
            limit,
            and_(pending, TABLE.c.next_attempt_at.is_(None), of_kind),
            and_(pending, TABLE.c.next_attempt_at <= due, of_kind),
            and_(stale, of_kind),
        )
    else:
        # A materialised CTE runs exactly once. As a plain IN (subquery), PostgreSQL may rescan
        # the subquery per row, and SKIP LOCKED then skips the rows this statement just updated
        # and hands out more than `limit` rows.
        candidates = (
            select(TABLE.c.id)
            .where(sendable)
            .order_by(TABLE.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("candidates")
            .prefix_with("MATERIALIZED")
        )
    columns = [TABLE.c[name] for name in OutboxItem.__dataclass_fields__]
    # PostgreSQL checks again that a locked row is still sendable. On SQLite the candidates were
    # chosen by this statement under the write lock; checking again there would make SQLite
    # look the rows up through the state indexes (every pending row) rather than by id.
    return (
        update(TABLE)
        .where(TABLE.c.id.in_(select(candidates.c.id)), *([] if sqlite else [sendable]))
        .values(
            state=OutboxState.sending.value,
            claimed_by=bindparam("claim_worker", type_=TABLE.c.claimed_by.type),
            claimed_at=bindparam("claim_now", type_=TABLE.c.claimed_at.type),
        )
        .returning(*columns)
    )


def _first_sendable_sqlite(limit: BindParameter, *kinds_of_sendable: ColumnElement) -> CTE:
    """The first `limit` ids of the union of each kind of sendable row, for SQLite.

    SQLite cannot walk an index for an OR of conditions in id order: it collected every
    pending row and sorted them for each claim of 20, so draining n letters cost O(n²) (8 ms a
    claim at 10,000 pending). Each part alone (never tried, back-off due, stale claim) walks
    an index in id order and stops after `limit` rows; the union of at most 3 × limit rows is
    then sorted. SQLite has one writer at a time: no row locks to take.
    """
    parts = [
        select(TABLE.c.id).where(condition).order_by(TABLE.c.id).limit(limit).subquery()
        for condition in kinds_of_sendable
    ]
    union = union_all(*(select(part.c.id) for part in parts)).order_by("id").limit(limit)
    return union.cte("candidates").prefix_with("MATERIALIZED")


def mark_sent(
    session: Session,
    ids: Sequence[int],
    now: dt.datetime,
    outcomes: Mapping[str, str] | None = None,
) -> int:
    """Mark claimed rows as sent (with what the server said of each recipient); returns how
    many were still 'sending' and are now 'sent'."""
    now = aware(now)
    if not ids:
        return 0
    with writing(session, relaxed=True):
        # A drain marks each message on its own the moment the server took it: the statement
        # is built once and run on the connection, its cost is a fraction of one SMTP exchange.
        # One id is compared with '=': an expanding IN is rewritten for every execution.
        ids = list(ids)
        single = len(ids) == 1
        result = session.connection().execute(
            _mark_sent_statement(single),
            {
                "mark_ids": ids[0] if single else ids,
                "mark_now": now,
                "mark_outcomes": dict(outcomes) if outcomes else None,
            },
        )
        return result.rowcount


def mark_one_sent(
    connection: Connection,
    outbox_id: int,
    now: dt.datetime,
    outcomes: Mapping[str, str] | None = None,
) -> int:
    """mark_sent of one row in its own committed transaction on a plain Core connection with
    no transaction open (raises if one is). A drain marks each message the moment the server
    took it; through a session, its begin and commit bookkeeping cost more than the UPDATE and
    the commit together. Returns 1 if the row was still 'sending', else 0."""
    parameters = {
        "mark_ids": outbox_id,
        "mark_now": aware(now),
        "mark_outcomes": dict(outcomes) if outcomes else None,
    }
    with writing_on(connection, relaxed=True):
        return connection.execute(_mark_sent_statement(True), parameters).rowcount


@functools.cache
def _mark_sent_statement(single: bool) -> Update:
    if single:
        chosen = TABLE.c.id == bindparam("mark_ids", type_=Integer)
    else:
        chosen = TABLE.c.id.in_(bindparam("mark_ids", expanding=True))
    return (
        update(TABLE)
        .where(chosen, TABLE.c.state == OutboxState.sending.value)
        .values(
            state=OutboxState.sent.value,
            sent_at=bindparam("mark_now", type_=TABLE.c.sent_at.type),
            last_error=None,
            next_attempt_at=None,
            deferred_since=None,
            recipient_outcomes=bindparam("mark_outcomes", type_=TABLE.c.recipient_outcomes.type),
        )
    )


def mark_failed(
    session: Session,
    outbox_id: int,
    error: str,
    retry: bool,
    *,
    now: dt.datetime | None = None,
    policy: RetryPolicy | None = None,
    outcomes: Mapping[str, str] | None = None,
    max_attempts: int | None = None,
) -> str:
    """Count a failed attempt. Retryable: back to 'pending' with its next attempt pushed back,
    unless the policy's give-up time (or max_attempts) has passed: then 'failed'.

    Returns the row's state afterwards; a row no longer 'sending' is left as it is.
    """
    now = aware(now)
    policy = policy or RetryPolicy()
    with writing(session):
        row = session.execute(
            select(TABLE.c.state, TABLE.c.attempts, TABLE.c.deferred_since).where(
                TABLE.c.id == outbox_id
            )
        ).one_or_none()
        if row is None:
            raise NotFound(f"Không tìm thấy thư số {outbox_id} trong hàng đợi.")
        if row.state != OutboxState.sending.value:
            return row.state
        attempts = row.attempts + 1
        since = row.deferred_since or now
        values: dict[str, Any] = {
            "attempts": attempts,
            "claimed_by": None,
            "claimed_at": None,
            "recipient_outcomes": dict(outcomes) if outcomes else None,
        }
        out_of_time = now - since >= policy.give_up_after
        out_of_attempts = max_attempts is not None and attempts >= max_attempts
        if retry and not (out_of_time or out_of_attempts):
            values |= {
                "state": OutboxState.pending.value,
                "next_attempt_at": now + policy.delay(attempts),
                "deferred_since": since,
                "last_error": error[:4000],
            }
        else:
            if retry and out_of_time:
                error = f"given up after {_hours(now - since)} of failed attempts: {error}"
            elif retry:
                error = f"given up after {attempts} attempts: {error}"
            values |= {
                "state": OutboxState.failed.value,
                "next_attempt_at": None,
                "last_error": error[:4000],
            }
        session.execute(
            update(TABLE)
            .where(TABLE.c.id == outbox_id, TABLE.c.state == OutboxState.sending.value)
            .values(**values)
        )
        return values["state"]


def _hours(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{span.total_seconds():.0f} s"


def outbox_counts(session: Session, cycle_id: int | None = None) -> dict[str, int]:
    """How many messages are in each state (all of them, or one cycle's)."""
    query = select(TABLE.c.state, func.count()).group_by(TABLE.c.state)
    if cycle_id is not None:
        query = query.where(TABLE.c.cycle_id == cycle_id)
    with committing(session):
        counts = {state: count for state, count in session.execute(query).all()}
    return {state.value: counts.get(state.value, 0) for state in OutboxState}


# Claims beyond claim() live in engine.ledger.claims; kept importable from here.
from engine.ledger.claims import claimers, release, renew  # noqa: E402, F401

"""The outbox: idempotent enqueue, claims, stale reclaim, retries, concurrent senders."""

from __future__ import annotations

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from engine.ledger import (
    AddressFailure,
    InvalidInput,
    NotFound,
    OutboxMessage,
    claim,
    enqueue,
    mark_failed,
    mark_sent,
    message_id_for,
    outbox_counts,
    outbox_key,
)
from engine.ledger.addresses import (
    clear_address_failures,
    failing_addresses,
    mark_address_failing,
)
from engine.ledger.meta import installation_id
from engine.ledger.outbox import RetryPolicy, claimers, mark_one_sent, release

from .conftest import NOW, count_statements

STALE = dt.timedelta(minutes=10)
DOMAIN = "tuyenquang.example"


def messages(count: int, *, cycle_id: int | None = None, rung: str = "r1") -> list[dict]:
    return [
        {
            "cycle_id": cycle_id,
            "body_id": f"body-{i:04d}",
            "kind": "reminder",
            "rung": rung,
            "to_addrs": [f"van-thu@body-{i}.tuyenquang.example"],
            "cc_addrs": [],
            "subject": "Nhắc nộp báo cáo quý I/2026",
            "text_body": "Kính gửi Quý cơ quan, …",
            "html_body": "<p>Kính gửi Quý cơ quan, …</p>",
        }
        for i in range(count)
    ]


def _states(session) -> dict[str, int]:
    return {k: v for k, v in outbox_counts(session).items() if v}


def test_message_ids_are_derived_from_the_key():
    key = outbox_key(7, "so-tu-phap", "nhac-lan-1", "reminder")
    assert key == "7:so-tu-phap:nhac-lan-1:reminder"
    assert outbox_key(None, "so-tu-phap", None, "receipt") == "-:so-tu-phap:-:receipt"
    first = message_id_for(key, DOMAIN)
    assert re.fullmatch(r"<[0-9a-f]{32}@kehoach\.tuyenquang\.example>", first)
    assert message_id_for(key, DOMAIN) == first
    assert message_id_for(key + "x", DOMAIN) != first
    with pytest.raises(InvalidInput, match="tên miền"):
        message_id_for(key, " ")


def test_enqueueing_twice_stores_each_message_once(session):
    assert enqueue(session, messages(5), domain=DOMAIN, now=NOW) == 5
    assert enqueue(session, messages(5), domain=DOMAIN, now=NOW) == 0
    assert enqueue(session, messages(7), domain=DOMAIN, now=NOW) == 2
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(rows) == 7
    first = rows[0]
    assert first.key == "-:body-0000:r1:reminder"
    assert first.message_id == message_id_for(first.key, DOMAIN, installation_id(session))
    assert (first.state, first.attempts, first.to_addrs, first.cc_addrs) == (
        "pending",
        0,
        ["van-thu@body-0.tuyenquang.example"],
        [],
    )
    assert first.created_at == NOW


def test_enqueue_sends_one_insert_per_batch(engine, session):
    with count_statements(engine) as statements:
        assert enqueue(session, messages(300), domain=DOMAIN, now=NOW) == 300
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "ON CONFLICT DO NOTHING" in inserts[0].upper()
    with count_statements(engine) as statements:
        assert enqueue(session, messages(1200), domain=DOMAIN, now=NOW) == 900
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT")]) == 3


def test_duplicate_keys_within_one_call_are_stored_once(session):
    assert enqueue(session, messages(2) + messages(2), domain=DOMAIN, now=NOW) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"priority": "high"}, "trường không hợp lệ: priority"),
        ({"subject": ""}, "thiếu trường bắt buộc: subject"),
        ({"to_addrs": "a@b.example"}, "Danh sách địa chỉ thư không hợp lệ"),
        ({"cc_addrs": ["khong-phai-dia-chi"]}, "Danh sách địa chỉ thư không hợp lệ"),
    ],
)
def test_malformed_messages_are_refused(session, change, message):
    bad = {**messages(1)[0], **change}
    with pytest.raises(InvalidInput, match=message):
        enqueue(session, messages(2) + [bad], domain=DOMAIN, now=NOW)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_message_id_needs_a_domain_or_an_explicit_value(session):
    with pytest.raises(InvalidInput, match="chưa có Message-ID"):
        enqueue(session, messages(1), now=NOW)
    explicit = {**messages(1)[0], "message_id": "<given@kehoach.example>"}
    assert enqueue(session, [explicit], now=NOW) == 1


def test_claim_mark_sent(session):
    enqueue(session, messages(5), domain=DOMAIN, now=NOW)
    first = claim(session, "worker-a", 3, NOW, STALE)
    assert [m.body_id for m in first] == ["body-0000", "body-0001", "body-0002"]
    assert {(m.claimed_by, m.claimed_at) for m in first} == {("worker-a", NOW)}
    assert first[0].to_addrs == ("van-thu@body-0.tuyenquang.example",)
    rest = claim(session, "worker-b", 10, NOW, STALE)
    assert [m.body_id for m in rest] == ["body-0003", "body-0004"]
    assert claim(session, "worker-c", 10, NOW, STALE) == []
    assert _states(session) == {"sending": 5}

    sent_at = NOW + dt.timedelta(seconds=5)
    assert mark_sent(session, [m.id for m in first], sent_at) == 3
    assert mark_sent(session, [m.id for m in first], sent_at) == 0
    assert _states(session) == {"sending": 2, "sent": 3}
    row = session.get(OutboxMessage, first[0].id, populate_existing=True)
    assert (row.state, row.sent_at) == ("sent", sent_at)


def test_rows_of_a_crashed_sender_are_reclaimed_with_the_same_message_id(session):
    enqueue(session, messages(2), domain=DOMAIN, now=NOW)
    crashed = claim(session, "worker-a", 10, NOW, STALE)
    assert claim(session, "worker-b", 10, NOW + STALE - dt.timedelta(seconds=1), STALE) == []
    later = NOW + STALE + dt.timedelta(seconds=1)
    reclaimed = claim(session, "worker-b", 10, later, STALE)
    assert [m.message_id for m in reclaimed] == [m.message_id for m in crashed]
    assert {(m.claimed_by, m.claimed_at) for m in reclaimed} == {("worker-b", later)}
    assert mark_sent(session, [m.id for m in reclaimed], later) == 2
    assert claim(session, "worker-c", 10, later + STALE * 10, STALE) == []


def test_a_claim_takes_the_oldest_sendable_rows_of_every_kind_in_id_order(session):
    letters = messages(6)
    letters.insert(1, {**letters[0], "body_id": "body-doc", "kind": "doc-report"})
    enqueue(session, letters, domain=DOMAIN, now=NOW)
    crashed = claim(session, "host:1:gone", 2, NOW, STALE)  # ids 1 and 3: stale later
    (deferred,) = claim(session, "w", 1, NOW, STALE)
    policy = RetryPolicy(first=dt.timedelta(minutes=1), jitter=0)
    assert mark_failed(session, deferred.id, "421 later", True, now=NOW, policy=policy) == (
        "pending"
    )
    # Before the lease runs out and the back-off is due: only never-tried letters.
    early = claim(session, "w", 10, NOW + dt.timedelta(seconds=30), STALE)
    assert [m.body_id for m in early] == ["body-0003", "body-0004", "body-0005"]
    release(session, ["w"])
    later = NOW + STALE + dt.timedelta(seconds=1)
    first = claim(session, "w", 4, later, STALE)
    # Stale claims, the letter whose back-off is due and fresh ones, oldest first; never the
    # document letter, which a plain drain may not send.
    assert [m.id for m in first] == sorted(m.id for m in first)
    assert [m.body_id for m in first] == ["body-0000", "body-0001", "body-0002", "body-0003"]
    assert [m.message_id for m in first[:2]] == [m.message_id for m in crashed]
    assert [m.body_id for m in claim(session, "w", 10, later, STALE)] == ["body-0004", "body-0005"]
    assert [m.kind for m in claim(session, "w", 10, later, STALE, documents=True)] == ["doc-report"]


def test_failures_retry_then_give_up(session):
    enqueue(session, messages(2), domain=DOMAIN, now=NOW)
    flaky, broken = claim(session, "w", 10, NOW, STALE)
    assert mark_failed(session, broken.id, "550 mailbox unavailable", retry=False) == "failed"
    for attempt in range(1, 3):
        assert mark_failed(
            session, flaky.id, f"timeout {attempt}", True, now=NOW, max_attempts=3
        ) == ("pending")
        (again,) = claim(session, "w", 10, NOW + dt.timedelta(days=1), STALE)
        assert (again.id, again.attempts) == (flaky.id, attempt)
    assert mark_failed(session, flaky.id, "timeout 3", True, now=NOW, max_attempts=3) == "failed"
    row = session.get(OutboxMessage, flaky.id, populate_existing=True)
    assert (row.state, row.attempts, row.last_error, row.claimed_by) == (
        "failed",
        3,
        "given up after 3 attempts: timeout 3",
        None,
    )
    assert claim(session, "w", 10, NOW + STALE * 2, STALE) == []
    # A row that is no longer being sent is left alone.
    assert mark_failed(session, flaky.id, "late report", True) == "failed"
    with pytest.raises(NotFound, match="thư số 999999"):
        mark_failed(session, 999_999, "x", True)


def test_transient_failures_back_off_and_give_up_only_after_the_declared_time(session):
    policy = RetryPolicy(
        first=dt.timedelta(minutes=5),
        ceiling=dt.timedelta(hours=4),
        give_up_after=dt.timedelta(days=3),
        jitter=0.2,
    )
    enqueue(session, messages(1), domain=DOMAIN, now=NOW)
    now, waits = NOW, []
    while True:
        (item,) = claim(session, "w", 10, now, STALE)
        state = mark_failed(session, item.id, "421 try later", True, now=now, policy=policy)
        if state == "failed":
            break
        row = session.get(OutboxMessage, item.id, populate_existing=True)
        assert row.deferred_since == NOW and row.state == "pending"
        waits.append(row.next_attempt_at - now)
        # Not due a second before its next attempt: a drain in between takes nothing.
        assert claim(session, "w", 10, row.next_attempt_at - dt.timedelta(seconds=1), STALE) == []
        now = row.next_attempt_at
    assert waits[0] >= dt.timedelta(minutes=4) and waits[0] <= dt.timedelta(minutes=6)
    assert all(w <= dt.timedelta(hours=4) for w in waits)
    assert max(waits) >= dt.timedelta(hours=3)  # minutes to hours
    assert now - NOW >= dt.timedelta(days=3)  # not given up before the declared time
    assert now - NOW < dt.timedelta(days=3, hours=5)
    assert 15 < len(waits) < 40  # a few dozen attempts over three days, not one per drain
    row = session.get(OutboxMessage, item.id, populate_existing=True)
    assert re.match(r"given up after 7\d h of failed attempts: 421", row.last_error)
    assert row.next_attempt_at is None


def test_jitter_spreads_letters_deferred_together():
    policy = RetryPolicy()
    delays = {policy.delay(1) for _ in range(50)}
    assert len(delays) > 40
    assert all(dt.timedelta(minutes=4) <= d <= dt.timedelta(minutes=6) for d in delays)
    assert policy.delay(30) == policy.ceiling or policy.delay(30) <= policy.ceiling


def test_recipient_outcomes_are_recorded(session):
    enqueue(session, messages(2), domain=DOMAIN, now=NOW)
    good, bad = claim(session, "w", 10, NOW, STALE)
    mark_sent(session, [good.id], NOW, {"van-thu@body-0.tuyenquang.example": "accepted"})
    refusal = {"van-thu@body-1.tuyenquang.example": "550 5.1.1 User unknown"}
    mark_failed(session, bad.id, "all refused", False, now=NOW, outcomes=refusal)
    rows = {r.id: r for r in session.scalars(select(OutboxMessage)).all()}
    assert rows[good.id].recipient_outcomes == {"van-thu@body-0.tuyenquang.example": "accepted"}
    assert rows[bad.id].recipient_outcomes == refusal and rows[bad.id].state == "failed"


def test_one_message_is_marked_sent_on_a_plain_connection(engine, session):
    enqueue(session, messages(2), domain=DOMAIN, now=NOW)
    first, second = claim(session, "w", 10, NOW, STALE)
    sent_at = NOW + dt.timedelta(seconds=5)
    accepted = {"van-thu@body-0.tuyenquang.example": "accepted"}
    with engine.connect() as connection:
        assert mark_one_sent(connection, first.id, sent_at, accepted) == 1
        # Committed at once: another session sees it, and a second mark finds nothing to do.
        assert mark_one_sent(connection, first.id, sent_at, accepted) == 0
        assert _states(session) == {"sending": 1, "sent": 1}
        connection.execute(text("SELECT 1"))  # a transaction left open is refused, not joined
        with pytest.raises(Exception, match="already"):
            mark_one_sent(connection, second.id, sent_at)
    row = session.get(OutboxMessage, first.id, populate_existing=True)
    assert (row.state, row.sent_at, row.recipient_outcomes) == ("sent", sent_at, accepted)


def test_release_returns_unsent_claims_at_once(session):
    enqueue(session, messages(3), domain=DOMAIN, now=NOW)
    claim(session, "host:1:dead", 2, NOW, STALE)
    claim(session, "host:2:alive", 1, NOW, STALE)
    assert sorted(claimers(session)) == ["host:1:dead", "host:2:alive"]
    assert release(session, ["host:1:dead"]) == 2
    # Back at once, not after the lease; the other sender's claim is untouched.
    again = claim(session, "w", 10, NOW, STALE)
    assert len(again) == 2 and sorted(claimers(session)) == ["host:2:alive", "w"]


def test_failing_addresses_are_marked_counted_and_cleared(session):
    mark_address_failing(session, "so-noi-vu", "Cu@Example.org", "550 unknown", "smtp", now=NOW)
    later = NOW + dt.timedelta(hours=1)
    mark_address_failing(session, "so-noi-vu", "cu@example.org", "550 gone", "dsn", now=later)
    mark_address_failing(session, "so-tu-phap", "x@example.org", "550 unknown", "smtp", now=NOW)
    [first, second] = failing_addresses(session)
    assert (first.body_id, first.address, first.times, first.source) == (
        "so-noi-vu",
        "cu@example.org",
        2,
        "dsn",
    )
    assert (first.first_seen_at, first.last_seen_at, first.reason) == (NOW, later, "550 gone")
    assert [f.body_id for f in failing_addresses(session, "so-tu-phap")] == ["so-tu-phap"]
    assert clear_address_failures(session, "so-noi-vu", ["CU@example.org"]) == 1
    assert session.scalar(select(func.count()).select_from(AddressFailure)) == 1
    assert second.address == "x@example.org"


def test_two_fresh_ledgers_never_share_a_message_id(tmp_path):
    from engine.ledger import make_engine, session_factory, upgrade

    ids = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        upgrade(url)
        engine = make_engine(url)
        with session_factory(engine)() as session:
            enqueue(session, messages(50), domain=DOMAIN, now=NOW)
            ids.append(set(session.scalars(select(OutboxMessage.message_id))))
        engine.dispose()
    assert len(ids[0]) == len(ids[1]) == 50
    assert not ids[0] & ids[1]


def _drain(sessions, worker: str, start: threading.Barrier) -> list[int]:
    got: list[int] = []
    with sessions() as session:
        start.wait()
        while batch := claim(session, worker, 7, NOW, STALE):
            got.extend(m.id for m in batch)
            mark_sent(session, [m.id for m in batch], NOW)
    return got


def test_concurrent_senders_never_share_a_row(sessions, session):
    enqueue(session, messages(200), domain=DOMAIN, now=NOW)
    start = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda w: _drain(sessions, w, start), ["worker-a", "worker-b"])
    assert not set(a) & set(b)
    assert len(a) + len(b) == 200 and len(set(a) | set(b)) == 200
    assert _states(session) == {"sent": 200}


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_claim_skips_rows_locked_by_another_sender(engine, sessions):
    with sessions() as session:
        enqueue(session, messages(20), domain=DOMAIN, now=NOW)
        all_ids = session.scalars(select(OutboxMessage.id)).all()

    def _claim():
        with sessions() as session:
            return claim(session, "worker-b", 20, NOW, STALE)

    with engine.connect() as other, ThreadPoolExecutor(1) as pool:
        other.begin()
        locked = (
            other.execute(text("SELECT id FROM outbox ORDER BY id LIMIT 10 FOR UPDATE"))
            .scalars()
            .all()
        )
        future = pool.submit(_claim)
        try:
            claimed = future.result(timeout=10)  # would block here without SKIP LOCKED
        finally:
            other.rollback()
    assert len(locked) == 10
    assert [m.id for m in claimed] == sorted(set(all_ids) - set(locked))

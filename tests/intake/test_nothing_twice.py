"""Nothing lost, nothing twice: `kehoach intake` killed with SIGKILL mid-batch and run again, and
two intakes reading the same mailbox at once on PostgreSQL, each record every reply once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifications.mailsink import list_messages
from tests.intake.conftest import reply, with_pdf

REPO = Path(__file__).resolve().parents[2]
SENDERS = {
    "so-tu-phap": "van-thu@stp.tuyenquang.example",
    "so-noi-vu": "van-thu@snv.tuyenquang.example",
    "ubnd-son-duong": "van-thu@sonduong.tuyenquang.example",
}


def _fill(world, n: int) -> None:
    letters = {body: world.request_to(address) for body, address in SENDERS.items()}
    bodies = list(SENDERS)
    for i in range(n):
        body = bodies[i % len(bodies)]
        world.append(
            reply(
                letters[body],
                sender=SENDERS[body],
                text=f"Số tin bài đã đăng: {i}",
                files=with_pdf(str(i)),
            )
        )


def _intake() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "intake", "--as-of", "2026-03-10"],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _counts() -> tuple[int, int, int]:
    """(inbox rows, versions, receipts queued)."""
    from engine.ledger.models import InboxMessage, OutboxMessage, Submission
    from tasks import runtime

    with runtime.sessions()() as session:
        return (
            session.scalar(select(func.count()).select_from(InboxMessage)),
            session.scalar(select(func.count()).select_from(Submission)),
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "receipt")
            ),
        )


def _everything_once(world, n: int) -> None:
    assert _counts() == (n, n, n)
    assert {e.state for e in world.inbox()} == {"recorded"}
    versions = {body: version for body, (_, version) in world.status().items()}
    assert sum(versions.values()) == n
    assert world.folder("INBOX") == []
    assert len(world.folder("kehoach-da-xu-ly")) == n
    delivered = Counter(m.message_id for m in list_messages(world.sink.mail_dir))
    assert max(delivered.values()) == 1
    assert len(world.receipts()) == n


def test_intake_killed_mid_batch_then_rerun_records_each_reply_once(world):
    # Several fetched batches (50 mails each): a batch commits as a whole, so the kill lands
    # after one batch's commit, perhaps before its move, while a later batch is under way.
    n = 120
    _fill(world, n)
    process = _intake()
    deadline = time.monotonic() + 120
    while _counts()[0] < 3:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    recorded_at_kill = _counts()[0]
    assert 3 <= recorded_at_kill < n
    # The killed run moved only mails whose outcome it had committed, and sent nothing.
    still_in = world.folder("INBOX")
    moved_at_kill = n - len(still_in)
    assert moved_at_kill <= recorded_at_kill
    assert len(world.folder("kehoach-da-xu-ly")) == moved_at_kill
    assert world.receipts() == []

    rerun = _intake()
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    # Recorded but not yet moved when killed: the rerun only moves them.
    if recorded_at_kill > moved_at_kill:
        assert f"{recorded_at_kill - moved_at_kill} đã xử lý trước đó" in out
    else:
        assert "đã xử lý trước đó" not in out
    _everything_once(world, n)


def test_two_intakes_at_once_on_postgresql_record_each_reply_once(world):
    if not world.ledger_url.startswith("postgresql"):
        pytest.skip("concurrent intakes are a PostgreSQL deployment (SQLite has one writer)")
    n = 30
    _fill(world, n)
    first, second = _intake(), _intake()
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    _everything_once(world, n)


def test_a_batch_that_fails_is_recorded_one_by_one_and_loses_no_reply(world):
    """One mail of a batch collides in the inbox (recorded meanwhile, as by another intake):
    the batch's commit rolls back, and each answer is then recorded alone."""
    import datetime as dt

    from notifications.intake import IntakeRules, process_batch
    from tasks import runtime

    letters = {body: world.request_to(address) for body, address in SENDERS.items()}
    mails = [
        reply(letters[body], sender=address, text=f"Số tin bài đã đăng: {n}", files=with_pdf())
        for n, (body, address) in enumerate(SENDERS.items())
    ]
    desk = runtime.desk()
    rules = IntakeRules(secret=desk.links.secret)
    now = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
    (first,) = process_batch(desk, mails[1:2], rules, today=now.date(), clock=lambda: now)
    assert first.state == "recorded" and not first.duplicate
    # `known` left empty: the batch does not see that the second mail is already recorded.
    outcomes = process_batch(desk, mails, rules, today=now.date(), clock=lambda: now, known=set())
    assert [(o.state, o.duplicate) for o in outcomes] == [
        ("recorded", False),
        ("", True),
        ("recorded", False),
    ]
    assert _counts() == (3, 3, 3)
    assert {body: version for body, (_, version) in world.status().items()} == dict.fromkeys(
        SENDERS, 1
    )

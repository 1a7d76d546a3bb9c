"""Nothing sent twice, nothing lost: the outbox against a real SMTP server that fails midway,
and a sending process killed with SIGKILL in the middle of a drain."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from engine.ledger import outbox as ledger_outbox
from engine.ledger.db import make_engine, session_factory
from notifications.mailsink import MailSinkHandler, list_messages, running_sink
from notifications.sender import Sender, SmtpSettings
from tasks.steps import drain_outbox

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 4, 1, 0, tzinfo=dt.UTC)


def enqueue(url: str, n: int) -> list[str]:
    rows = [
        {
            "key": f"test:{i}",
            "body_id": f"body-{i}",
            "kind": "request",
            "to_addrs": [f"van-thu@body{i}.tuyenquang.example"],
            "cc_addrs": [],
            "subject": f"[Yêu cầu] Báo cáo số {i} — hạn ngày 18 tháng 3 năm 2026",
            "text_body": "Kính gửi: …",
            "html_body": "<p>Kính gửi: …</p>",
        }
        for i in range(n)
    ]
    with session_factory(make_engine(url))() as session:
        ledger_outbox.enqueue(session, rows, domain="tuyenquang.example", now=NOW)
        return [r.message_id for r in ledger_outbox_rows(session)]


def ledger_outbox_rows(session) -> list:
    from sqlalchemy import select

    from engine.ledger.models import OutboxMessage

    return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def states(url: str) -> Counter:
    with session_factory(make_engine(url))() as session:
        return Counter(r.state for r in ledger_outbox_rows(session))


def delivered_ids(mail_dir: Path) -> Counter:
    return Counter(m.message_id for m in list_messages(mail_dir))


class StopsAfter(MailSinkHandler):
    """Accepts `k` messages, then the server goes away (the controller is stopped)."""

    def __init__(self, mail_dir: Path, k: int) -> None:
        super().__init__(mail_dir)
        self.k, self.count, self.reached = k, 0, threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.count >= self.k:
            self.reached.set()
            return "421 4.3.2 Service shutting down"
        self.count += 1
        return await super().handle_DATA(server, session, envelope)


def test_smtp_stopped_after_k_of_n(ledger_url: str, tmp_path: Path) -> None:
    n, k = 30, 11
    ids = enqueue(ledger_url, n)
    sessions = session_factory(make_engine(ledger_url))
    handler = StopsAfter(tmp_path / "mail", k)
    with running_sink(tmp_path / "mail", handler=handler) as sink:
        sender = Sender(SmtpSettings(smtp_port=sink.port), retries=1, backoff=0.01)
        report = drain_outbox(sessions, sender, batch_size=10, stale_after=dt.timedelta(0))
        port = sink.port
    assert report.sent == k
    assert states(ledger_url) == Counter({"sent": k, "pending": n - k})
    assert sum(delivered_ids(tmp_path / "mail").values()) == k

    # The server is down: a drain now sends nothing and marks nothing.
    down = Sender(SmtpSettings(smtp_port=port), retries=1, backoff=0.01)
    assert drain_outbox(sessions, down, batch_size=10).sent == 0
    assert states(ledger_url)["sent"] == k

    # Rows wait for their next attempt (minutes later), then all go out.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with running_sink(tmp_path / "mail") as sink:
        sender = Sender(SmtpSettings(smtp_port=sink.port), retries=1, backoff=0.01)
        drain_outbox(sessions, sender, batch_size=10, clock=lambda: later)
    delivered = delivered_ids(tmp_path / "mail")
    assert sorted(delivered) == sorted(ids) and set(delivered.values()) == {1}
    assert states(ledger_url) == Counter({"sent": n})


class Slow(MailSinkHandler):
    async def handle_DATA(self, server, session, envelope) -> str:
        import asyncio

        await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


DRAIN_SCRIPT = """
import datetime as dt, sys
from engine.ledger.db import make_engine, session_factory
from notifications.sender import Sender, SmtpSettings
from tasks.steps import drain_outbox
url, port = sys.argv[1], int(sys.argv[2])
# The default small claims and lease: the rerun must not wait for the killed sender's lease.
report = drain_outbox(session_factory(make_engine(url)), Sender(SmtpSettings(smtp_port=port)))
print("sent", report.sent)
"""


def test_sender_killed_mid_drain(ledger_url: str, tmp_path: Path) -> None:
    n = 60
    ids = enqueue(ledger_url, n)
    mail = tmp_path / "mail"
    with running_sink(mail, handler=Slow(mail)) as sink:
        command = [sys.executable, "-c", DRAIN_SCRIPT, ledger_url, str(sink.port)]
        first = subprocess.Popen(command, cwd=REPO)
        deadline = time.monotonic() + 60
        while sum(delivered_ids(mail).values()) < 15 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        before = sum(delivered_ids(mail).values())
        assert 15 <= before < n, "the kill must land mid-drain"
        started = time.monotonic()
        rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        # Everything left goes out at once: nothing waits for the dead sender's lease.
        assert time.monotonic() - started < 60
    delivered = delivered_ids(mail)
    assert sorted(delivered) == sorted(ids)  # nothing lost
    twice = [message_id for message_id, count in delivered.items() if count > 1]
    assert len(twice) <= 1  # at most the one in flight, under the same Message-ID
    assert states(ledger_url) == Counter({"sent": n})

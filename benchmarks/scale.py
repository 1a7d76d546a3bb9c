"""Shared set-up for the scale benchmarks: definitions with N bodies, a ledger whose cycle has
N open assignments with their requests already sent, and a loopback SMTP server that counts.

The obligation is a quarterly report (Q1 2026): requests on Wednesday 04/03/2026, one reminder
three working days before the due date, on Friday 13/03/2026 (not the first working day of a
week, so no weekly digest), due Wednesday 18/03/2026.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
OBLIGATION = "bao-cao-quy"
REQUEST_DAY = dt.date(2026, 3, 4)
REMINDER_DAY = dt.date(2026, 3, 13)
IDLE_DAY = dt.date(2026, 3, 5)
MAIL_FROM = "kehoach@tuyenquang.example"

PLAN = """plan:
  id: ke-hoach-do-tai
  number: 01/KH-UBND
  date: 2025-01-02
  issuer: ubnd-tinh
  place: Tuyên Quang
  title: Kế hoạch đo tải
  clauses:
    - id: IV
      title: Chế độ báo cáo
      requires_obligation: true
"""
LEAD = """roles:
  - id: lead
    name: Cơ quan chủ trì
    holders:
      - body: so-vhttdl
"""
OBLIGATION_YAML = """  - id: {id}
    title: Báo cáo quý về truyền thông chính sách
    letter: {{name: Báo cáo về truyền thông chính sách}}
    description: Báo cáo quý; hạn 3 ngày làm việc sau khi chốt số liệu.
    clauses: [IV]
    responsible: {{groups: [{id}]}}
    recipient: {{role: lead}}
    schedule: {{every: quarterly}}
    request: {{before_due: {{working_days: 10}}}}
    due: {{rule: after-period-end, offset: {{working_days: 3}}}}
    grace: {{working_days: 5}}
    ladder:
      - {{id: nhac-truoc, kind: reminder, offset: {{working_days: -3}}}}
    form:
      fields:
        - {{id: so_tin_bai, label: Số tin bài đã đăng, type: integer, required: true, min: 0}}
        - {{id: ket_qua, label: Kết quả đạt được, type: long-text, required: true}}
"""


def write_definitions(target: Path, owed_by: dict[str, int]) -> Path:
    """One quarterly report per entry of `owed_by` (obligation id → number of bodies), each
    owed by its own group of bodies, every body with its own mailbox."""
    (target / "obligations").mkdir(parents=True, exist_ok=True)
    (target / "plan.yaml").write_text(PLAN, encoding="utf-8")
    groups = ["groups:"] + [f"  - {{id: {g}, name: Nhóm {g}}}" for g in owed_by]
    (target / "groups.yaml").write_text("\n".join(groups) + "\n" + LEAD, encoding="utf-8")
    obligations = "obligations:\n" + "".join(OBLIGATION_YAML.format(id=o) for o in owed_by)
    (target / "obligations" / "bao-cao.yaml").write_text(obligations, encoding="utf-8")
    lines = [
        "bodies:",
        "  - {id: ubnd-tinh, name: Ủy ban nhân dân tỉnh, short_name: UBND tỉnh, kind: ubnd-tinh,"
        " mailboxes: {to: [van-thu@ubnd.tuyenquang.example]}}",
        "  - {id: so-vhttdl, name: 'Sở Văn hóa, Thể thao và Du lịch', short_name: Sở VHTTDL,"
        " kind: so, mailboxes: {to: [van-thu@svhttdl.tuyenquang.example]}}",
    ]
    for group, count in owed_by.items():
        lines += [
            f"  - {{id: {group}-{i}, name: Cơ quan báo cáo số {i} ({group}), short_name: CQ {i},"
            f" kind: so, groups: [{group}], mailboxes: {{to: [van-thu@{group}-{i}.tuyenquang"
            f".example], head: [thu-truong@{group}-{i}.tuyenquang.example]}}}}"
            for i in range(count)
        ]
    (target / "bodies.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def environment(work: Path, definitions: Path, smtp_port: int) -> dict[str, str]:
    return {
        "KEHOACH_DATABASE_URL": f"sqlite:///{work / 'ledger.db'}",
        "KEHOACH_VAR_DIR": str(work / "var"),
        "KEHOACH_SECRET_KEY": "benchmark-secret-key-of-at-least-32-bytes",
        "KEHOACH_MAIL_FROM": MAIL_FROM,
        "KEHOACH_DEFINITIONS": str(definitions),
        "KEHOACH_SMTP_HOST": "127.0.0.1",
        "KEHOACH_SMTP_PORT": str(smtp_port),
    }


def requests_already_sent(day: dt.date = REQUEST_DAY) -> int:
    """Open every obligation's cycle and queue its requests through the live steps, then mark
    them sent as a drain would have; returns the number of open assignments."""
    from sqlalchemy import update

    from engine.ledger.db import upgrade
    from engine.ledger.models import OutboxMessage
    from tasks import runtime, steps

    upgrade(runtime.settings().ledger_url)
    env = runtime.tick_env(day)
    outcome = steps.TickOutcome()
    for obligation in env.defs.obligations.values():
        steps.open_due_cycles(env, obligation, outcome)
        steps.enqueue_and_close(env, obligation, outcome)
    with env.sessions() as session, session.begin():
        session.execute(update(OutboxMessage).values(state="sent"))
    return outcome.enqueued


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SINK = """
import sys
from aiosmtpd.controller import Controller
from email.parser import BytesHeaderParser

class Counting:
    # Accepts every message, remembers its Message-ID, stores nothing: the benchmark times
    # the sender, not a disk.
    def __init__(self):
        self.ids = []
    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content)
        self.ids.append(str(headers.get("Message-ID", "")))
        return "250 2.0.0 accepted"

handler = Counting()
controller = Controller(handler, hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "count":
        print(len(handler.ids), len(set(handler.ids)), flush=True)
controller.stop()
"""


class CountingSink:
    """An aiosmtpd server in its own process (so it does not share the client's interpreter
    lock) that accepts and counts messages and their distinct Message-IDs."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise RuntimeError("the benchmark's SMTP sink did not start")

    def counts(self) -> tuple[int, int]:
        """(messages received, distinct Message-IDs)."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("count\n")
        self._process.stdin.flush()
        received, distinct = self._process.stdout.readline().split()
        return int(received), int(distinct)

    def __enter__(self) -> CountingSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=30)


def apply_environment(values: dict[str, str]) -> None:
    os.environ.update(values)
    from tasks import runtime

    runtime.reset()

"""Benchmark: reply intake of 1,000 replies, each with a 100 KB PDF, from a real IMAP server.

Real path: `tasks.intake_steps.read_mailbox` (what `kehoach intake` and the intake flow run)
against Debian's Dovecot on loopback, on a SQLite ledger with 1,000 open assignments whose
requests were sent: fetch in batches, parse, match by In-Reply-To, check the sender, check and
store the PDF, record each version with its receipt and inbox row (a fetched batch's answers in
one commit), move each batch to the processed folder.

Baseline, in the same run: imap-tools fetching and parsing the same 1,000 messages (bulk fetch,
its MailMessage parse, the text and the attachments' bytes), no ledger, no moves; run before the
real path on the inbox and after it on the processed folder, averaged.
Target: real ≤ 1.5 × baseline.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from scale import (  # noqa: E402 - the benchmarks directory is not a package
    OBLIGATION,
    RESULTS,
    apply_environment,
    environment,
    free_port,
    requests_already_sent,
    write_definitions,
)

REPLIES = int(os.environ.get("KEHOACH_BENCH_REPLIES", "1000"))
PDF_BYTES = 100 * 1024
TARGET_RATIO = 1.5
INTAKE_MAILBOX = "nop@tuyenquang.example"


def replies(count: int) -> list[bytes]:
    """One reply per body to its request: threaded, plus-addressed, a distinct 100 KB PDF."""
    from sqlalchemy import select

    from engine.ledger.models import Assignment, OutboxMessage
    from tasks import runtime

    links = runtime.links()
    with runtime.sessions()() as session:
        rows = session.execute(
            select(OutboxMessage.message_id, OutboxMessage.to_addrs, Assignment.id)
            .join(
                Assignment,
                (Assignment.cycle_id == OutboxMessage.cycle_id)
                & (Assignment.body_id == OutboxMessage.body_id),
            )
            .where(OutboxMessage.kind == "request")
            .order_by(Assignment.id)
            .limit(count)
        ).all()
    mails = []
    for n, (message_id, to_addrs, assignment_id) in enumerate(rows):
        message = EmailMessage()
        sender = to_addrs[0]
        message["From"] = f"Văn thư <{sender}>"
        message["To"] = links.reply_invite(assignment_id).address
        message["Subject"] = "Re: [Đề nghị] Báo cáo quý về truyền thông chính sách"
        message["Date"] = "Tue, 10 Mar 2026 09:00:00 +0700"
        message["Message-ID"] = make_msgid(domain=sender.split("@")[1])
        message["In-Reply-To"] = message_id
        message["References"] = message_id
        message.set_content(
            f"Kính gửi Sở.\nSố tin bài đã đăng: {n}\nKết quả đạt được: Hoàn thành.\n\n"
            "Vào Th 2, 9 thg 3, 2026 lúc 08:00 Hệ thống <kehoach@tuyenquang.example> đã viết:\n"
            "> Kính gửi: Cơ quan báo cáo\n> Đề nghị Quý cơ quan báo cáo.\n"
        )
        pdf = b"%PDF-1.4\n" + os.urandom(PDF_BYTES - 20) + b"\n%%EOF\n"
        message.add_attachment(
            pdf, maintype="application", subtype="pdf", filename=f"bao-cao-{n}.pdf"
        )
        mails.append(message.as_bytes())
    return mails


def baseline(server, folder: str) -> tuple[float, int]:
    """imap-tools alone: fetch and parse every message of the folder, touch text and files."""
    from imap_tools import MailBoxUnencrypted

    start = time.perf_counter()
    count = 0
    with MailBoxUnencrypted(server.host, server.port).login(
        server.user, server.password, initial_folder=folder
    ) as box:
        for message in box.fetch(mark_seen=False, bulk=50):
            assert message.text and sum(len(a.payload) for a in message.attachments) > 0
            count += 1
    return time.perf_counter() - start, count


def main() -> dict:
    from imap_tools import MailBoxUnencrypted

    from tests.intake.dovecot import running_dovecot

    with tempfile.TemporaryDirectory() as tmp, running_dovecot() as server:
        work = Path(tmp)
        definitions = write_definitions(work / "defs", {OBLIGATION: REPLIES})
        values = environment(work, definitions, free_port())
        values.update(server.env())
        values["KEHOACH_REPLY_TO"] = INTAKE_MAILBOX
        apply_environment(values)
        requests_already_sent()
        mails = replies(REPLIES)
        with MailBoxUnencrypted(server.host, server.port).login(
            server.user, server.password
        ) as box:
            for raw in mails:
                box.append(raw, "INBOX")

        from engine.calendar import today_in_vietnam  # noqa: F401 - warm the import
        from tasks import runtime
        from tasks.intake_steps import open_mailbox, read_mailbox, rules_from

        before_s, before_n = baseline(server, "INBOX")
        desk = runtime.desk()
        settings = runtime.settings()
        start = time.perf_counter()
        source = open_mailbox(settings)
        report = read_mailbox(
            desk, source, rules_from(settings, desk.links.secret), today=dt.date(2026, 3, 10)
        )
        source.close()
        real_s = time.perf_counter() - start
        after_s, after_n = baseline(server, "kehoach-da-xu-ly")
    base_s = (before_s + after_s) / 2
    counts = dict(report.counts())
    ratio = real_s / base_s
    recorded_all = counts == {"recorded": REPLIES} and before_n == after_n == REPLIES
    result = {
        "benchmark": "reply-intake",
        "replies": REPLIES,
        "pdf_kb": PDF_BYTES // 1024,
        "real_s": round(real_s, 2),
        "baseline_s": round(base_s, 2),
        "baseline_runs_s": [round(before_s, 2), round(after_s, 2)],
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "outcomes": counts,
        "per_reply_ms": {
            "real": round(real_s / REPLIES * 1000, 2),
            "baseline": round(base_s / REPLIES * 1000, 2),
        },
        "met": ratio <= TARGET_RATIO and recorded_all,
        "figure": f"{real_s:.1f} s for {REPLIES} replies with a {PDF_BYTES // 1024} KB PDF",
        "baseline": f"{base_s:.1f} s (imap-tools fetch + parse)",
        "target": f"≤ {TARGET_RATIO}× baseline",
    }
    print(
        f"reply intake: {REPLIES} replies in {real_s:.1f} s ({real_s / REPLIES * 1000:.1f} ms "
        f"each); baseline {base_s:.1f} s; ratio {ratio:.2f} (target ≤ {TARGET_RATIO}); {counts}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=1, ensure_ascii=False))

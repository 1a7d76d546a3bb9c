"""Letters with files: the plain drain never takes them, the document drain sends them with their
files attached, and a letter whose files are gone is failed rather than sent bare."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.ledger import make_engine, outbox_counts, session_factory
from notifications.documents import drain_documents, queue_documents
from notifications.mailsink import list_messages, running_sink
from notifications.sender import Sender, SmtpSettings
from tasks.steps import drain_outbox

NOW = dt.datetime(2026, 12, 22, 2, 0, tzinfo=dt.UTC)


def letter(key: str) -> dict:
    return {
        "key": key,
        "body_id": "ubnd-tinh",
        "kind": "doc-report",
        "to_addrs": ["van-thu@ubnd.tuyenquang.example"],
        "cc_addrs": [],
        "subject": "Báo cáo kết quả công tác truyền thông chính sách năm 2026",
        "text_body": "Kính gửi: Ủy ban nhân dân tỉnh",
        "html_body": "<p>Kính gửi: Ủy ban nhân dân tỉnh</p>",
    }


def test_document_letters_go_with_their_files(ledger_url: str, tmp_path: Path) -> None:
    sessions = session_factory(make_engine(ledger_url))
    report = tmp_path / "bao-cao.docx"
    report.write_bytes(b"PK\x03\x04 not really a docx, but bytes to attach")
    gone = tmp_path / "tam-thoi.xlsx"
    gone.write_bytes(b"PK\x03\x04 removed before sending")
    assert queue_documents(sessions, [letter("a")], [report], domain="tq.example", now=NOW) == 1
    assert queue_documents(sessions, [letter("a")], [report], domain="tq.example", now=NOW) == 0
    queue_documents(sessions, [letter("b")], [gone], domain="tq.example", now=NOW)
    gone.unlink()
    with running_sink(tmp_path / "mail") as sink:
        sender = Sender(SmtpSettings(smtp_port=sink.port), retries=0)
        assert drain_outbox(sessions, sender).sent == 0  # not a plain letter's drain's business
        result = drain_documents(sessions, sender)
    assert result.sent == 1
    (message,) = list_messages(tmp_path / "mail")
    raw = (tmp_path / "mail").glob("*.eml")
    assert any(b'filename="bao-cao.docx"' in p.read_bytes() for p in raw)
    assert message.subject.startswith("Báo cáo kết quả")
    with sessions() as session:
        assert {k: v for k, v in outbox_counts(session).items() if v} == {"sent": 1, "failed": 1}

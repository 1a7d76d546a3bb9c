"""The embedded default on one machine: the mail sink delivers replies for the intake mailbox into
a local Maildir, and the `intake` Prefect flow (real test server) records them, names its run,
publishes a table artifact and sends the receipt."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import smtplib
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from notifications.mailsink import running_sink
from tests.intake.conftest import DEFS, INTAKE_MAILBOX, REQUEST_DAY, reply, tick, with_pdf

STP = "van-thu@stp.tuyenquang.example"


@pytest.fixture
def one_machine(kehoach_env, monkeypatch, tmp_path, ledger_url):
    if not ledger_url.startswith("sqlite"):
        pytest.skip("the embedded default runs on SQLite")
    maildir = tmp_path / "maildir"
    monkeypatch.setenv("KEHOACH_REPLY_TO", INTAKE_MAILBOX)
    monkeypatch.setenv("KEHOACH_MAILDIR", str(maildir))
    for name in ("KEHOACH_IMAP_HOST", "KEHOACH_IMAP_USER", "KEHOACH_IMAP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with running_sink(tmp_path / "mail", intake=(INTAKE_MAILBOX, maildir)) as sink:
        monkeypatch.setenv("KEHOACH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("KEHOACH_SMTP_PORT", str(sink.port))
        kehoach_env(DEFS)
        tick(REQUEST_DAY)
        yield sink, maildir


def _letters(mail_dir: Path):
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(mail_dir.glob("*.eml"))
    ]


def test_reply_through_the_sink_is_recorded_by_the_intake_flow(one_machine, prefect_server):
    from prefect.client.orchestration import get_client

    from flows.intake import intake
    from tests.collect.test_collect_year import run_artifact

    sink, maildir = one_machine
    letter = next(m for m in _letters(sink.mail_dir) if STP in str(m["To"]))
    # Our own letters are not for the intake mailbox: the Maildir is still empty.
    assert not (maildir / "new").exists() or not any((maildir / "new").iterdir())
    raw = reply(letter, sender=STP, text="Số tin bài đã đăng: 6", files=with_pdf())
    with smtplib.SMTP("127.0.0.1", sink.port) as client:
        client.sendmail(STP, [str(letter["Reply-To"])], raw)
    assert len(list((maildir / "new").iterdir())) == 1

    state = intake(as_of=dt.date(2026, 3, 10), return_state=True)

    assert state.is_completed(), state.message
    result = state.result()
    assert result["counts"] == {"recorded": 1} and result["sent"] == 1
    assert list((maildir / "new").iterdir()) == []
    assert len(list((maildir / ".processed" / "cur").iterdir())) == 1
    run_id = state.state_details.flow_run_id

    async def name() -> str:
        async with get_client() as client:
            return (await client.read_flow_run(run_id)).name

    assert asyncio.run(name()).startswith("intake · ")
    artifact = run_artifact("thu-den", run_id)
    [row] = json.loads(artifact.data)
    assert row["Kết quả"] == "ghi nhận báo cáo" and row["Cơ quan"] == "so-tu-phap"
    assert artifact.description == "Đã đọc 1 thư: 1 ghi nhận báo cáo."
    receipts = [m for m in _letters(sink.mail_dir) if m["In-Reply-To"] and m["Auto-Submitted"]]
    assert len(receipts) == 1 and STP in str(receipts[0]["To"])

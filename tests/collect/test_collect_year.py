"""A year of daily collect runs against a real Prefect test server and a real SMTP sink."""

from __future__ import annotations

import asyncio
import datetime as dt
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.collect.helpers import delivered, outbox_rows

DEFS = Path(__file__).parent / "fixtures" / "defs"
OBLIGATION = "quarterly-report"
pytestmark = pytest.mark.slow


def register_downstream() -> None:
    """The hand-off target: a deployment named as the engine names it, `collect/<obligation>`."""
    from flows.collect import collect

    deployment = collect.to_deployment(name="yearly-summary", parameters={})
    deployment.apply()


def downstream_runs() -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    async def read() -> list:
        async with get_client() as client:
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=["yearly-summary"])
                )
            )

    return asyncio.run(read())


def run_artifact(key: str, flow_run_id):
    """The artifact `key` written by one flow run (the Prefect server is shared by tests)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    async def read():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[key]),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                )
            )
            return found[0] if found else None

    return asyncio.run(read())


def submit(body: str, period: str, day: dt.date) -> None:
    from notifications.receipts import find_assignment
    from notifications.receipts import submit as record
    from tasks import runtime

    desk = runtime.desk()
    assignment = find_assignment(desk, OBLIGATION, period, body)
    record(
        desk,
        assignment,
        {"so_tin_bai": 12, "ket_qua": "Đã đăng 12 tin bài."},
        [],
        channel="portal",
        who=body,
        today=day,
        now=dt.datetime.combine(day, dt.time(3, 0), tzinfo=dt.UTC),
    )


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_year_of_daily_ticks(prefect_server, mail_sink, kehoach_env) -> None:
    from flows.collect import collect

    kehoach_env(DEFS)
    register_downstream()
    first_seen: dict[int, dt.date] = {}
    day = dt.date(2026, 1, 1)
    while day <= dt.date(2026, 12, 31):
        if day == dt.date(2026, 3, 10):
            submit("so-noi-vu", "2026-Q1", day)  # before the first reminder of Q1
        if day == dt.date(2026, 6, 19):
            submit("so-tu-phap", "2026-Q2", day)  # overdue, before the escalation
        collect(obligation=OBLIGATION, as_of=day)
        for row in outbox_rows():
            first_seen.setdefault(row["id"], day)
        day += dt.timedelta(days=1)

    rows = outbox_rows()
    for row in rows:
        row["sent_on"] = first_seen[row["id"]]
    assert all(r["state"] == "sent" for r in rows)
    mails = delivered(mail_sink.mail_dir)
    # Exactly what the outbox holds arrived, each once, under its own Message-ID.
    assert sorted(m["Message-ID"] for m in mails) == sorted(r["message_id"] for r in rows)

    def sent(period: str, body: str) -> list[tuple[str, dt.date]]:
        return [
            (r["kind"], r["sent_on"])
            for r in rows
            if r["period"] == period and r["body_id"] == body
        ]

    # Q1 2026 by hand: window 15/12/2025–14/03/2026 (Sat); due 3 working days later = Wed 18/03;
    # request 10 working days before = 04/03; reminder −2 wd = 16/03; overdue +1 wd = 19/03;
    # escalation +3 wd = Mon 23/03; grace 5 wd → closes after 25/03.
    assert sent("2026-Q1", "so-tu-phap") == [
        ("request", dt.date(2026, 3, 4)),
        ("reminder", dt.date(2026, 3, 16)),
        ("due-today", dt.date(2026, 3, 18)),
        ("overdue", dt.date(2026, 3, 19)),
        ("escalation", dt.date(2026, 3, 23)),
    ]
    # The body that answered early got a receipt and nothing more.
    assert [k for k, _ in sent("2026-Q1", "so-noi-vu")] == ["request", "receipt"]
    # Overdue, then answered: no escalation.
    assert [k for k, _ in sent("2026-Q2", "so-tu-phap")] == [
        "request",
        "reminder",
        "due-today",
        "overdue",
        "receipt",
    ]
    # Every quarter closed with one summary to the lead body, and handed off exactly once.
    summaries = [r for r in rows if r["kind"] == "closed-summary"]
    assert [r["period"] for r in summaries] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert all(r["to"] == ["van-thu@svhttdl.tuyenquang.example"] for r in summaries)
    assert len(downstream_runs()) == 4

    # Addresses: the ladder writes to the body's mailbox; the escalation to its head, with cc.
    escalation = next(r for r in rows if r["kind"] == "escalation" and r["body_id"] == "so-tu-phap")
    assert escalation["to"] == ["giam-doc@stp.tuyenquang.example"]
    assert escalation["cc"] == ["van-thu@stp.tuyenquang.example", "phap-che@stp.tuyenquang.example"]
    reminder = next(r for r in rows if r["kind"] == "reminder" and r["body_id"] == "so-tu-phap")
    assert reminder["to"] == ["van-thu@stp.tuyenquang.example"] and reminder["cc"] == []
    on_wire = next(m for m in mails if m["Message-ID"] == escalation["message_id"])
    assert on_wire["To"] == "giam-doc@stp.tuyenquang.example"
    assert "phap-che@stp.tuyenquang.example" in on_wire["Cc"]

    # Re-running the last days changes nothing: no mail, no second hand-off.
    for back in (dt.date(2026, 3, 26), dt.date(2026, 12, 31)):
        collect(obligation=OBLIGATION, as_of=back)
    assert len(outbox_rows()) == len(rows)
    assert len(delivered(mail_sink.mail_dir)) == len(mails)
    assert len(downstream_runs()) == 4


def test_every_message_is_clean_mime(prefect_server, mail_sink, kehoach_env) -> None:
    """Valid MIME, UTF-8 subject with diacritics, text and HTML, no template leftovers."""
    from flows.collect import collect

    kehoach_env(DEFS)
    for day in (
        dt.date(2026, 3, 4),
        dt.date(2026, 3, 16),
        dt.date(2026, 3, 23),
        dt.date(2026, 3, 26),
    ):
        state = collect(obligation=OBLIGATION, as_of=day, return_state=True)
    files = sorted(Path(mail_sink.mail_dir).glob("*.eml"))
    assert len(files) >= 10
    status = run_artifact("quarterly-report-2026-q1", state.state_details.flow_run_id)
    assert status is not None
    # The cycle closed that day: its last snapshot lists the three bodies that never answered.
    owing = [line for line in status.data.splitlines() if "không nộp (kỳ đã đóng)" in line]
    assert {line.split("|")[1].strip() for line in owing} == {
        "Sở Tư pháp",
        "Sở Nội vụ",
        "Ủy ban nhân dân huyện Sơn Dương",
    }
    ids = set()
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message.defects == []
        ids.add(message["Message-ID"])
        subject = str(message["Subject"])
        assert "ngày" in subject and ("quý" in subject or "Tổng hợp tuần" in subject)
        parts = {
            p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()
        }
        assert set(parts) >= {"text/plain", "text/html"}
        for body in (subject, *parts.values()):
            assert "{{" not in body and "{%" not in body and "None" not in body
    assert len(ids) == len(files)

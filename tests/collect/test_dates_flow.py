"""Dates on real collect runs (real Prefect test server, real SMTP sink, SQLite and PostgreSQL):
a late start never sends a past deadline, ticks twice or back in time send nothing stale or
repeated, make-up Saturdays are worked and days off are not (issue 12.2–12.3, issue 11.7)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from engine.settings import REPO_ROOT
from engine.vndates import long_date
from tests.collect.helpers import delivered

SHIPPED = REPO_ROOT / "definitions"
BRIEFING = "press-briefing"
pytestmark = pytest.mark.slow


def letters() -> list[dict]:
    from engine.ledger.models import Cycle, OutboxMessage
    from tasks import runtime

    with runtime.sessions()() as session:
        rows = session.execute(
            select(OutboxMessage, Cycle.period_key)
            .join(Cycle, Cycle.id == OutboxMessage.cycle_id)
            .where(Cycle.obligation_id == BRIEFING)
            .order_by(OutboxMessage.id)
        ).all()
        return [
            {"id": m.id, "kind": m.kind, "rung": m.rung, "period": p, "text": m.text_body}
            for m, p in rows
        ]


def cycle(period: str):
    from engine.ledger.cycles import get_cycle
    from tasks import runtime

    with runtime.sessions()() as session:
        found = get_cycle(session, BRIEFING, period)
        session.expunge_all()
        return found


def tick_days(first: dt.date, last: dt.date, sent_on: dict[int, dt.date]) -> None:
    from flows.collect import collect

    day = first
    while day <= last:
        collect(obligation=BRIEFING, as_of=day)
        for row in letters():
            sent_on.setdefault(row["id"], day)
        day += dt.timedelta(days=1)


def hom_nay_only_on_the_send_day(rows: list[dict], sent_on: dict[int, dt.date]) -> None:
    for row in rows:
        for named in re.findall(r"hôm nay, [^,]+, (ngày \d+ tháng \d+ năm \d+)", row["text"]):
            assert named == long_date(sent_on[row["id"]]), (row["kind"], named)


def test_a_late_start_asks_with_a_deadline_ahead_once_and_never_goes_back(
    prefect_server, mail_sink, kehoach_env
) -> None:
    from flows.collect import collect

    kehoach_env(SHIPPED)
    first = dt.date(2026, 11, 25)  # the stack starts late: November's rule deadline was 23/11
    sent_on: dict[int, dt.date] = {}
    tick_days(first, first, sent_on)
    november = cycle("2026-11")
    assert november.rule_due_on == dt.date(2026, 11, 23)
    # late_start: 3 working days from the opening (24/11, Culture Day, is off): still November.
    assert november.due_on == dt.date(2026, 11, 30)
    assert "đã qua (23/11/2026)" in november.due_note
    [request] = letters()
    assert request["kind"] == "request"
    assert "ngày 30 tháng 11 năm 2026" in request["text"]
    assert "Thời hạn được xác định lại vì kỳ này được mở muộn" in request["text"]
    assert "hạn theo quy định (ngày 23 tháng 11 năm 2026) đã qua" in request["text"]

    # A second tick the same day sends nothing (no reminder or "due today" on the request day).
    again = collect(obligation=BRIEFING, as_of=first)
    assert again["enqueued"] == 0 and len(letters()) == 1

    tick_days(first + dt.timedelta(days=1), dt.date(2026, 12, 9), sent_on)
    rows = [r for r in letters() if r["period"] == "2026-11"]
    kinds = [(r["kind"], sent_on[r["id"]]) for r in rows]
    # The ladder follows the new deadline; nothing ever names 23/11 as "today".
    # (the reminder's date, 25/11, is the request's day: not sent.)
    assert kinds == [
        ("request", first),
        ("due-today", dt.date(2026, 11, 30)),
        ("overdue", dt.date(2026, 12, 2)),
        ("escalation", dt.date(2026, 12, 7)),
    ], kinds
    hom_nay_only_on_the_send_day(rows, sent_on)
    assert all("23 tháng 11" not in r["text"] for r in rows[1:])

    # `kehoach status` shows the new deadline and why.
    from typer.testing import CliRunner

    from cli.main import app

    shown = CliRunner().invoke(app, ["status", "--obligation", BRIEFING, "--period", "2026-11"])
    assert shown.exit_code == 0, shown.output
    assert "Hạn mới của press-briefing · 2026-11: Kỳ được mở muộn ngày 25/11/2026" in shown.output
    # `kehoach explain` adds what the ledger recorded to the rule's computation.
    told = CliRunner().invoke(app, ["explain", BRIEFING, "2026-11"])
    assert told.exit_code == 0, told.output
    assert "Sổ theo dõi: kỳ đã mở ngày 25 tháng 11 năm 2026" in told.output
    assert "(hạn theo quy tắc: ngày 23 tháng 11 năm 2026)" in told.output

    # Back in time (a restored backup, a wrong --as-of): refused, nothing sent.
    count, mails = len(letters()), len(delivered(mail_sink.mail_dir))
    back = collect(obligation=BRIEFING, as_of=dt.date(2026, 12, 1))
    assert back["back_in_time"] is True and "09/12/2026" in back["stopped"]
    assert back["enqueued"] == 0 and len(letters()) == count
    # Forced, it runs, and still sends nothing softer than what each body already received.
    forced = collect(obligation=BRIEFING, as_of=dt.date(2026, 12, 1), force_date=True)
    assert "stopped" not in forced and len(letters()) == count
    assert len(delivered(mail_sink.mail_dir)) == mails


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_august_2026_letters_go_out_on_their_own_days_saturday_included(
    prefect_server, mail_sink, kehoach_env
) -> None:
    from flows.collect import collect

    kehoach_env(SHIPPED)
    sent_on: dict[int, dt.date] = {}
    tick_days(dt.date(2026, 8, 12), dt.date(2026, 9, 5), sent_on)
    rows = [r for r in letters() if r["period"] == "2026-08"]
    assert [(r["kind"], sent_on[r["id"]]) for r in rows] == [
        ("request", dt.date(2026, 8, 12)),
        ("reminder", dt.date(2026, 8, 19)),
        ("due-today", dt.date(2026, 8, 22)),  # Saturday 22/08/2026, a make-up working day
        ("overdue", dt.date(2026, 8, 25)),
        ("escalation", dt.date(2026, 8, 28)),
    ]
    hom_nay_only_on_the_send_day(rows, sent_on)
    assert "hôm nay, Thứ Bảy, ngày 22 tháng 8 năm 2026" in rows[2]["text"]
    # A day off: the run returns at once and says why.
    sunday = collect(obligation=BRIEFING, as_of=dt.date(2026, 8, 30))
    assert sunday["back_in_time"] is False and "ngày nghỉ" in sunday["stopped"]
    holiday = collect(obligation=BRIEFING, as_of=dt.date(2026, 8, 31))
    assert "Quốc khánh" in holiday["stopped"]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_kehoach_tick_back_in_time_warns_in_vietnamese_and_exits_non_zero(
    prefect_server, mail_sink, ledger_url, tmp_path
) -> None:
    import subprocess
    import sys

    from tests.collect.test_tick_cli import tick_env

    env = tick_env(ledger_url, mail_sink.port, tmp_path)

    def tick(day: str, *extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "cli.main", "tick", "--as-of", day]
        command += ["--obligation", "quarterly-report", *extra]
        return subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
        )

    assert tick("2026-03-18").returncode == 0
    sent = len(list(mail_sink.mail_dir.glob("*.eml")))
    back = tick("2026-03-11")
    assert back.returncode == 1, back.stderr
    assert "không chạy cho ngày 11/03/2026 vì đã chạy đến ngày 18/03/2026" in back.stderr
    assert "--force-date" in back.stderr and "Traceback" not in back.stderr
    forced = tick("2026-03-11", "--force-date")
    assert forced.returncode == 0, forced.stderr
    assert len(list(mail_sink.mail_dir.glob("*.eml"))) == sent  # nothing stale went out

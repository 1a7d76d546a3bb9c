"""`kehoach tick` as operators and schedulers run it: separate processes, real Prefect server,
real SMTP sink, SQLite and PostgreSQL ledgers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from notifications.mailsink import list_messages

REPO = Path(__file__).resolve().parents[2]
DEFS = Path(__file__).parent / "fixtures" / "defs"


def tick_env(ledger_url: str, sink_port: int, tmp_path: Path) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env.update(
        {
            "PREFECT_API_URL": PREFECT_API_URL.value(),
            "KEHOACH_DATABASE_URL": ledger_url,
            "KEHOACH_DEFINITIONS": str(DEFS),
            "KEHOACH_VAR_DIR": str(tmp_path / "var"),
            "KEHOACH_SECRET_KEY": "k" * 32,
            "KEHOACH_SMTP_PORT": str(sink_port),
            "KEHOACH_MAIL_FROM": "kehoach@tuyenquang.example",
        }
    )
    return env


def tick(env: dict[str, str], day: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "tick",
            "--as-of",
            day,
            "--obligation",
            "quarterly-report",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return out


def test_tick_twice_for_the_same_date_sends_nothing_more(
    prefect_server, mail_sink, ledger_url, tmp_path
) -> None:
    env = tick_env(ledger_url, mail_sink.port, tmp_path)
    first = finish(tick(env, "2026-03-04"))
    assert "xếp 3 thư" in first  # three requests
    assert len(list_messages(mail_sink.mail_dir)) == 3
    second = finish(tick(env, "2026-03-04"))
    assert "xếp 0 thư" in second
    assert len(list_messages(mail_sink.mail_dir)) == 3


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_two_ticks_at_once_on_postgresql_send_each_message_once(
    prefect_server, mail_sink, ledger_url, tmp_path
) -> None:
    env = tick_env(ledger_url, mail_sink.port, tmp_path)
    # Two days' work at once from two processes: the request day, then (each twice) a day
    # with a reminder due, so both processes race to open, enqueue and drain the same rows.
    for day in ("2026-03-04", "2026-03-16", "2026-03-23"):
        racers = [tick(env, day), tick(env, day)]
        for racer in racers:
            finish(racer)
    messages = list_messages(mail_sink.mail_dir)
    ids = Counter(m.message_id for m in messages)
    # 3 requests, 3 reminders, 3 escalations, and the Monday digests of 16/03 and 23/03.
    assert len(ids) == 11
    assert sum("[Tổng hợp tuần]" in m.subject for m in messages) == 2
    assert set(ids.values()) == {1}

"""The operator's ledger commands as real processes: db upgrade, submit, waive, status, outbox."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasks import runtime, steps

REPO = Path(__file__).resolve().parents[2]
DEFS = REPO / "tests" / "collect" / "fixtures" / "defs"


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mail_sink):
    """A fresh SQLite ledger with the fixture's Q1 2026 cycle opened; returns a CLI runner."""
    env = dict(os.environ)
    env.update(
        {
            "KEHOACH_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
            "KEHOACH_DEFINITIONS": str(DEFS),
            "KEHOACH_VAR_DIR": str(tmp_path / "var"),
            "KEHOACH_SECRET_KEY": "k" * 32,
            "KEHOACH_MAIL_FROM": "kehoach@tuyenquang.example",
            "KEHOACH_SMTP_PORT": str(mail_sink.port),
        }
    )

    def kehoach(*args: str, **more_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=REPO,
            env={**env, **more_env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    upgraded = kehoach("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    for key in (
        "KEHOACH_DATABASE_URL",
        "KEHOACH_DEFINITIONS",
        "KEHOACH_VAR_DIR",
        "KEHOACH_SECRET_KEY",
        "KEHOACH_MAIL_FROM",
    ):
        monkeypatch.setenv(key, env[key])
    runtime.reset()
    env_tick = runtime.tick_env(dt.date(2026, 3, 4))
    obligation = env_tick.defs.obligations["quarterly-report"]
    steps.open_due_cycles(env_tick, obligation, steps.TickOutcome())
    runtime.reset()
    yield kehoach
    runtime.reset()


def states(kehoach) -> dict[str, str]:
    result = kehoach("status", "--obligation", "quarterly-report", "--format", "json")
    assert result.returncode == 0, result.stderr
    return {row["body"]: row["state"] for row in json.loads(result.stdout)}


def test_submit_validates_records_and_sends_a_receipt(operator, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"so_tin_bai": "15", "ket_qua": "Đã đăng 15 tin."}), "utf-8")
    report = tmp_path / "bao-cao.pdf"
    report.write_bytes(b"%PDF-1.4\n% a tiny but real PDF header\n")
    result = operator(
        "submit",
        "quarterly-report",
        "2026-Q1",
        "so-tu-phap",
        "--data",
        str(good),
        "--attach",
        str(report),
        "--as-of",
        "2026-03-10",
    )
    assert result.returncode == 0, result.stderr
    assert "bản 1" in result.stdout
    assert states(operator)["so-tu-phap"] == "submitted"
    outbox = json.loads(operator("outbox", "--format", "json").stdout)
    receipts = [m for m in outbox if m["kind"] == "receipt"]
    assert len(receipts) == 1 and receipts[0]["to"] == ["van-thu@stp.tuyenquang.example"]
    assert receipts[0]["state"] == "sent", result.stdout + result.stderr  # at once, not next tick
    assert "Đã gửi 1 thư" in result.stdout
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert (tmp_path / "var" / "files" / digest[:2] / digest).is_file()  # the default store


def test_attachments_go_to_the_configured_directory(operator, tmp_path: Path) -> None:
    """KEHOACH_FILES_DIR moves the attachment store (the CLI and the portal share it)."""
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"so_tin_bai": "2", "ket_qua": "Hai tin."}), "utf-8")
    report = tmp_path / "bc.pdf"
    report.write_bytes(b"%PDF-1.4\n% stored elsewhere\n")
    store = tmp_path / "kho-tep"
    result = operator(
        "submit", "quarterly-report", "2026-Q1", "so-tu-phap",
        "--data", str(data), "--attach", str(report), "--as-of", "2026-03-10",
        KEHOACH_FILES_DIR=str(store),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert (store / digest[:2] / digest).is_file()
    assert not (tmp_path / "var" / "files").exists()


@pytest.mark.parametrize(
    ("data", "attach", "message"),
    [
        ({"ket_qua": "x"}, None, "so_tin_bai"),  # a required field missing
        ({"so_tin_bai": "nhiều", "ket_qua": "x"}, None, "số nguyên"),  # not an integer
        ({"so_tin_bai": 1, "ket_qua": "x", "la": 1}, None, "la"),  # not on the form
        ({"so_tin_bai": 1, "ket_qua": "x"}, b"MZ\x90\x00exe", "không phải loại"),
    ],
)
def test_bad_submissions_are_refused_and_nothing_is_recorded(
    operator, tmp_path: Path, data, attach, message
) -> None:
    before = states(operator)
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), "utf-8")
    args = ["submit", "quarterly-report", "2026-Q1", "so-noi-vu", "--data", str(path)]
    if attach is not None:
        renamed = tmp_path / "bao-cao.pdf"
        renamed.write_bytes(attach)
        args += ["--attach", str(renamed)]
    result = operator(*args)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert states(operator) == before


def test_unknown_cycle_body_and_unreadable_file(operator, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"so_tin_bai": 1, "ket_qua": "x"}), "utf-8")
    wrong_period = operator(
        "submit", "quarterly-report", "2030-Q1", "so-noi-vu", "--data", str(good)
    )
    assert wrong_period.returncode == 1 and "Không có phần việc" in wrong_period.stderr
    missing = operator(
        "submit", "quarterly-report", "2026-Q1", "so-noi-vu", "--data", str(tmp_path / "none.json")
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", "utf-8")
    assert (
        operator(
            "submit", "quarterly-report", "2026-Q1", "so-noi-vu", "--data", str(broken)
        ).returncode
        == 2
    )


def test_waive(operator) -> None:
    result = operator(
        "waive", "quarterly-report", "2026-Q1", "ubnd-son-duong", "--reason", "Đơn vị đã giải thể"
    )
    assert result.returncode == 0, result.stderr
    assert states(operator)["ubnd-son-duong"] == "waived"


def test_status_names_bodies_totals_each_cycle_and_refuses_bad_filters(operator) -> None:
    waived = operator("waive", "quarterly-report", "2026-Q1", "so-noi-vu", "--reason", "Sáp nhập")
    assert waived.returncode == 0, waived.stderr
    result = operator("status", "--as-of", "2026-03-25")
    assert result.returncode == 0, result.stderr
    assert "Sở Tư pháp" in result.stdout and "so-tu-phap" not in result.stdout
    assert (
        "Tổng quarterly-report kỳ 2026-Q1: 3 cơ quan — đã nộp 0, quá hạn chưa nộp 2, "
        "chưa nộp 0, miễn nộp 1."
    ) in result.stdout
    unknown = operator("status", "--obligation", "nope")
    assert unknown.returncode == 1
    assert "không có nghĩa vụ 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr
    malformed = operator("status", "--period", "abc")
    assert malformed.returncode == 1 and "mã kỳ 'abc' không hợp lệ" in malformed.stderr
    wrong_cadence = operator("status", "--obligation", "quarterly-report", "--period", "2026-03")
    assert wrong_cadence.returncode == 1 and "mã kỳ '2026-03' không hợp lệ" in wrong_cadence.stderr

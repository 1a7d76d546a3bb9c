"""The definitions commands as an administrator runs them: real processes, exit codes, output."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.calendar import LegalCalendar
from engine.definitions.loader import load_definitions
from engine.settings import REPO_ROOT

BROKEN = REPO_ROOT / "tests" / "definitions" / "broken"


def kehoach(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )


def test_validate_the_shipped_plan_without_importing_prefect() -> None:
    probe = (
        "import sys\nfrom cli.main import app\n"
        "try:\n    app(['validate'])\nexcept SystemExit as e:\n    code = e.code\n"
        "print('CODE', code)\n"
        "print('PREFECT', any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert "CODE 0" in result.stdout, result.stderr
    assert "PREFECT False" in result.stdout
    summary = result.stdout.splitlines()[0]
    assert summary.startswith("Định nghĩa hợp lệ:")
    coverage = summary.split("mục giao việc có nghĩa vụ: ")[1].split(" ")[0]
    covered, total = coverage.split("/")
    assert covered == total and int(total) >= 12


@pytest.mark.parametrize("case", sorted(p.name for p in BROKEN.iterdir())[::6])
def test_broken_sets_exit_1_with_file_and_line(case: str) -> None:
    expected = (BROKEN / case / "expected.txt").read_text(encoding="utf-8").splitlines()[0]
    path = expected.split(":")[0]
    result = kehoach("validate", "--definitions", str(BROKEN / case))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    if path != ".":
        assert f"{path}:" in result.stderr


def test_missing_directory_and_bad_arguments_are_clear() -> None:
    missing = kehoach("validate", "--definitions", "/nonexistent/defs")
    assert missing.returncode == 1 and "không tìm thấy" in missing.stderr
    bad_date = kehoach("plan", "--from", "2026-13-01", "--to", "2026-12-31")
    assert bad_date.returncode == 2 and "Traceback" not in bad_date.stderr
    backwards = kehoach("plan", "--from", "2026-12-31", "--to", "2026-01-01")
    assert backwards.returncode == 2


def test_plan_2026_covers_every_dated_obligation_on_working_days() -> None:
    result = kehoach("plan", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json")
    assert result.returncode == 0, result.stderr
    actions = json.loads(result.stdout)
    assert {"date", "obligation", "period", "body", "action"} <= set(actions[0])
    defs = load_definitions(REPO_ROOT / "definitions").definitions
    dated = {o.id for o in defs.obligations.values() if o.schedule.every.value != "event"}
    assert {a["obligation"] for a in actions} == dated
    cal = LegalCalendar(defs.calendars)
    dues = [dt.date.fromisoformat(a["date"]) for a in actions if a["action"] == "due"]
    assert dues and all(cal.is_working_day(d) for d in dues)
    # 2026 cycles resolve to the bodies that exist after the 2025 reorganisation.
    bodies = {a["body"] for a in actions if a["body"]}
    ended = {b.id for b in defs.bodies.values() if b.valid_to and b.valid_to < dt.date(2026, 1, 1)}
    assert bodies and not bodies & ended


def test_explain_shows_each_step() -> None:
    result = kehoach("explain", "annual-results-report", "2026")
    assert result.returncode == 0, result.stderr
    assert "Cách tính hạn nộp" in result.stdout and "Hạn nộp:" in result.stdout
    wrong = kehoach("explain", "annual-results-report", "2026-Q9")
    assert wrong.returncode == 2 and "không hợp lệ" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    unknown = kehoach("explain", "no-such-thing", "2026")
    assert unknown.returncode == 2


def test_committed_schema_is_current(tmp_path: Path) -> None:
    result = kehoach("schema", "--check")
    assert result.returncode == 0, result.stderr + " — run `kehoach schema` and commit"

"""`kehoach simulate` as administrators run it: outputs, Prefect never loaded, bad input refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.simulate.conftest import FIXTURE_DEFS, REPO

# Runs the command in a fresh interpreter and says afterwards whether Prefect was imported.
RUNNER = """
import sys
from cli.main import app
try:
    app(sys.argv[1:])
except SystemExit as end:
    code = end.code or 0
print("PREFECT-LOADED" if "prefect" in sys.modules else "PREFECT-ABSENT", file=sys.stderr)
sys.exit(code)
"""
PERSONAS = """
personas:
  dung-han: {kind: punctual, days_before_due: 1}
  khong-nop: {kind: never}
mix: {dung-han: 1}
bodies: {so-tu-phap: khong-nop}
"""


def kehoach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_year_as_json_with_an_html_summary_and_no_prefect(tmp_path: Path) -> None:
    personas = tmp_path / "personas.yaml"
    personas.write_text(PERSONAS, encoding="utf-8")
    out = tmp_path / "out"
    done = kehoach(
        "simulate",
        "--year",
        "2026",
        "--definitions",
        str(FIXTURE_DEFS),
        "--personas",
        str(personas),
        "--out",
        str(out),
        "--format",
        "json",
        "--seed",
        "4",
    )
    assert done.returncode == 0, done.stderr
    assert "PREFECT-ABSENT" in done.stderr
    assert "Mô phỏng [" not in done.stderr  # no progress bar when stderr is not a terminal
    data = json.loads(done.stdout)
    assert data["problems"] == [] and data["seed"] == 4
    # so-tu-phap never answers: four quarters missing, each escalated (the ladder has one).
    tu_phap = next(b for b in data["bodies"] if b["body_id"] == "so-tu-phap")
    assert (tu_phap["requested"], tu_phap["missing"], tu_phap["escalations"]) == (4, 4, 4)
    # The punctual quarterly reporters: always on time, never chased past the due date.
    punctual = [b for b in data["bodies"] if b["body_id"] in ("so-noi-vu", "ubnd-son-duong")]
    assert [(b["requested"], b["on_time"], b["escalations"]) for b in punctual] == [(4, 4, 0)] * 2
    # The 2025 summary was already due when the simulated year began: its cycle opens late, on
    # the first working day, with a new deadline ahead (never a request whose deadline has
    # passed), so the answer on the next working day is on time.
    lead = next(b for b in data["bodies"] if b["body_id"] == "so-vhttdl")
    assert (lead["requested"], lead["on_time"], lead["late"]) == (2, 2, 0)
    assert data["emails_by_kind"]["escalation"] == 4
    assert data["cycles_closed"] == data["cycles_expected"] == data["cycles_opened"]
    assert [h["period_key"] for h in data["handoffs"]] == [f"2026-Q{q}" for q in range(1, 5)]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Mô phỏng năm 2026" in page and "Sở Tư pháp" in page
    assert page.count("<svg") == 2 and page.count("<rect") > 10
    assert json.loads((out / "simulation.json").read_text(encoding="utf-8"))["summary"]


def test_the_table_names_every_kind_and_body_in_vietnamese(tmp_path: Path) -> None:
    done = kehoach("simulate", "--year", "2026", "--definitions", str(FIXTURE_DEFS))
    assert done.returncode == 0, done.stderr
    for words in ("Yêu cầu báo cáo", "Nhắc trước hạn", "Sở Nội vụ", "Kiểm tra nhất quán: đạt"):
        assert words in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--year", "1800"], 2, "--year phải trong khoảng"),
        (["--year", "2026", "--format", "xml"], 2, "--format phải là một trong"),
        (["--year", "2026", "--personas", "khong-co.yaml"], 2, "không tìm thấy tệp persona"),
        (["--year", "2026", "--out", "pyproject.toml"], 2, "--out phải là một thư mục"),
        (["--year", "2026", "--personas", "{bad}"], 1, "lỗi trong tệp persona"),
    ],
)
def test_bad_arguments_get_a_vietnamese_message(
    tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("personas: {a: {kind: nope}}\nmix: {a: 1}\n", encoding="utf-8")
    args = [str(bad) if a == "{bad}" else a for a in args]
    done = kehoach("simulate", "--definitions", str(FIXTURE_DEFS), *args)
    assert done.returncode == code, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr
    if "{bad}" in args or str(bad) in args:
        assert "bad.yaml:1:" in done.stderr

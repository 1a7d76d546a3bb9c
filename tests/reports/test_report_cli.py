"""`kehoach report annual` and `kehoach report matrix` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.reports.conftest import build_annual_ledger

REPO = Path(__file__).resolve().parents[2]
KEHOACH = [sys.executable, "-m", "cli.main"]


def run(*args: str, url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KEHOACH_DATABASE_URL": url, "KEHOACH_VAR_DIR": str(tmp_path / "var")}
    env.pop("KEHOACH_DEFINITIONS", None)
    return subprocess.run(
        [*KEHOACH, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_annual_draft_and_matrix(ledger_url: str, tmp_path: Path) -> None:
    ledger = build_annual_ledger(ledger_url)
    out = tmp_path / "bao-cao"
    result = run(
        "report",
        "annual",
        "2026",
        "--out",
        str(out),
        "--as-of",
        "2026-12-28",
        url=ledger_url,
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # The late report re-opened the hand-off once: the draft is the amended version 2.
    assert f"(bản 2, dự thảo): {len(ledger.submitted)}/{len(ledger.bodies)}" in result.stdout
    assert (out / "bao-cao-tong-hop-2026-v2-du-thao.docx").is_file()
    assert (out / "bao-cao-tong-hop-2026-v2-du-thao.xlsx").is_file()
    matrix = tmp_path / "ma-tran.xlsx"
    result = run(
        "report",
        "matrix",
        "--out",
        str(matrix),
        "--year",
        "2026",
        url=ledger_url,
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"Đã ghi {len(ledger.bodies)} phần việc" in result.stdout
    sheet = openpyxl.load_workbook(matrix)["Ma trận tuân thủ"]
    assert sheet.cell(4, 1).value == "Cơ quan, đơn vị"
    assert sheet.max_row == 4 + len(ledger.bodies)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("report", "annual", "3026", "--out", "x"), 2, "năm 3026 không hợp lệ"),
        (("report", "matrix", "--out", "ma-tran.csv"), 2, "cần có phần mở rộng .xlsx"),
        (("report", "annual", "2026", "--out", "o"), 1, "không đọc được sổ theo dõi"),
        (("report", "annual", "26-H1", "--out", "x"), 2, "kỳ '26-H1' không hợp lệ"),
        (
            ("report", "annual", "2026", "--obligation", "khong-co", "--out", "x"),
            1,
            "'khong-co' không phải nghĩa vụ tổng hợp",
        ),
        (("report", "annual", "2026-Q5", "--out", "x"), 1, "Kỳ tổng hợp không hợp lệ"),
    ],
)
def test_bad_input_gets_a_vietnamese_message(args, code, message, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"  # never migrated
    args = tuple(str(tmp_path / a) if a in ("x", "o", "ma-tran.csv") else a for a in args)
    result = run(*args, url=url, tmp_path=tmp_path)
    assert result.returncode == code
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_year_without_reports_is_a_clear_error(ledger_url: str, tmp_path: Path) -> None:
    result = run(
        "report", "annual", "2030", "--out", str(tmp_path / "o"), url=ledger_url, tmp_path=tmp_path
    )
    assert result.returncode == 1
    assert "Chưa có kỳ 2030" in result.stderr and "Traceback" not in result.stderr

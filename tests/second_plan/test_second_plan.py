"""A second plan (a centrally governed city, its own ids for every role, group and obligation, a
half-yearly consolidation fed by a half-yearly and an annual report, a briefing with its own
field names) goes through validate, plan and a simulated year; nothing it produces names the
shipped plan's province or bodies."""

from __future__ import annotations

import json
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from docx import Document

from engine.definitions.loader import load_definitions
from engine.settings import REPO_ROOT

SECOND = Path(__file__).parent / "definitions"


def kehoach(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args, "--definitions", str(SECOND)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
    )


def shipped_names() -> list[str]:
    """The shipped plan's place, title and body names that the second plan does not share."""
    shipped = load_definitions(REPO_ROOT / "definitions").definitions
    second = load_definitions(SECOND).definitions
    own = {b.name for b in second.bodies.values()}
    names = {b.name for b in shipped.bodies.values()} - own
    return sorted({shipped.plan.place, shipped.plan.place.upper(), shipped.plan.title, *names})


def docx_text(path: Path) -> str:
    document = Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("second") / "out"
    result = kehoach("simulate", "--year", "2026", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_the_second_plan_validates_without_warnings() -> None:
    result = kehoach("validate")
    assert result.returncode == 0, result.stderr
    assert "7 nghĩa vụ" in result.stdout
    assert result.stderr == ""


def test_plan_lists_its_own_obligations() -> None:
    result = kehoach("plan", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json")
    assert result.returncode == 0, result.stderr
    obligations = {a["obligation"] for a in json.loads(result.stdout)}
    assert {"bao-cao-6-thang", "hop-bao-thang", "noi-dung-hop-bao"} <= obligations


def test_simulated_year_writes_letters_and_half_yearly_documents(year: Path) -> None:
    letters = sorted((year / "letters").glob("*.eml"))
    index = (year / "letters" / "index.txt").read_text(encoding="utf-8").splitlines()
    assert letters and len(index) == len(letters) + 1
    summary = json.loads((year / "simulation.json").read_text(encoding="utf-8"))
    assert summary["emails_total"] == len(letters)
    # The index is by date, then body; each line names the file it describes.
    days = [line.split("\t")[0][::-1] for line in index[1:]]
    assert [d[::-1][6:] + d[::-1][3:5] + d[::-1][:2] for d in days] == sorted(
        d[::-1][6:] + d[::-1][3:5] + d[::-1][:2] for d in days
    )
    assert all((year / "letters" / line.split("\t")[-1]).is_file() for line in index[1:])
    first = BytesParser(policy=policy.default).parsebytes(letters[0].read_bytes())
    assert first["Subject"] and first.get_body(("plain",)).get_content().strip()
    documents = year / "documents"
    assert list(documents.glob("bao-cao-tong-hop-2026-H1-v*-du-thao.docx"))
    # "6 tháng và năm": the second cycle is the whole year (key 2026), never a second half.
    assert not list(documents.glob("bao-cao-tong-hop-2026-H2-*"))
    # Each period keeps its own chart file.
    assert (documents / "ty-le-dung-han-2026-H1-v1.png").is_file()
    assert (documents / "ty-le-dung-han-2026-v1.png").is_file()
    whole_year = sorted(documents.glob("bao-cao-tong-hop-2026-v*-du-thao.docx"))
    assert whole_year, sorted(p.name for p in documents.iterdir())
    text = docx_text(whole_year[-1])
    # Its declared summary line, with the year as the period.
    assert "Công tác bảo đảm quyền tiếp cận thông tin năm 2026 trên địa bàn thành phố" in text
    # A section per source: the year cycle of the "6 tháng và năm" report and the annual one.
    assert "II. BÁO CÁO KẾT QUẢ BẢO ĐẢM QUYỀN TIẾP CẬN THÔNG TIN" in text
    assert "III. BÁO CÁO NĂM VỀ PHÁT NGÔN VÀ CUNG CẤP THÔNG TIN CHO BÁO CHÍ" in text
    # Its own authority, issuing body, symbol and declared recipients.
    assert "UBND THÀNH PHỐ CẦN THƠ" in text and "SỞ TƯ PHÁP" in text
    assert "Số: …/BC-STP" in text
    assert "- Ủy ban nhân dân thành phố Cần Thơ (b/c);" in text
    assert "- Bộ Tư pháp (b/c);" in text


def test_nothing_of_the_shipped_plan_in_what_it_produces(year: Path) -> None:
    names = shipped_names()
    assert "Tuyên Quang" in names and len(names) > 20
    found = []
    for path in sorted(year.rglob("*")):
        if path.suffix == ".docx":
            text = docx_text(path)
        elif path.suffix == ".eml":
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            text = (
                str(message["Subject"])
                + "\n"
                + "\n".join(
                    part.get_content()
                    for part in message.walk()
                    if part.get_content_maintype() == "text"
                )
            )
        elif path.suffix in (".txt", ".html", ".json"):
            text = path.read_text(encoding="utf-8")
        else:
            continue
        found += [(path.name, name) for name in names if name in text]
    assert found == []

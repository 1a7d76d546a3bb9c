"""The report as a person sees it: DOCX → PDF with Debian's LibreOffice (headless), → PNG with
poppler. Times New Roman is not installed here; LibreOffice substitutes its metric-compatible
twin Liberation Serif (fonts-liberation2), so lines break where Word would break them.

The PNG pages are kept in KEHOACH_RENDER_DIR when it is set (else the test's temporary
directory), for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.annual import Signing, render_annual

pytestmark = pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="needs Debian's libreoffice-writer-nogui and poppler-utils",
)


def to_pdf(docx: Path, out: Path) -> Path:
    # A profile of its own: two LibreOffice processes sharing one profile refuse to start.
    profile = out / "lo-profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(docx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out / f"{docx.stem}.pdf"


def page_text(pdf: Path, page: int) -> list[str]:
    result = subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_pdf_pages_look_like_an_official_report(annual_ledger, tmp_path) -> None:
    signing = Signing("12", dt.date(2027, 1, 5), "Nguyễn Văn A", deputy=True)
    docs = render_annual(
        annual_ledger.defs,
        annual_ledger.sessions,
        2026,
        tmp_path,
        today=dt.date(2026, 12, 28),
        signing=signing,
    )
    pdf = to_pdf(docs.docx, tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "595.3 x 841.89 pts (A4)" in info.stdout.replace("595.304", "595.3")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "LiberationSerif" in fonts  # the substitute for Times New Roman, embedded
    first, second = page_text(pdf, 1), page_text(pdf, 2)
    # No page number on page 1; "2" alone at the top of page 2.
    assert first[0] != "1" and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in " ".join(first[:4])
    assert second[0] == "2"
    joined = " ".join(first)
    for text in ("Số: 12/BC-SVHTTDL", "Độc lập - Tự do - Hạnh phúc", "BÁO CÁO"):
        assert text in joined
    last = page_text(pdf, int(info.stdout.split("Pages:")[1].split()[0]))
    assert "KT. GIÁM ĐỐC" in " ".join(last) and "PHÓ GIÁM ĐỐC" in " ".join(last)
    keep = Path(os.environ.get("KEHOACH_RENDER_DIR") or tmp_path)
    keep.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "2", str(pdf), str(keep / "bao-cao")],
        check=True,
    )
    pages = sorted(keep.glob("bao-cao-*.png"))
    assert len(pages) == 2 and all(p.stat().st_size > 10_000 for p in pages)

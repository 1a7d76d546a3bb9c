"""The consolidated report as a Decree 30/2020 document, its workbook and its rules, rendered
from a real ledger (SQLite and PostgreSQL) with the shipped definitions."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import openpyxl
import pytest
from docx import Document
from docx.oxml.ns import qn

from reports.annual import Signing, render_annual

TODAY = dt.date(2026, 12, 28)
SIGNING = Signing(number="12", signed_on=dt.date(2027, 1, 5), signer_name="Nguyễn Văn A")


def every_run(document):
    """Runs of the body, of every table cell (nested too) and of every header and footer."""

    def in_paragraphs(paragraphs):
        for paragraph in paragraphs:
            yield from paragraph.runs

    def in_tables(tables):
        for table in tables:
            for row in table.rows:
                for cell in row.cells:
                    yield from in_paragraphs(cell.paragraphs)
                    yield from in_tables(cell.tables)

    yield from in_paragraphs(document.paragraphs)
    yield from in_tables(document.tables)
    for section in document.sections:
        for part in (section.header, section.first_page_header, section.footer):
            yield from in_paragraphs(part.paragraphs)
            yield from in_tables(part.tables)


def header_texts(document) -> list[str]:
    cells = document.tables[0].rows[0].cells
    return [p.text for cell in cells for p in cell.paragraphs if p.text.strip()]


def test_docx_follows_decree_30(annual_ledger, tmp_path) -> None:
    docs = render_annual(
        annual_ledger.defs, annual_ledger.sessions, 2026, tmp_path, today=TODAY, signing=SIGNING
    )
    document = Document(str(docs.docx))
    assert header_texts(document) == [
        "UBND TỈNH TUYÊN QUANG",
        "SỞ VĂN HÓA, THỂ THAO\nVÀ DU LỊCH",
        "Số: 12/BC-SVHTTDL",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Tuyên Quang, ngày 05 tháng 01 năm 2027",
    ]
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts and "DỰ THẢO" not in texts
    assert "Kết quả công tác truyền thông chính sách năm 2026" in texts
    runs = list(every_run(document))
    assert len(runs) > 200
    for run in runs:
        assert run.font.name == "Times New Roman", run.text
        fonts = run._element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == "Times New Roman", run.text
    section = document.sections[0]
    # Word stores twentieths of a point: compare in millimetres to a tenth.
    assert (round(section.page_width.mm, 1), round(section.page_height.mm, 1)) == (210, 297)
    assert 20 <= round(section.top_margin.mm, 1) <= 25
    assert 20 <= round(section.bottom_margin.mm, 1) <= 25
    assert 30 <= round(section.left_margin.mm, 1) <= 35
    assert 15 <= round(section.right_margin.mm, 1) <= 20
    # Page numbers from page 2: a PAGE field in the header, none in the first page's.
    assert section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml
    assert "PAGE" not in section.first_page_header._element.xml
    assert not section.first_page_header.is_linked_to_previous
    # The signer block and "Nơi nhận" (size 12 bold italic, the list size 11).
    closing = document.tables[-1].rows[0].cells
    where = closing[0].paragraphs
    assert where[0].text == "Nơi nhận:"
    assert where[0].runs[0].bold and where[0].runs[0].italic
    assert where[0].runs[0].font.size.pt == 12
    assert [p.text for p in where[1:]] == [
        "- Ủy ban nhân dân tỉnh Tuyên Quang (b/c);",
        "- Bộ Văn hóa, Thể thao và Du lịch (b/c);",
        "- Lưu: VT.",
    ]
    assert all(p.runs[0].font.size.pt == 11 for p in where[1:])
    signer = [p.text for p in closing[1].paragraphs if p.text.strip()]
    assert signer == ["GIÁM ĐỐC", "Nguyễn Văn A"]
    # The body's own words are quoted, one table per reporting body.
    body_tables = document.tables[2:-1]
    assert len(body_tables) == len(annual_ledger.submitted)
    assert any("Cán bộ làm truyền thông còn kiêm nhiệm." in t for t in texts)


def test_draft_has_no_number_and_is_marked(annual_ledger, tmp_path) -> None:
    docs = render_annual(annual_ledger.defs, annual_ledger.sessions, 2026, tmp_path, today=TODAY)
    document = Document(str(docs.docx))
    assert document.paragraphs[0].text == "DỰ THẢO"
    assert "Số: …/BC-SVHTTDL" in header_texts(document)
    assert docs.docx.name == "bao-cao-tong-hop-2026-v1-du-thao.docx"


def test_workbook_totals_are_the_sum_of_the_submissions(annual_ledger, tmp_path) -> None:
    docs = render_annual(annual_ledger.defs, annual_ledger.sessions, 2026, tmp_path, today=TODAY)
    expected = {
        field: sum(Decimal(str(f[field])) for f in annual_ledger.submitted.values())
        for field in ("so_tin_bai", "so_cuoc_hop_bao", "kinh_phi")
    }
    assert {k: docs.totals[k] for k in expected} == expected
    assert docs.bodies_reported == len(annual_ledger.submitted)
    assert docs.bodies_expected == len(annual_ledger.bodies)
    assert docs.complete is False  # "all" is the rule and some bodies never reported
    workbook = openpyxl.load_workbook(docs.xlsx)
    figures = workbook["Tổng hợp số liệu"]
    header_row = next(r for r in range(1, 10) if figures.cell(r, 1).value == "STT")
    header = [c.value for c in figures[header_row]]
    total_row = next(
        r for r in range(header_row, figures.max_row + 1) if figures.cell(r, 2).value == "Tổng cộng"
    )
    for field, label in (
        ("so_tin_bai", "Số tin, bài, sản phẩm truyền thông chính sách"),
        ("kinh_phi", "Kinh phí đã sử dụng cho truyền thông chính sách (đồng)"),
    ):
        column = header.index(label) + 1
        cells = [figures.cell(r, column).value for r in range(header_row + 1, total_row)]
        listed = sum(Decimal(str(v)) for v in cells if v is not None)
        total = Decimal(str(figures.cell(total_row, column).value))
        assert total == listed == expected[field]
    matrix = workbook["Ma trận tuân thủ"]
    rows = [
        [c.value for c in row]
        for row in matrix.iter_rows(min_row=5)
        if row[1].value in annual_ledger.bodies
    ]
    assert len(rows) == len(annual_ledger.bodies)
    first = rows[0]
    assert isinstance(first[5], dt.datetime)  # the due date, as a date cell
    states = {r[1]: r[8] for r in rows}
    assert states[annual_ledger.late_body] == "đã nộp"
    assert "không nộp (kỳ đã đóng)" in states.values()
    assert workbook["Tỷ lệ đúng hạn"].max_row >= 5


def test_same_data_gives_the_same_bytes(annual_ledger, tmp_path) -> None:
    first = render_annual(
        annual_ledger.defs, annual_ledger.sessions, 2026, tmp_path / "a", today=TODAY
    )
    second = render_annual(
        annual_ledger.defs, annual_ledger.sessions, 2026, tmp_path / "b", today=TODAY
    )
    for a, b in ((first.docx, second.docx), (first.xlsx, second.xlsx), (first.chart, second.chart)):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def _with_completeness(defs, **rule):
    from engine.definitions.models import Completeness

    source = defs.obligations["annual-results-report"]
    downstream = source.downstream.model_copy(update={"completeness": Completeness(**rule)})
    changed = source.model_copy(update={"downstream": downstream})
    return defs.model_copy(update={"obligations": {**defs.obligations, changed.id: changed}})


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_completeness_rules_and_late_reports(annual_ledger, tmp_path) -> None:
    defs, sessions = annual_ledger.defs, annual_ledger.sessions
    reported = len(annual_ledger.submitted)
    at_least = _with_completeness(defs, rule="at-least", count=reported)
    assert render_annual(at_least, sessions, 2026, tmp_path / "1", today=TODAY).complete
    too_many = _with_completeness(defs, rule="at-least", count=reported + 1)
    assert not render_annual(too_many, sessions, 2026, tmp_path / "2", today=TODAY).complete
    some = sorted(annual_ledger.submitted)[:2]
    required = _with_completeness(defs, rule="required", bodies=some)
    assert render_annual(required, sessions, 2026, tmp_path / "3", today=TODAY).complete
    missing = next(b for b in annual_ledger.bodies if b not in annual_ledger.submitted)
    unmet = _with_completeness(defs, rule="required", bodies=[*some, missing])
    assert not render_annual(unmet, sessions, 2026, tmp_path / "4", today=TODAY).complete
    # late: ignore leaves out what arrived after the close; amend (the default) counts it.
    ignore = _with_completeness(defs, rule="all", late="ignore")
    docs = render_annual(ignore, sessions, 2026, tmp_path / "5", today=TODAY)
    assert docs.bodies_reported == reported - 1
    late_name = defs.bodies[annual_ledger.late_body].name
    assert late_name in docs.missing
    amended = render_annual(defs, sessions, 2026, tmp_path / "6", today=TODAY, version=2)
    assert amended.bodies_reported == reported and late_name not in amended.missing
    document = Document(str(amended.docx))
    texts = [p.text for p in document.paragraphs]
    assert "(Bản sửa đổi, bổ sung lần 1)" in texts
    assert any(t.startswith("Báo cáo nhận sau khi kết thúc kỳ, được bổ sung:") for t in texts)
    assert amended.docx.name == "bao-cao-tong-hop-2026-v2-du-thao.docx"


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_year_without_a_cycle_is_refused_in_vietnamese(annual_ledger, tmp_path) -> None:
    from reports.consolidate import ReportError

    with pytest.raises(ReportError, match="Chưa có kỳ 2025"):
        render_annual(annual_ledger.defs, annual_ledger.sessions, 2025, tmp_path, today=TODAY)

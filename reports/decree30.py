"""Administrative documents laid out as Decree 30/2020/NĐ-CP asks (Appendix I).

A4 portrait, margins 20/20/30/15 mm (top, bottom, left, right), Times New Roman on every run
(also the East Asian and complex-script slots, so Vietnamese never falls back to another font),
the two-column header, the signer block and "Nơi nhận", page numbers centred at the top from
page 2 on ("different first page"). Callers add the content between header and signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

FONT = "Times New Roman"
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_WIDTH_MM = 210 - 30 - 15
BODY_SIZE = 14
# Header columns: the issuing body on the left, the national name on the right.
# Wider than the text area by 10 mm (5 mm into each margin), as official headers usually are,
# so the national name fits on one line.
LEFT_MM, RIGHT_MM = 75, 100
FIRST_LINE_INDENT = Mm(12.7)


@dataclass(frozen=True)
class Heading:
    """The header block's text, already worded (see reports.issuers)."""

    supervising: str  # "UBND TỈNH TUYÊN QUANG" (empty when the issuer has none)
    issuer: str  # "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH"
    number: str  # "Số: 12/BC-SVHTTDL"
    place_date: str  # "Tuyên Quang, ngày 05 tháng 01 năm 2026"
    draft: bool = False


@dataclass(frozen=True)
class Signer:
    authority: str  # "KT. GIÁM ĐỐC" or "GIÁM ĐỐC"
    title: str  # "PHÓ GIÁM ĐỐC", or "" when the head signs
    name: str  # may be empty on a draft


def set_font(run: Run, size: float, *, bold: bool = False, italic: bool = False) -> Run:
    """Times New Roman in every rFonts slot, so no script falls back to a theme font."""
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    return run


def add_text(
    paragraph: Paragraph,
    text: str,
    size: float = BODY_SIZE,
    *,
    bold: bool = False,
    italic: bool = False,
) -> Run:
    return set_font(paragraph.add_run(text), size, bold=bold, italic=italic)


def _spacing(paragraph: Paragraph, before: float = 0, after: float = 6, line: float = 1.15) -> None:
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    fmt.line_spacing = line


def new_document() -> DocxDocument:
    """An empty A4 document with the official margins and Times New Roman as the default."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    for side, value in MARGINS.items():
        setattr(section, f"{side}_margin", value)
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_SIZE)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    _page_numbers(document)
    # The template's empty first paragraph would push the header down a line.
    body = document.element.body
    for paragraph in list(document.paragraphs):
        body.remove(paragraph._element)
    return document


def _field(paragraph: Paragraph, instruction: str, shown: str, size: float) -> None:
    def char(kind: str) -> None:
        run = set_font(paragraph.add_run(), size)
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        run._element.append(element)

    char("begin")
    run = set_font(paragraph.add_run(), size)
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run._element.append(text)
    char("separate")
    add_text(paragraph, shown, size)
    char("end")


def _page_numbers(document: DocxDocument) -> None:
    """PAGE centred in the header of every page but the first (Decree 30: none on page 1)."""
    section = document.sections[0]
    section.different_first_page_header_footer = True
    # An explicit, empty first-page header: Word and LibreOffice then print nothing on page 1.
    section.first_page_header.is_linked_to_previous = False
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _field(paragraph, "PAGE", "2", BODY_SIZE)


def _borderless(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _widths(table: Table, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, width in enumerate(widths_mm):
        table.columns[index].width = Mm(width)
        for cell in table.columns[index].cells:
            cell.width = Mm(width)


def cell_line(
    cell: _Cell,
    text: str,
    size: float,
    *,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    first: bool = False,
) -> Paragraph:
    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = align
    _spacing(paragraph, after=0, line=1.0)
    add_text(paragraph, text, size, bold=bold, italic=italic)
    return paragraph


def balanced(text: str, limit: int = 30) -> str:
    """A long agency name broken once, where a reader would ("… THỂ THAO\nVÀ DU LỊCH")."""
    if len(text) <= limit:
        return text
    middle = len(text) / 2
    # " VÀ " first: on a tie the break goes before "VÀ", as headers are usually written.
    breaks = [i for i in range(len(text)) if text.startswith(" VÀ ", i)]
    breaks += [i + 1 for i in range(len(text)) if text.startswith(", ", i)]
    breaks = breaks or [i for i, ch in enumerate(text) if ch == " "]
    if not breaks:
        return text
    cut = min(breaks, key=lambda i: abs(i - middle))
    return f"{text[:cut].rstrip()}\n{text[cut:].lstrip()}"


def _rule(cell: _Cell, width_mm: float, column_mm: float) -> None:
    """A short centred horizontal line: an empty paragraph with a top border, indented."""
    paragraph = cell.add_paragraph()
    _spacing(paragraph, after=0, line=1.0)
    indent = Mm(max(0.0, (column_mm - width_mm) / 2 - 2))
    paragraph.paragraph_format.left_indent = indent
    paragraph.paragraph_format.right_indent = indent
    set_font(paragraph.add_run(), 4)
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for name, value in (
        ("w:val", "single"),
        ("w:sz", "6"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        top.set(qn(name), value)
    border.append(top)
    paragraph._p.get_or_add_pPr().append(border)


def add_heading(document: DocxDocument, heading: Heading) -> None:
    """The two-column header: issuer and number left, national name and place/date right."""
    if heading.draft:
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _spacing(paragraph, after=2, line=1.0)
        add_text(paragraph, "DỰ THẢO", 12, bold=True)
    table = document.add_table(rows=1, cols=2)
    _borderless(table)
    _widths(table, (LEFT_MM, RIGHT_MM))
    left, right = table.rows[0].cells
    first = True
    if heading.supervising:
        cell_line(left, balanced(heading.supervising, 34), 12, first=True)
        first = False
    cell_line(left, balanced(heading.issuer), 12, bold=True, first=first)
    _rule(left, 24, LEFT_MM)
    cell_line(left, heading.number, 13)
    cell_line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True, first=True)
    cell_line(right, "Độc lập - Tự do - Hạnh phúc", 13, bold=True)
    _rule(right, 58, RIGHT_MM)
    cell_line(right, heading.place_date, 14, italic=True)


def add_title(document: DocxDocument, kind: str, summary: str, note: str = "") -> None:
    """The document type (BÁO CÁO, CHƯƠNG TRÌNH …) and its summary line, centred and bold."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _spacing(paragraph, before=18, after=0, line=1.0)
    add_text(paragraph, kind.upper(), 14, bold=True)
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _spacing(paragraph, after=0 if note else 12, line=1.0)
    add_text(paragraph, summary, 14, bold=True)
    if note:
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _spacing(paragraph, after=12, line=1.0)
        add_text(paragraph, note, 14, italic=True)


def add_section_heading(document: DocxDocument, text: str) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.first_line_indent = FIRST_LINE_INDENT
    paragraph.paragraph_format.keep_with_next = True
    _spacing(paragraph, before=6)
    add_text(paragraph, text, BODY_SIZE, bold=True)
    return paragraph


def add_paragraph(
    document: DocxDocument, text: str, *, italic: bool = False, indent: bool = True
) -> Paragraph:
    """A justified body paragraph (first-line indent 1.27 cm, 6 pt after, line 1.15)."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if indent:
        paragraph.paragraph_format.first_line_indent = FIRST_LINE_INDENT
    _spacing(paragraph)
    add_text(paragraph, text, BODY_SIZE, italic=italic)
    return paragraph


def add_quote(document: DocxDocument, label: str, text: str) -> None:
    """A body's own words, quoted: the label bold, the text as written, line breaks kept."""
    lines = [line.strip() for line in text.splitlines() if line.strip()] or ["(không ghi)"]
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = FIRST_LINE_INDENT
    _spacing(paragraph)
    add_text(paragraph, f"{label}: ", BODY_SIZE, bold=True)
    add_text(paragraph, f"“{lines[0]}", BODY_SIZE, italic=True)
    for line in lines[1:]:
        add_paragraph(document, line, italic=True)
    # Close the quotation on the last run written.
    last = document.paragraphs[-1].runs[-1]
    last.text = f"{last.text}”"


def add_grid(
    document: DocxDocument,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_mm: Sequence[float],
    *,
    numeric_from: int = 1,
    size: float = 12,
) -> Table:
    """A bordered table; columns from `numeric_from` on are right-aligned (figures)."""
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = document.styles["Table Grid"]
    _widths(table, widths_mm)
    for index, text in enumerate(header):
        cell_line(table.rows[0].cells[index], text, size, bold=True, first=True)
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row):
            align = WD_ALIGN_PARAGRAPH.RIGHT if c >= numeric_from else WD_ALIGN_PARAGRAPH.LEFT
            cell_line(table.rows[r].cells[c], text, size, align=align, first=True)
    spacer = document.add_paragraph()
    _spacing(spacer, after=0, line=1.0)
    set_font(spacer.add_run(), 6)
    return table


def add_picture(document: DocxDocument, image: Path, width_mm: float, caption: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _spacing(paragraph, after=0, line=1.0)
    paragraph.add_run().add_picture(str(image), width=Mm(width_mm))
    set_font(paragraph.runs[-1], BODY_SIZE)
    caption_paragraph = document.add_paragraph()
    caption_paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _spacing(caption_paragraph)
    add_text(caption_paragraph, caption, 12, italic=True)


def add_closing(document: DocxDocument, recipients: Sequence[str], signer: Signer) -> None:
    """'Nơi nhận' (size 12 bold italic, list size 11) left; the signer block right."""
    spacer = document.add_paragraph()
    _spacing(spacer, after=0, line=1.0)
    set_font(spacer.add_run(), 8)
    table = document.add_table(rows=1, cols=2)
    _borderless(table)
    _widths(table, (TEXT_WIDTH_MM - 85, 85))
    left, right = table.rows[0].cells
    cell_line(
        left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT, first=True
    )
    lines = [f"- {r};" for r in recipients] + ["- Lưu: VT."]
    for line in lines:
        cell_line(left, line, 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    cell_line(right, signer.authority, 14, bold=True, first=True)
    if signer.title:
        cell_line(right, signer.title, 14, bold=True)
    for _ in range(4):
        cell_line(right, "", 14)
    cell_line(right, signer.name or " ", 14, bold=True)


def save(document: DocxDocument, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path

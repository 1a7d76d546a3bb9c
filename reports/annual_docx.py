"""The year-end consolidated report as a Decree 30/2020 document (BÁO CÁO).

Outline: the reporting situation (who reported, the on-time chart), the results achieved (the
province's summed figures, then a table and the quoted text of each body), shortcomings and
causes, tasks and proposals, each body's words quoted as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from engine.definitions.models import Definitions
from engine.vndates import short_date
from reports import decree30 as d30
from reports.compliance import vn_day
from reports.consolidate import Consolidation, SourceReport, rule_text
from reports.wording import amount, field_value

ROMAN = ("I", "II", "III", "IV", "V", "VI")


def roman(number: int) -> str:
    """A section number in Roman numerals (any count of sources)."""
    values = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"))
    values += ((50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    text = ""
    for value, letters in values:
        while number >= value:
            text, number = text + letters, number - value
    return text


MAX_CHART_HEIGHT_MM = 215


@dataclass(frozen=True)
class AnnualText:
    """What the document says about itself, worded by the caller (reports.annual)."""

    heading: d30.Heading
    summary: str  # "Kết quả công tác truyền thông chính sách năm 2026"
    note: str  # "(Bản sửa đổi, bổ sung lần 1)" or ""
    opening: str
    issuer_name: str
    recipients: Sequence[str]
    signer: d30.Signer


def _chart_width(chart: Path) -> float:
    with Image.open(chart) as image:
        width, height = image.size
    return min(150.0, MAX_CHART_HEIGHT_MM * width / height)


def _situation(document, consolidation: Consolidation, chart: Path, year: int) -> None:
    reported = consolidation.reported
    late = [r for r in reported if r.late]
    d30.add_section_heading(document, "I. TÌNH HÌNH BÁO CÁO")
    d30.add_paragraph(
        document,
        f"Đã nhận báo cáo của {len(reported)}/{consolidation.expected} cơ quan, đơn vị, địa "
        f"phương ({len(reported) - len(late)} báo cáo đúng hạn, {len(late)} báo cáo sau thời "
        f"hạn); yêu cầu tổng hợp: {rule_text(consolidation.rule, consolidation.expected)} — "
        + ("đã đáp ứng." if consolidation.complete else "chưa đáp ứng."),
    )
    if consolidation.missing:
        names = "; ".join(name for _, name in consolidation.missing)
        d30.add_paragraph(document, f"Chưa báo cáo ({len(consolidation.missing)}): {names}.")
    if consolidation.waived:
        names = "; ".join(name for _, name in consolidation.waived)
        d30.add_paragraph(document, f"Được miễn báo cáo: {names}.")
    amended = [r for r in reported if r.after_close]
    if amended:
        names = "; ".join(
            f"{r.body_name} (ngày {short_date(vn_day(r.submitted_at))})" for r in amended
        )
        d30.add_paragraph(document, f"Báo cáo nhận sau khi kết thúc kỳ, được bổ sung: {names}.")
    d30.add_picture(
        document,
        chart,
        _chart_width(chart),
        f"Biểu đồ: Tỷ lệ nộp đúng hạn các nội dung của Kế hoạch năm {year}, theo cơ quan",
    )


def _results(document, consolidation: Consolidation, text_fields, nested: bool = False) -> None:
    if not nested:
        d30.add_section_heading(document, "II. KẾT QUẢ ĐẠT ĐƯỢC")
    d30.add_section_heading(document, "1. Số liệu tổng hợp")
    rows = [
        [str(i), f.label, amount(consolidation.totals.get(f.id))]
        for i, f in enumerate(consolidation.summed_fields, start=1)
    ]
    if rows:
        d30.add_grid(document, ["STT", "Chỉ tiêu", "Tổng số"], rows, (14, 111, 40), numeric_from=2)
    else:
        d30.add_paragraph(document, "Biểu mẫu báo cáo không có chỉ tiêu số liệu.")
    d30.add_section_heading(document, "2. Kết quả của từng cơ quan, đơn vị, địa phương")
    if not consolidation.reported:
        d30.add_paragraph(document, "Chưa có cơ quan nào báo cáo.")
    for index, result in enumerate(consolidation.reported, start=1):
        d30.add_section_heading(document, f"2.{index}. {result.body_name}")
        detail = [
            [f.label, field_value(f, result.values.get(f.id))] for f in consolidation.detail_fields
        ]
        d30.add_grid(document, ["Chỉ tiêu", "Số liệu"], detail, (115, 50))
        for field in text_fields:
            d30.add_quote(document, field.label, str(result.values.get(field.id) or ""))


def _quoted_section(document, number: str, heading: str, consolidation, fields) -> None:
    # A top-level section is a Roman numeral in capitals; inside a source's section, "3." as is.
    top = number.rstrip(".").isalpha()
    d30.add_section_heading(
        document, f"{number}. {heading.upper()}" if top else f"{number} {heading}"
    )
    if not fields:
        d30.add_paragraph(document, "Biểu mẫu báo cáo không có nội dung này.")
        return
    quoted = False
    for result in consolidation.reported:
        for field in fields:
            text = str(result.values.get(field.id) or "").strip()
            if text:
                d30.add_quote(document, result.body_name, text)
                quoted = True
    if not quoted:
        d30.add_paragraph(document, "Các cơ quan không nêu nội dung này.")


def _situation_of_sources(document, sources: Sequence[SourceReport], chart: Path, year: int):
    d30.add_section_heading(document, "I. TÌNH HÌNH BÁO CÁO")
    for index, source in enumerate(sources, start=1):
        c = source.consolidation
        if c is None:
            line = f"{index}. {source.obligation.title}: chưa mở kỳ báo cáo, chưa có số liệu."
            d30.add_paragraph(document, line)
            continue
        late = sum(1 for r in c.reported if r.late)
        line = (
            f"{index}. {source.obligation.title}: đã nhận {len(c.reported)}/{c.expected} báo "
            f"cáo ({len(c.reported) - late} đúng hạn, {late} sau thời hạn); yêu cầu tổng hợp: "
            f"{rule_text(c.rule, c.expected)} — "
            + ("đã đáp ứng." if c.complete else "chưa đáp ứng.")
        )
        if c.missing:
            line += f" Chưa báo cáo: {'; '.join(name for _, name in c.missing)}."
        if c.waived:
            line += f" Được miễn: {'; '.join(name for _, name in c.waived)}."
        amended = [r.body_name for r in c.reported if r.after_close]
        if amended:
            line += f" Nhận sau khi kết thúc kỳ, được bổ sung: {'; '.join(amended)}."
        d30.add_paragraph(document, line)
    d30.add_picture(
        document,
        chart,
        _chart_width(chart),
        f"Biểu đồ: Tỷ lệ nộp đúng hạn các nội dung của Kế hoạch năm {year}, theo cơ quan",
    )


def _source_section(document, number: str, source: SourceReport) -> None:
    """One source obligation: its figures, each body's table and words, then its outline."""
    d30.add_section_heading(document, f"{number}. {source.obligation.title.upper()}")
    c = source.consolidation
    if c is None:
        d30.add_paragraph(document, "Chưa mở kỳ báo cáo: chưa có số liệu.")
        return
    outline = c.outline()
    _results(document, c, outline[0][1], nested=True)
    for number, (heading, fields) in enumerate(outline[1:], start=3):
        _quoted_section(document, f"{number}.", heading, c, fields)


def annual_document(
    defs: Definitions, sources: Sequence[SourceReport], text: AnnualText, chart: Path, year: int
):
    """The whole document, in memory; reports.annual saves it. One source keeps the usual
    outline (I–IV); several get the situation of each, then a section per source."""
    document = d30.new_document()
    d30.add_heading(document, text.heading)
    d30.add_title(document, "Báo cáo", text.summary, text.note)
    d30.add_paragraph(document, text.opening)
    if len(sources) == 1:
        consolidation = sources[0].consolidation
        _situation(document, consolidation, chart, year)
        outline = consolidation.outline()
        _results(document, consolidation, outline[0][1])
        for number, (heading, fields) in zip(ROMAN[2:], outline[1:], strict=False):
            _quoted_section(document, number, heading, consolidation, fields)
    else:
        _situation_of_sources(document, sources, chart, year)
        for number, source in enumerate(sources, start=2):
            _source_section(document, roman(number), source)
    d30.add_paragraph(
        document,
        f"Trên đây là báo cáo {text.summary[:1].lower()}{text.summary[1:]} của "
        f"{text.issuer_name}, kính báo cáo {' và '.join(text.recipients)} xem xét, chỉ đạo./.",
    )
    d30.add_closing(document, [f"{r} (b/c)" for r in text.recipients], text.signer)
    return document

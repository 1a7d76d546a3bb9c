"""XLSX workbooks: the aggregated figures and the compliance matrix (openpyxl).

Figures are written as numbers (never formulas: a reader without a calculation engine, such as
openpyxl or a mail preview, would see nothing), dates as dates formatted dd/mm/yyyy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from engine.definitions.models import FieldType
from engine.ledger.states import assignment_label
from reports.compliance import BodyRate, ComplianceRow, vn_day
from reports.consolidate import Consolidation, as_decimal
from reports.reproducible import normalise_zip

FONT = "Times New Roman"
DATE = "DD/MM/YYYY"
THIN = Side(style="thin", color="999999")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
MATRIX_SHEET = "Ma trận tuân thủ"
FIGURES_SHEET = "Tổng hợp số liệu"
RATES_SHEET = "Tỷ lệ đúng hạn"


def _title(sheet: Worksheet, title: str, subtitle: str, width: int) -> int:
    sheet.cell(1, 1, title).font = Font(name=FONT, bold=True, size=13)
    sheet.cell(2, 1, subtitle).font = Font(name=FONT, italic=True, size=11)
    for row in (1, 2):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    return 4


def _header(sheet: Worksheet, row: int, names: Sequence[str], widths: Sequence[int]) -> None:
    for column, (name, width) in enumerate(zip(names, widths, strict=True), start=1):
        cell = sheet.cell(row, column, name)
        cell.font = Font(name=FONT, bold=True, size=11)
        cell.fill = HEAD_FILL
        cell.border = GRID
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(row + 1, 3)


def _put(sheet: Worksheet, row: int, column: int, value: object, fmt: str | None = None):
    cell = sheet.cell(row, column, value)
    cell.font = Font(name=FONT, size=11)
    cell.border = GRID
    if fmt:
        cell.number_format = fmt
    if isinstance(value, str):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def figures_sheet(sheet: Worksheet, consolidation: Consolidation, title: str) -> None:
    """One row per body, the summed figures in a last 'Tổng cộng' row."""
    fields = consolidation.numeric_fields
    choices = [f for f in consolidation.upstream.form.fields if f.type == FieldType.choice]
    names = ["STT", "Cơ quan, đơn vị", *(f.label for f in fields), *(f.label for f in choices)]
    names += ["Ngày nộp", "Trạng thái"]
    widths = [6, 42, *([16] * len(fields)), *([18] * len(choices)), 13, 22]
    reported = len(consolidation.reported)
    start = _title(
        sheet,
        title,
        f"{reported}/{consolidation.expected} cơ quan, đơn vị đã báo cáo",
        len(names),
    )
    _header(sheet, start, names, widths)
    row = start
    for index, result in enumerate(consolidation.reported, start=1):
        row += 1
        _put(sheet, row, 1, index)
        _put(sheet, row, 2, result.body_name)
        column = 3
        for field in fields:
            amount = as_decimal(result.values.get(field.id))
            _put(sheet, row, column, amount, "#,##0.##" if amount is not None else None)
            column += 1
        for field in choices:
            _put(sheet, row, column, result.values.get(field.id, ""))
            column += 1
        _put(sheet, row, column, vn_day(result.submitted_at), DATE)
        state = assignment_label(result.state) + (" (nộp muộn)" if result.late else "")
        _put(sheet, row, column + 1, state)
    for _body_id, name in consolidation.missing:
        row += 1
        _put(sheet, row, 2, name)
        _put(sheet, row, len(names), "chưa báo cáo")
    row += 1
    label = _put(sheet, row, 2, "Tổng cộng")
    label.font = Font(name=FONT, bold=True, size=11)
    for offset, field in enumerate(fields):
        value = consolidation.totals.get(field.id) if field.sum_in_report else None
        cell = _put(sheet, row, 3 + offset, value, "#,##0.##")
        cell.font = Font(name=FONT, bold=True, size=11)
    for column in range(1, len(names) + 1):
        sheet.cell(row, column).fill = TOTAL_FILL


def matrix_sheet(sheet: Worksheet, rows: Sequence[ComplianceRow], title: str) -> None:
    names = [
        "Cơ quan, đơn vị",
        "Mã cơ quan",
        "Nghĩa vụ",
        "Kỳ",
        "Ngày yêu cầu",
        "Hạn nộp",
        "Ngày nộp lần đầu",
        "Ngày nộp gần nhất",
        "Trạng thái",
        "Đúng hạn",
    ]
    widths = [40, 24, 48, 10, 13, 13, 14, 14, 22, 10]
    start = _title(sheet, title, f"{len(rows)} phần việc", len(names))
    _header(sheet, start, names, widths)
    for offset, r in enumerate(rows, start=1):
        row = start + offset
        verdict = {True: "Có", False: "Không", None: ""}[r.on_time]
        values = [
            (r.body_name, None),
            (r.body_id, None),
            (r.obligation_title, None),
            (r.period_key, None),
            (r.requested_on, DATE),
            (r.due_on, DATE),
            (r.first_submitted_on, DATE),
            (r.last_submitted_on, DATE),
            (r.state_label, None),
            (verdict, None),
        ]
        for column, (value, fmt) in enumerate(values, start=1):
            _put(sheet, row, column, value, fmt if value is not None else None)
    last = start + max(len(rows), 1)
    sheet.auto_filter.ref = f"A{start}:{get_column_letter(len(names))}{last}"


def rates_sheet(sheet: Worksheet, rates: Sequence[BodyRate], title: str) -> None:
    names = ["Cơ quan, đơn vị", "Nộp đúng hạn", "Số phần việc đã đến hạn", "Tỷ lệ"]
    start = _title(
        sheet, title, "Chỉ tính phần việc đã đến hạn; không tính phần việc được miễn.", 4
    )
    _header(sheet, start, names, [44, 14, 16, 10])
    for offset, rate in enumerate(rates, start=1):
        row = start + offset
        _put(sheet, row, 1, rate.body_name)
        _put(sheet, row, 2, rate.on_time)
        _put(sheet, row, 3, rate.judged)
        _put(sheet, row, 4, round(rate.rate, 4), "0.0%")


def _save(workbook: Workbook, path: Path, stamp: dt.date) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(str(path))
    return normalise_zip(path, stamp)


def annual_workbook(
    consolidation: Consolidation,
    rows: Sequence[ComplianceRow],
    rates: Sequence[BodyRate],
    path: Path,
    *,
    year: int,
    stamp: dt.date,
    others: Sequence[Consolidation] = (),
) -> Path:
    """Figures (one sheet per source), compliance matrix and on-time rates of a year."""
    workbook = Workbook()
    figures_sheet(
        workbook.active, consolidation, f"Số liệu tổng hợp: {consolidation.upstream.title}"
    )
    workbook.active.title = FIGURES_SHEET
    for number, other in enumerate(others, start=2):
        sheet = workbook.create_sheet(f"{FIGURES_SHEET} ({number})")
        figures_sheet(sheet, other, f"Số liệu tổng hợp: {other.upstream.title}")
    matrix_sheet(workbook.create_sheet(MATRIX_SHEET), rows, f"Ma trận tuân thủ năm {year}")
    rates_sheet(workbook.create_sheet(RATES_SHEET), rates, f"Tỷ lệ nộp đúng hạn năm {year}")
    return _save(workbook, path, stamp)


def matrix_workbook(
    rows: Sequence[ComplianceRow],
    rates: Sequence[BodyRate],
    path: Path,
    *,
    title: str,
    stamp: dt.date,
) -> Path:
    workbook = Workbook()
    matrix_sheet(workbook.active, rows, title)
    workbook.active.title = MATRIX_SHEET
    rates_sheet(workbook.create_sheet(RATES_SHEET), rates, "Tỷ lệ nộp đúng hạn")
    return _save(workbook, path, stamp)

"""Read the province's address book (.xlsx or .csv) into rows, recognising Vietnamese headers.

The header row is the first row (within the first ten) that names a body column (code or name)
and a mailbox column; a title row above it is skipped. Row numbers are the spreadsheet's own.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.definitions.addressbook import BookRow
from engine.definitions.namekeys import plain_key

MAX_ROWS = 50_000  # far above any province's list; bounds what a wrong file can cost
MAX_BYTES = 20 * 1024 * 1024
HEADER_SEARCH = 10

# Checked in order on the header without diacritics; the first rule that applies wins, so the
# head's and cc columns ("email thủ trưởng") are recognised before the plain mailbox ("email").
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("head", re.compile(r"thu truong|lanh dao|chu tich|giam doc|^head$")),
    ("cc", re.compile(r"dong gui|^cc$|^bcc$|phoi hop")),
    ("code", re.compile(r"^(ma|code|id|ma so)\b|^ma (don vi|co quan|dvhc|hanh chinh|dinh danh)")),
    ("name", re.compile(r"^(ten|name|co quan|don vi)\b|ten (co quan|don vi)")),
    ("to", re.compile(r"email|e-mail|hop thu|thu dien tu|dia chi thu|^to$|^mail$|van thu")),
)
ACCEPTED_HEADERS = (
    "mã / mã đơn vị; tên / tên cơ quan / cơ quan / đơn vị; hộp thư / email / thư điện tử;"
    " hộp thư thủ trưởng / email lãnh đạo; đồng gửi / cc"
)


class BookError(ValueError):
    """The file cannot be read as an address book; the message is for the administrator."""


def column_kind(header: str) -> str | None:
    key = plain_key(header)
    return next((kind for kind, rule in _RULES if rule.search(key)), None)


def read_book(path: Path, sheet: str | None = None) -> list[BookRow]:
    """Rows of an .xlsx or .csv address book; BookError when it cannot be read."""
    if not path.is_file():
        raise BookError(f"không tìm thấy tệp {path}")
    if path.stat().st_size > MAX_BYTES:
        raise BookError(f"tệp {path.name} lớn hơn {MAX_BYTES // (1024 * 1024)} MB")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        cells = _xlsx_cells(path, sheet)
    elif suffix == ".csv":
        if sheet is not None:
            raise BookError("--sheet chỉ dùng với tệp .xlsx")
        cells = _csv_cells(path)
    else:
        raise BookError(f"không đọc được tệp '{path.name}': chỉ nhận .xlsx hoặc .csv")
    return _rows(cells, path.name)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number: 2269.0 is unit 02269
    return str(value).strip()


def _xlsx_cells(path: Path, sheet: str | None) -> Iterator[tuple[int, list[str]]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise BookError(f"tệp {path.name} không phải bảng tính .xlsx hợp lệ ({error})") from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            names = ", ".join(workbook.sheetnames)
            raise BookError(f"không có trang tính '{sheet}' (các trang: {names})")
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS:
                raise BookError(f"tệp có hơn {MAX_ROWS} dòng")
            yield number, [_text(value) for value in values]
    finally:
        workbook.close()


def _csv_cells(path: Path) -> Iterator[tuple[int, list[str]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BookError(
            f"tệp {path.name} không phải mã UTF-8: khi lưu từ Excel chọn 'CSV UTF-8'"
        ) from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        for values in reader:
            if reader.line_num > MAX_ROWS:
                raise BookError(f"tệp có hơn {MAX_ROWS} dòng")
            yield reader.line_num, [_text(value) for value in values]
    except csv.Error as error:
        raise BookError(f"tệp {path.name}, dòng {reader.line_num}: {error}") from None


def _rows(cells: Iterable[tuple[int, list[str]]], name: str) -> list[BookRow]:
    columns: dict[str, int] | None = None
    rows: list[BookRow] = []
    for number, values in cells:
        if columns is None:
            if number > HEADER_SEARCH:
                break
            columns = _header(values)
            continue
        if not any(values):
            continue
        picked = {
            kind: values[index] if index < len(values) else "" for kind, index in columns.items()
        }
        rows.append(BookRow(number=number, **picked))
    if columns is None:
        raise BookError(
            f"không tìm thấy dòng tiêu đề trong {HEADER_SEARCH} dòng đầu của {name}: cần một cột"
            f" mã hoặc tên cơ quan và một cột hộp thư (tiêu đề được nhận: {ACCEPTED_HEADERS})"
        )
    return rows


def _header(values: list[str]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for index, value in enumerate(values):
        kind = column_kind(value) if value else None
        if kind is not None and kind not in columns:
            columns[kind] = index
    has_body = "code" in columns or "name" in columns
    has_mailbox = any(kind in columns for kind in ("to", "head", "cc"))
    return columns if has_body and has_mailbox else None

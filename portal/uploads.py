"""Reading a multipart form as it streams in, with caps that refuse early.

Starlette's form parser reads a whole request before we can look at it. Here every part is
counted as it arrives: a file over the form's size limit, too much data overall or a file before
the CSRF token stops the read at once, without spooling the rest. Files are kept in spooled
temporary files (memory up to 1 MB, then disk) until the submission is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from portal.security import CSRF_FIELD

CSRF_MESSAGE = (
    "Biểu mẫu thiếu mã xác thực hoặc mã không đúng; xin mở lại đường liên kết trong thư và gửi lại."
)
NUL_MESSAGE = "Dữ liệu gửi lên chứa ký tự không hợp lệ (ký tự NUL); xin nhập lại nội dung."
SPOOL_BYTES = 1024 * 1024
MAX_FIELDS = 200
# A long-text field holds up to 20,000 characters; Vietnamese takes up to 3 bytes each in UTF-8.
MAX_FIELD_BYTES = 256 * 1024
FIELD_SLACK_BYTES = 2 * 1024 * 1024
# After a refusal, up to this much of the rest of the body is read and dropped, not stored.
DISCARD_BYTES = 64 * 1024 * 1024


class UploadRefused(Exception):
    """The request was refused while reading; `form` holds what had been read by then."""

    def __init__(self, status: int, message: str, form: ParsedForm | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.form = form


@dataclass
class Limits:
    max_file_bytes: int
    max_files: int

    @property
    def max_body_bytes(self) -> int:
        # One extra file's worth lets an over-the-count submission be read and reported kindly.
        return (self.max_files + 1) * self.max_file_bytes + FIELD_SLACK_BYTES


@dataclass
class Upload:
    """One received file: the name the client gave (untrusted) and its bytes, spooled."""

    name: str
    size: int
    spool: SpooledTemporaryFile = field(repr=False)
    # Starts like a zip (DOCX, XLSX, ODT): inspecting it is kept off the event loop.
    archive: bool = False

    def read(self) -> bytes:
        self.spool.seek(0)
        return self.spool.read()


@dataclass
class ParsedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def close(self) -> None:
        for upload in self.uploads:
            upload.spool.close()


class _Reader:
    """python-multipart callbacks that build a ParsedForm and enforce the limits."""

    def __init__(self, limits: Limits, csrf: Callable[[str], bool] | None) -> None:
        self.limits = limits
        self.csrf = csrf
        self.form = ParsedForm()
        self.guarded = csrf is None
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._filename: str | None = None
        self._data = bytearray()
        self._spool: SpooledTemporaryFile | None = None
        self._size = 0
        self._field_count = 0
        self._file_parts = 0
        self._archive = False

    def close_files(self) -> None:
        """Drop every file read so far; the text fields stay for showing the form again."""
        if self._spool is not None:
            self._spool.close()
        self.form.close()
        self.form.uploads.clear()

    def refuse(self, status: int, message: str) -> UploadRefused:
        return UploadRefused(status, message, self.form)

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._data = bytearray()
        self._spool = None
        self._size = 0
        self._filename = None
        self._archive = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise self.refuse(400, "Dữ liệu gửi lên không đúng định dạng biểu mẫu.")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self._filename = options[b"filename"].decode("utf-8", "replace")
            if not self.guarded:
                raise self.refuse(403, CSRF_MESSAGE)
            # Counted as the parts arrive (empty ones too): 100,000 tiny files stop at the
            # first one over the count instead of being spooled before a 422.
            self._file_parts += 1
            if self._file_parts > self.limits.max_files + 1:
                raise self.refuse(
                    413, f"Biểu mẫu gửi quá nhiều tệp (tối đa {self.limits.max_files} tệp)."
                )
            return
        self._field_count += 1
        if self._field_count > MAX_FIELDS:
            raise self.refuse(413, "Biểu mẫu có quá nhiều trường.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        self._size += len(chunk)
        if self._filename is None:
            if self._size > MAX_FIELD_BYTES:
                raise self.refuse(413, f"Nội dung ô “{self._name}” quá dài.")
            self._data.extend(chunk)
            return
        if self._size > self.limits.max_file_bytes:
            megabytes = self.limits.max_file_bytes / (1024 * 1024)
            raise self.refuse(
                413, f"Tệp “{self._filename}” vượt quá dung lượng cho phép ({megabytes:g} MB)."
            )
        if self._spool is None:
            self._archive = chunk.startswith(b"PK")
            self._spool = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by ParsedForm.close
        self._spool.write(chunk)

    def on_part_end(self) -> None:
        if self._filename is None:
            value = self._data.decode("utf-8", "replace")
            if "\x00" in value:
                # PostgreSQL refuses NUL in text; no form field has a use for one.
                raise self.refuse(422, NUL_MESSAGE)
            self.form.fields.setdefault(self._name, []).append(value)
            if self._name == CSRF_FIELD and self.csrf is not None:
                # A wrong token stops the read here: the files after it are never received.
                if not self.csrf(value):
                    raise self.refuse(403, CSRF_MESSAGE)
                self.guarded = True
            return
        if self._spool is None and not self._filename:
            return  # an empty file input: the browser sends a nameless, empty part
        spool = self._spool or SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.form.uploads.append(Upload(self._filename, self._size, spool, self._archive))
        self._spool = None


async def read_form(
    request: Request, limits: Limits, csrf: Callable[[str], bool] | None = None
) -> ParsedForm:
    """Parse a multipart (or urlencoded) POST; UploadRefused with an HTTP status when refused.

    With `csrf`, the `_csrf` field must come before any file and pass the check, or the read
    stops with 403.
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and re.fullmatch(r"[0-9]{1,19}", declared)
        and int(declared) > limits.max_body_bytes
    ):
        raise UploadRefused(413, "Dữ liệu gửi lên vượt quá dung lượng cho phép.")
    if content_type == b"application/x-www-form-urlencoded":
        return await _read_urlencoded(request, csrf)
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UploadRefused(400, "Dữ liệu gửi lên không đúng định dạng biểu mẫu.")
    reader = _Reader(limits, csrf)
    more = True
    try:
        parser = MultipartParser(
            params[b"boundary"],
            {
                "on_part_begin": reader.on_part_begin,
                "on_part_data": reader.on_part_data,
                "on_part_end": reader.on_part_end,
                "on_header_field": reader.on_header_field,
                "on_header_value": reader.on_header_value,
                "on_header_end": reader.on_header_end,
                "on_headers_finished": reader.on_headers_finished,
            },
        )
        received = 0
        while more:
            message = await request.receive()
            if message["type"] != "http.request":
                raise reader.refuse(400, "Kết nối bị ngắt trước khi gửi xong biểu mẫu.")
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            received += len(chunk)
            if received > limits.max_body_bytes:
                raise reader.refuse(413, "Dữ liệu gửi lên vượt quá dung lượng cho phép.")
            parser.write(chunk)
        parser.finalize()
    except UploadRefused:
        reader.close_files()
        if more:
            await discard_rest(request)
        raise
    except (FormParserError, ValueError) as error:
        reader.close_files()
        if more:
            await discard_rest(request)
        raise UploadRefused(400, "Dữ liệu gửi lên không đúng định dạng biểu mẫu.") from error
    if not reader.guarded:
        reader.form.close()
        raise UploadRefused(403, CSRF_MESSAGE)
    return reader.form


async def discard_rest(request: Request) -> None:
    """Read and drop what the client is still sending (up to a bound), so that a browser sees
    our refusal page instead of a connection reset."""
    left = DISCARD_BYTES
    while left > 0:
        message = await request.receive()
        if message["type"] != "http.request":
            return
        left -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _read_urlencoded(request: Request, csrf: Callable[[str], bool] | None) -> ParsedForm:
    """Forms without files (the operator's buttons) arrive urlencoded; they are small."""
    from urllib.parse import parse_qsl

    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > FIELD_SLACK_BYTES:
            raise UploadRefused(413, "Dữ liệu gửi lên vượt quá dung lượng cho phép.")
    form = ParsedForm()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise UploadRefused(400, "Dữ liệu gửi lên không đúng định dạng biểu mẫu.") from error
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise UploadRefused(422, NUL_MESSAGE)
        form.fields.setdefault(name, []).append(value)
    if csrf is not None and not csrf(form.first(CSRF_FIELD) or ""):
        raise UploadRefused(403, CSRF_MESSAGE)
    return form

"""Attachments: recognised by their content (never by their name) and stored by their sha256.

Content addressing makes a resubmitted file free and a stored file tamper-evident; the name a
body gave is kept only as a label, cleaned of any path and given the extension of the type its
content proves, so it can never choose where we write nor how a browser opens it.

Zip-based documents (DOCX, XLSX, ODT) are inspected without trusting them: the member count,
each member's declared size and compression ratio are capped before anything is decompressed,
and a member is only ever read through a bounded streaming read, so a small "archive bomb"
cannot make us inflate gigabytes. `inspect()` is the one entry point (portal, `kehoach submit`,
mail intake): it returns what the file is, or raises FileRefused with a Vietnamese reason.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import secrets
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "jpg": "image/jpeg",
    "png": "image/png",
}
KIND_OF_CONTENT_TYPE = {value: key for key, value in CONTENT_TYPES.items()}

# Limits on zip-based documents, checked on the central directory before any member is read.
MAX_ZIP_MEMBERS = 5000
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
# Office XML compresses 10-30×; far more than that on a large member is a bomb, not a report.
MAX_RATIO = 200
RATIO_FROM_BYTES = 1024 * 1024
# The few members we read to tell the type (mimetype, [Content_Types].xml) are small.
PROBE_BYTES = 256 * 1024
# DOCX/XLSX/ODT writers use only these; bzip2/LZMA members can expand ~10⁶× per input block.
SAFE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
    ValueError,
    KeyError,
)
MACRO_MARKERS = (b"macroEnabled", b"vbaProject", b"ms-office.vbaProject")


class FileRefused(ValueError):
    """An attachment the form does not accept (type, size, or an unreadable file)."""


@dataclass(frozen=True)
class Inspected:
    """What an accepted attachment is: its kind, the name to show and serve, its type."""

    kind: str
    file_name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class StoredFile:
    file_name: str
    content_type: str
    size: int
    sha256: str
    kind: str


def _zip_kind(data: bytes, clean: str) -> str | None:
    """docx, xlsx or odt if the archive is a sound document of that kind; FileRefused if it is
    a bomb, broken, or carries macros; None if it is some other zip."""
    if data.count(b"PK\x01\x02") > MAX_ZIP_MEMBERS:
        raise FileRefused(f"Tệp '{clean}' chứa quá nhiều thành phần nén.")
    try:
        archive_file = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        return None  # not an archive at all: not a document of ours
    except ARCHIVE_ERRORS as error:
        raise FileRefused(f"Tệp '{clean}' là tệp nén bị hỏng, không đọc được.") from error
    try:
        with archive_file as archive:
            members = archive.infolist()
            _check_members(members, clean)
            names = {m.filename for m in members}
            if "mimetype" in names:
                head = _read_member(archive, archive.getinfo("mimetype"), clean)
                if head.decode("ascii", "replace").strip() == CONTENT_TYPES["odt"]:
                    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                        raise FileRefused(_macro_message(clean))
                    return "odt"
            if "[Content_Types].xml" in names:
                types = _read_member(archive, archive.getinfo("[Content_Types].xml"), clean)
                if any(marker in types for marker in MACRO_MARKERS) or any(
                    n.lower().endswith("vbaproject.bin") for n in names
                ):
                    raise FileRefused(_macro_message(clean))
                if any(n.startswith("word/") for n in names):
                    return "docx"
                if any(n.startswith("xl/") for n in names):
                    return "xlsx"
    except FileRefused:
        raise
    except ARCHIVE_ERRORS as error:
        raise FileRefused(f"Tệp '{clean}' là tệp nén bị hỏng, không đọc được.") from error
    return None


def _check_members(members: list[zipfile.ZipInfo], clean: str) -> None:
    total = 0
    for member in members:
        total += member.file_size
        ratio_too_high = member.file_size > RATIO_FROM_BYTES and member.file_size > MAX_RATIO * max(
            member.compress_size, 1
        )
        if member.file_size > MAX_MEMBER_BYTES or total > MAX_ARCHIVE_BYTES or ratio_too_high:
            raise FileRefused(
                f"Tệp '{clean}' có thành phần nén bất thường (giải nén ra quá lớn); "
                "không được chấp nhận."
            )


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, clean: str) -> bytes:
    """At most PROBE_BYTES of one member, decompressed incrementally (never all at once)."""
    if member.compress_type not in SAFE_METHODS or member.file_size > PROBE_BYTES:
        raise FileRefused(f"Tệp '{clean}' có thành phần nén bất thường; không được chấp nhận.")
    with archive.open(member) as stream:
        data = stream.read(PROBE_BYTES + 1)
    if len(data) > PROBE_BYTES:
        raise FileRefused(f"Tệp '{clean}' có thành phần nén bất thường; không được chấp nhận.")
    return data


def _macro_message(clean: str) -> str:
    return (
        f"Tệp '{clean}' có chứa macro; không nhận tài liệu có macro. "
        "Xin lưu lại thành tệp .docx/.xlsx/.odt thông thường rồi gửi lại."
    )


def sniff(data: bytes, name: str = "tệp") -> str | None:
    """The attachment kind its bytes prove, or None; FileRefused for a dangerous archive."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data, name)
    return None


def safe_name(name: str) -> str:
    """A display name with no directories, control characters or leading dots."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = base.strip().lstrip(".")
    return base[:200] or "tep-dinh-kem"


def name_for_kind(name: str, kind: str) -> str:
    """The clean name ending in the extension of the proven kind: 'bao-cao.html' holding a
    PDF becomes 'bao-cao.pdf', 'bao-cao.pdf.hta' becomes 'bao-cao.pdf'."""
    clean = safe_name(name)
    stem, dot, suffix = clean.rpartition(".")
    # Drop a last extension-like suffix ('html', 'hta', 'docm'); keep 'v1.2'-like endings.
    if dot and stem and len(suffix) <= 5 and suffix.isalnum() and not suffix.isdigit():
        clean = stem.rstrip(". ")
    extension = f".{kind}"
    accepted = (extension, ".jpeg") if kind == "jpg" else (extension,)
    if not clean.lower().endswith(accepted):
        clean = f"{clean[:195]}{extension}"
    return clean if clean != extension else f"tep-dinh-kem{extension}"


def inspect(source: bytes | Path, name: str, allowed: list[str], max_mb: float) -> Inspected:
    """What an attachment is (kind, served name, content type), or FileRefused with a
    Vietnamese reason. Reads a path only after its size passed; bounded in memory and time."""
    clean = safe_name(name)
    limit = max_mb * 1024 * 1024
    if isinstance(source, Path):
        try:
            if source.stat().st_size > limit:
                raise FileRefused(f"Tệp '{clean}' vượt quá {max_mb:g} MB.")
            source = source.read_bytes()
        except OSError as error:
            raise FileRefused(f"Không đọc được tệp '{clean}'.") from error
    if len(source) == 0:
        raise FileRefused(f"Tệp '{clean}' rỗng.")
    if len(source) > limit:
        raise FileRefused(f"Tệp '{clean}' vượt quá {max_mb:g} MB.")
    kind = sniff(source, clean)
    if kind is None or kind not in allowed:
        shown = ", ".join(allowed)
        raise FileRefused(
            f"Tệp '{clean}' không phải loại được chấp nhận ({shown}); "
            "hệ thống kiểm tra nội dung tệp, không dựa vào phần mở rộng."
        )
    return Inspected(kind, name_for_kind(clean, kind), CONTENT_TYPES[kind], len(source))


def check(data: bytes, name: str, allowed: list[str], max_mb: float) -> tuple[str, str]:
    """(kind, served name) or FileRefused with a Vietnamese reason."""
    found = inspect(data, name, allowed, max_mb)
    return found.kind, found.file_name


def save(data: bytes, found: Inspected, files_dir: Path) -> StoredFile:
    """Write an inspected file under files_dir/ab/abcdef… (atomic, mode 0600; an existing copy
    is reused). The caller inspected it: it is not read again."""
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(files_dir, digest)
    if not target.exists():
        for directory in (files_dir, target.parent):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = target.with_name(f".{digest}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    return StoredFile(found.file_name, found.content_type, len(data), digest, found.kind)


def store(data: bytes, name: str, files_dir: Path, allowed: list[str], max_mb: float) -> StoredFile:
    """Inspect, then save."""
    return save(data, inspect(data, name, allowed, max_mb), files_dir)


def served_name(file_name: str, content_type: str) -> str:
    """The download name of a stored file: its label with the extension of its stored type
    (files recorded before names followed types are corrected on the way out)."""
    kind = KIND_OF_CONTENT_TYPE.get(content_type)
    return name_for_kind(file_name, kind) if kind else safe_name(file_name)


def path_for(files_dir: Path, digest: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise FileRefused("Mã băm tệp không hợp lệ.")
    return files_dir / digest[:2] / digest

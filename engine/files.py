"""Attachments: recognised by their content (never by their name) and stored by their sha256.

Content addressing makes a resubmitted file free and a stored file tamper-evident; the name a
body gave is kept only as a label, cleaned of any path, so it can never choose where we write.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
import zipfile
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


class FileRefused(ValueError):
    """An attachment the form does not accept (type, size, or an unreadable file)."""


@dataclass(frozen=True)
class StoredFile:
    file_name: str
    content_type: str
    size: int
    sha256: str
    kind: str


def sniff(data: bytes) -> str | None:
    """The attachment kind its bytes prove, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "mimetype" in names:
                    mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                    if mimetype == CONTENT_TYPES["odt"]:
                        return "odt"
                if "[Content_Types].xml" in names:
                    if any(n.startswith("word/") for n in names):
                        return "docx"
                    if any(n.startswith("xl/") for n in names):
                        return "xlsx"
        except (zipfile.BadZipFile, OSError, KeyError):
            return None
    return None


def safe_name(name: str) -> str:
    """A display name with no directories, control characters or leading dots."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = base.strip().lstrip(".")
    return base[:200] or "tep-dinh-kem"


def check(data: bytes, name: str, allowed: list[str], max_mb: float) -> tuple[str, str]:
    """(kind, clean name) or FileRefused with a Vietnamese reason."""
    clean = safe_name(name)
    if len(data) == 0:
        raise FileRefused(f"Tệp '{clean}' rỗng.")
    if len(data) > max_mb * 1024 * 1024:
        raise FileRefused(f"Tệp '{clean}' vượt quá {max_mb:g} MB.")
    kind = sniff(data)
    if kind is None or kind not in allowed:
        shown = ", ".join(allowed)
        raise FileRefused(
            f"Tệp '{clean}' không phải loại được chấp nhận ({shown}); "
            "hệ thống kiểm tra nội dung tệp, không dựa vào phần mở rộng."
        )
    return kind, clean


def store(data: bytes, name: str, files_dir: Path, allowed: list[str], max_mb: float) -> StoredFile:
    """Check, then write under files_dir/ab/abcdef… (atomic; an existing copy is reused)."""
    kind, clean = check(data, name, allowed, max_mb)
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(files_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{digest}.{secrets.token_hex(4)}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    return StoredFile(clean, CONTENT_TYPES[kind], len(data), digest, kind)


def path_for(files_dir: Path, digest: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise FileRefused("Mã băm tệp không hợp lệ.")
    return files_dir / digest[:2] / digest

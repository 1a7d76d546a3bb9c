"""Same content, same bytes: DOCX and XLSX files are zip archives whose entries carry the time
they were written; rewriting them with a fixed time makes a re-render of unchanged data produce
the same sha256, so re-running a flow step archives nothing new."""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
CORE = "docProps/core.xml"
STAMPED = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def normalise_zip(path: Path, stamp: dt.date) -> Path:
    """Rewrite a zip archive in place with fixed entry times; the document's created and
    modified properties become `stamp` (the report's date, not the wall clock)."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    when = f"{stamp.isoformat()}T00:00:00Z".encode()
    entries = [
        (
            name,
            STAMPED.sub(lambda m: m.group(1) + when + m.group(3), data) if name == CORE else data,
        )
        for name, data in entries
    ]
    temporary = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as target:
        # [Content_Types].xml must stay first for some readers; keep the writer's order.
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    os.replace(temporary, path)
    return path

"""Names compared as people write them: Unicode normalised, dashes and spaces folded.

"Bà Rịa – Vũng Tàu" (en dash), "Bà Rịa - Vũng Tàu" and "Bà Rịa-Vũng Tàu" are one place; a
decomposed "ệ" (e + two combining marks, as some keyboards and PDFs produce) is the composed one.
"""

from __future__ import annotations

import re
import unicodedata

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH_RE = re.compile(rf"\s*[-{DASHES}]\s*")
_SPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """The comparable form of a name: NFC, one plain dash with spaces around, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _DASH_RE.sub(" - ", text)
    return _SPACE_RE.sub(" ", text).strip()


def same_name(first: str, second: str) -> bool:
    return fold(first) == fold(second)


def strip_suffix(name: str, suffix: str) -> str | None:
    """`name` without a trailing `suffix` (compared folded), or None when it does not end so."""
    folded, tail = fold(name), fold(suffix)
    if not tail or not folded.endswith(tail):
        return None
    return folded[: -len(tail)].rstrip()

"""Names compared as people type them: Unicode form, case, spaces and dashes folded; and, as a
fallback, without diacritics (a spreadsheet typed without Vietnamese input still matches)."""

from __future__ import annotations

import re
import unicodedata

_DASHES = re.compile(r"\s*[-\u2010-\u2015\u2212]\s*")
_SPACES = re.compile(r"\s+")


def name_key(text: str) -> str:
    """Case, Unicode form, whitespace and dash spelling folded; diacritics kept."""
    text = unicodedata.normalize("NFC", text).casefold().strip().rstrip(".;,")
    return _SPACES.sub(" ", _DASHES.sub(" - ", text))


def plain_key(text: str) -> str:
    """`name_key` without diacritics (đ as d): "Ủy ban" and "Uỷ ban" and "Uy ban" agree."""
    decomposed = unicodedata.normalize("NFD", name_key(text).replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))

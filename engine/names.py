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


# The Vietnamese alphabet (with f, j, w, z for borrowed names where Latin puts them); tones
# only break ties, in the dictionary order: none, huyền, sắc, hỏi, ngã, nặng.
_ALPHABET = {letter: 100 + i for i, letter in enumerate("aăâbcdđeêfghijklmnoôơpqrstuưvwxyz")}
_TONES = {"\u0300": 1, "\u0301": 2, "\u0309": 3, "\u0303": 4, "\u0323": 5}


def _letter(char: str) -> tuple[int, int]:
    """(place in the alphabet, tone) of one character; what is not a letter sorts by code
    point (spaces and digits before every letter)."""
    decomposed = unicodedata.normalize("NFD", char.lower())
    base = "".join(c for c in decomposed if c not in _TONES)
    tone = next((_TONES[c] for c in decomposed if c in _TONES), 0)
    place = _ALPHABET.get(unicodedata.normalize("NFC", base))
    if place is None:
        code = ord(char)
        return (code if code < 100 else 1000 + code), 0
    return place, tone


def alphabetical(text: str) -> tuple:
    """A sort key putting names in Vietnamese dictionary order, syllable by syllable, a tone
    deciding only between syllables of the same letters: "Bạch Đích" < "Bạch Xa" < "Bình An"
    and "Đông Thọ" < "Đồng Tâm" < "Đồng Văn", where code-point order puts "Bình" before
    "Bạch" and "Đ" after "Z"."""
    words = []
    for word in fold(text).split(" "):
        letters = [_letter(c) for c in word]
        words.append((tuple(p for p, _ in letters), tuple(t for _, t in letters)))
    return tuple(words), text

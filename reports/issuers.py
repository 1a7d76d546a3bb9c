"""How a body is named on its own documents: header lines, the symbol in "Số: 12/BC-SVHTTDL",
the signer's title. Everything is derived from bodies.yaml, so a renamed body signs correctly.

The symbol is derived (no `symbol` key in bodies.yaml): a department (kind `so`) is "S" plus the
initials of the words after "Sở" ("Văn hóa, Thể thao và Du lịch" → SVHTTDL), a people's
committee "UBND", the committee's office "VPUBND", any other body the initials of its name.
"và" is skipped and the place name after "tỉnh" is dropped; diacritics go except in Đ, as
administrative symbols are written (HĐND, SGDĐT).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from engine.definitions.models import Body, BodyKind, Definitions
from engine.names import fold, same_name, strip_suffix
from engine.vndates import official_date

HEAD_TITLES = {
    BodyKind.so: "Giám đốc",
    BodyKind.van_phong: "Chánh Văn phòng",
    BodyKind.ubnd_tinh: "Chủ tịch",
    BodyKind.ubnd_huyen: "Chủ tịch",
    BodyKind.ubnd_xa: "Chủ tịch",
    BodyKind.ban_dang: "Trưởng ban",
    BodyKind.co_quan_bao_chi: "Tổng Biên tập",
    BodyKind.cong_thong_tin: "Trưởng Ban Biên tập",
}
DEFAULT_HEAD = "Thủ trưởng cơ quan"


def upper(text: str) -> str:
    return text.upper()


def plain_letter(char: str) -> str:
    """A letter without its diacritics, except Đ (kept, as in administrative symbols)."""
    if char in "Đđ":
        return "Đ"
    return unicodedata.normalize("NFD", char)[0].upper()


def _short_name(defs: Definitions, body: Body) -> str:
    """The body's name without what the header's first line already says."""
    # Compared folded (Unicode form, dashes, spaces): "Bà Rịa – Vũng Tàu" is "Bà Rịa - Vũng Tàu";
    # `kehoach validate` warns about the two spellings.
    name = fold(body.name)
    parent = defs.bodies.get(body.parent) if body.parent else None
    if parent and not same_name(name, parent.name):
        shorter = strip_suffix(name, parent.name)
        if shorter and shorter != name:
            return shorter.strip()
    for word in ("tỉnh", "thành phố"):
        shorter = strip_suffix(name, f"{word} {defs.plan.place}")
        if shorter:
            return shorter.strip()
    return name


def _abbreviated(name: str) -> str:
    return re.sub(r"^Ủy ban nhân dân", "UBND", name.strip())


def header_names(defs: Definitions, body: Body) -> tuple[str, str]:
    """(supervising body line, issuing body line), both in capitals as the header prints them."""
    parent = defs.bodies.get(body.parent) if body.parent else None
    supervising = upper(_abbreviated(parent.name)) if parent else ""
    if body.kind in (BodyKind.ubnd_tinh, BodyKind.ubnd_huyen, BodyKind.ubnd_xa):
        return supervising, upper(body.name)
    return supervising, upper(_short_name(defs, body))


def _initials(words: str) -> str:
    parts = [w for w in re.split(r"[\s,;()]+", words) if w and w.lower() != "và"]
    return "".join(plain_letter(w[0]) for w in parts)


def symbol(defs: Definitions, body: Body) -> str:
    """The issuing body's part of a document symbol, e.g. SVHTTDL."""
    if body.kind in (BodyKind.ubnd_tinh, BodyKind.ubnd_huyen, BodyKind.ubnd_xa):
        return "UBND"
    if body.kind == BodyKind.van_phong:
        return "VPUBND"
    name = _short_name(defs, body)
    if body.kind == BodyKind.so and name.startswith("Sở "):
        return "S" + _initials(name[3:])
    return _initials(name)


def number_line(defs: Definitions, body: Body, kind_symbol: str, number: str = "") -> str:
    """'Số: 12/BC-SVHTTDL'; a draft without a number leaves the place for it: 'Số: …/BC-…'."""
    return f"Số: {number.strip() or '…'}/{kind_symbol}-{symbol(defs, body)}"


def place_date(defs: Definitions, day: dt.date | None, year: int | None = None) -> str:
    """'Tuyên Quang, ngày 05 tháng 01 năm 2026'; without a day, blanks for the signing date."""
    if day is None:
        return f"{defs.plan.place}, ngày      tháng      năm {year or ''}".rstrip()
    return f"{defs.plan.place}, {official_date(day)}"


def head_title(body: Body) -> str:
    return HEAD_TITLES.get(body.kind, DEFAULT_HEAD)


def signer_lines(body: Body, *, deputy: bool) -> tuple[str, str]:
    """(authority line, title line): 'GIÁM ĐỐC', '' or 'KT. GIÁM ĐỐC', 'PHÓ GIÁM ĐỐC'."""
    head = head_title(body)
    if deputy:
        return f"KT. {upper(head)}", upper(f"Phó {head}")
    return upper(head), ""

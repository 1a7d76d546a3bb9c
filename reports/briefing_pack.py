"""The briefing pack: the programme and the participants' items, as DOCX (Decree 30/2020 layout,
issued by the host) and as a standalone HTML page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from engine.definitions.models import Definitions
from engine.vndates import long_date, short_date, weekday_name
from reports import decree30 as d30
from reports import issuers
from reports.briefing import Pack, agenda
from reports.letters import pages
from reports.reproducible import normalise_zip


@dataclass(frozen=True)
class PackFiles:
    docx: Path
    html: Path


def pack_title(pack: Pack) -> str:
    return pack.title


def _when(pack: Pack) -> str:
    day = pack.briefing_on
    return (
        f"Thời gian: {weekday_name(day)}, {long_date(day)} (giờ và địa điểm cụ thể theo giấy mời "
        f"của {pack.host.name})."
    )


def _docx(defs: Definitions, pack: Pack, path: Path, today: dt.date) -> Path:
    supervising, issuer = issuers.header_names(defs, pack.host)
    document = d30.new_document()
    d30.add_heading(
        document,
        d30.Heading(
            supervising=supervising,
            issuer=issuer,
            number=issuers.number_line(defs, pack.host, "CTr"),
            place_date=issuers.place_date(defs, today),
        ),
    )
    d30.add_title(document, "Chương trình", pack_title(pack))
    d30.add_paragraph(document, _when(pack))
    d30.add_section_heading(document, "I. CHƯƠNG TRÌNH HỘI NGHỊ")
    rows = [[str(i), what, who] for i, (what, who) in enumerate(agenda(pack), start=1)]
    d30.add_grid(document, ["STT", "Nội dung", "Thực hiện"], rows, (14, 96, 65), numeric_from=9)
    d30.add_section_heading(document, "II. NỘI DUNG CÁC CƠ QUAN, ĐƠN VỊ ĐỀ NGHỊ")
    if not pack.items:
        d30.add_paragraph(document, "Chưa có cơ quan, đơn vị nào gửi nội dung đề nghị.")
    for index, item in enumerate(pack.items, start=1):
        d30.add_section_heading(document, f"{index}. {item.title} ({item.body_name})")
        if item.presenter:
            d30.add_paragraph(document, f"Người trình bày: {item.presenter}.")
        for label, text in item.sections:
            d30.add_quote(document, label, text)
        if item.attachments:
            d30.add_paragraph(document, "Tài liệu kèm theo: " + "; ".join(item.attachments) + ".")
    d30.add_section_heading(document, "III. TÌNH HÌNH GỬI NỘI DUNG")
    d30.add_paragraph(
        document,
        f"Có nội dung đề nghị: {len(pack.items)}; không có nội dung kỳ này: {len(pack.nothing)}"
        + (f" ({'; '.join(pack.nothing)})" if pack.nothing else "")
        + f"; chưa gửi: {len(pack.missing)}"
        + (f" ({'; '.join(pack.missing)})" if pack.missing else "")
        + ".",
    )
    d30.save(document, path)
    return normalise_zip(path, today)


def render_pack(defs: Definitions, pack: Pack, out_dir: Path, today: dt.date) -> PackFiles:
    """Write the pack's DOCX and HTML under out_dir; the same pack gives the same bytes."""
    stem = f"tai-lieu-giao-ban-bao-chi-{pack.period_key}"
    docx = _docx(defs, pack, Path(out_dir) / f"{stem}.docx", today)
    html = Path(out_dir) / f"{stem}.html"
    html.write_text(
        pages()
        .get_template("briefing-pack.html")
        .render(
            pack=pack,
            title=pack_title(pack),
            when=_when(pack),
            agenda=agenda(pack),
            issued=short_date(today),
        ),
        encoding="utf-8",
    )
    return PackFiles(docx, html)

"""The year-end consolidation's documents, rendered from the ledger: DOCX, XLSX and the chart.

Pure of Prefect: the consolidation flow, `kehoach report annual` and the year simulator call
`render_annual` alike. Without a `Signing` the documents are a draft ("DỰ THẢO", no number).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from engine.bodies import resolve_responsible, resolve_target, role_holder, successors_on
from engine.calendar import today_in_vietnam
from engine.definitions.coverage import walk
from engine.definitions.models import Body, Definitions, Obligation, Target
from reports import decree30 as d30
from reports import issuers
from reports.annual_docx import AnnualText, annual_document
from reports.chart import on_time_chart
from reports.compliance import compliance_rows, on_time_rates
from reports.consolidate import Consolidation, ReportError, annual_pair, consolidate
from reports.reproducible import normalise_zip
from reports.wording import report_subject
from reports.workbook import annual_workbook

# Besides the obligation's recipient, the year-end report goes to the ministry holding this role
# (annual-consolidation.yaml says so); a definitions set without the role sends to the recipient.
MINISTRY_ROLE = "bo-chu-quan"


@dataclass(frozen=True)
class Signing:
    """What the approval adds to the draft: the number, the date, who signs."""

    number: str
    signed_on: dt.date
    signer_name: str
    deputy: bool = False


@dataclass(frozen=True)
class AnnualDocuments:
    docx: Path
    xlsx: Path
    chart: Path
    totals: dict[str, Decimal]
    bodies_reported: int
    bodies_expected: int
    complete: bool
    missing: tuple[str, ...] = ()
    version: int = 1


def issuing_body(defs: Definitions, obligation: Obligation, on: dt.date) -> Body:
    """The body that signs the obligation's report: its responsible body on that day."""
    bodies = resolve_responsible(defs, obligation, on)
    if not bodies:
        raise ReportError(f"Nhiệm vụ '{obligation.id}' không có cơ quan chịu trách nhiệm.")
    return bodies[0]


def _target_bodies(defs: Definitions, target: Target, on: dt.date) -> list[Body]:
    if target.role is not None:
        holder = role_holder(defs, target.role, on)
        return [holder] if holder else []
    if target.body is not None:
        return successors_on(defs, target.body, on)
    return []


def report_recipients(defs: Definitions, obligation: Obligation, on: dt.date) -> list[Body]:
    """Who receives the signed report: the obligation's recipient, then the ministry."""
    bodies = _target_bodies(defs, obligation.recipient, on)
    if MINISTRY_ROLE in defs.roles:
        bodies += _target_bodies(defs, Target(role=MINISTRY_ROLE), on)
    unique: dict[str, Body] = {}
    for body in bodies:
        unique.setdefault(body.id, body)
    return list(unique.values())


def recipient_addresses(defs: Definitions, obligation: Obligation, on: dt.date) -> list[str]:
    addresses = [a for b in report_recipients(defs, obligation, on) for a in b.mailboxes.to]
    return list(dict.fromkeys(addresses)) or resolve_target(defs, obligation.recipient, None, on)


def _opening(defs: Definitions, upstream: Obligation, issuer: Body, reported: int, expected: int):
    titles = {c.id: c for c in walk(defs.plan.clauses)}
    plan_issuer = defs.bodies.get(defs.plan.issuer)
    clauses = ", ".join(f"mục {c}" for c in upstream.clauses[:1] if c in titles)
    plan_ref = f"Kế hoạch số {defs.plan.number} của {plan_issuer.name if plan_issuer else ''}"
    return (
        f"Thực hiện {plan_ref.strip()} ({defs.plan.title.strip()})"
        + (f", {clauses}" if clauses else "")
        + f", trên cơ sở báo cáo của {reported}/{expected} cơ quan, đơn vị, địa phương, "
        f"{issuer.name} báo cáo kết quả như sau:"
    )


def file_stem(year: int, version: int, draft: bool) -> str:
    return f"bao-cao-tong-hop-{year}-v{version}" + ("-du-thao" if draft else "")


def _load(defs: Definitions, session: Session, year: int) -> tuple[Obligation, Consolidation]:
    obligation, upstream = annual_pair(defs)
    return obligation, consolidate(defs, session, upstream, str(year))


def render_annual(
    defs: Definitions,
    sessions: sessionmaker[Session],
    year: int,
    out_dir: Path,
    *,
    version: int = 1,
    today: dt.date | None = None,
    signing: Signing | None = None,
) -> AnnualDocuments:
    """Render the year's consolidated report (DOCX), workbook (XLSX) and chart (PNG) into out_dir.

    ReportError (Vietnamese) when the definitions have no year-end consolidation or the ledger
    has no cycle for that year.
    """
    today = today or today_in_vietnam()
    with sessions() as session:
        obligation, consolidation = _load(defs, session, year)
        rows = compliance_rows(defs, session, year=year, today=today)
    rates = on_time_rates(rows)
    issuer = issuing_body(defs, obligation, today)
    recipients = report_recipients(defs, obligation, today)
    draft = signing is None
    stem = file_stem(year, version, draft)
    out_dir = Path(out_dir)
    labels = {b.id: b.short_name for b in defs.bodies.values()}
    chart = on_time_chart(
        rates,
        labels,
        f"Tỷ lệ nộp đúng hạn năm {year}",
        out_dir / f"ty-le-dung-han-{year}-v{version}.png",
    )
    supervising, issuer_line = issuers.header_names(defs, issuer)
    authority, title = issuers.signer_lines(issuer, deputy=bool(signing and signing.deputy))
    text = AnnualText(
        heading=d30.Heading(
            supervising=supervising,
            issuer=issuer_line,
            number=issuers.number_line(defs, issuer, "BC", signing.number if signing else ""),
            place_date=issuers.place_date(defs, signing.signed_on if signing else None, year),
            draft=draft,
        ),
        summary=report_subject(consolidation.upstream.title, f"năm {year}"),
        note=f"(Bản sửa đổi, bổ sung lần {version - 1})" if version > 1 else "",
        opening=_opening(
            defs,
            consolidation.upstream,
            issuer,
            len(consolidation.reported),
            consolidation.expected,
        ),
        issuer_name=issuer.name,
        recipients=[b.name for b in recipients] or ["Ủy ban nhân dân tỉnh"],
        signer=d30.Signer(authority, title, signing.signer_name if signing else ""),
    )
    document = annual_document(defs, consolidation, text, chart, year)
    docx = d30.save(document, out_dir / f"{stem}.docx")
    normalise_zip(docx, signing.signed_on if signing else today)
    xlsx = annual_workbook(
        consolidation, rows, rates, out_dir / f"{stem}.xlsx", year=year, stamp=today
    )
    return AnnualDocuments(
        docx=docx,
        xlsx=xlsx,
        chart=chart,
        totals=dict(consolidation.totals),
        bodies_reported=len(consolidation.reported),
        bodies_expected=consolidation.expected,
        complete=consolidation.complete,
        missing=tuple(name for _, name in consolidation.missing),
        version=version,
    )

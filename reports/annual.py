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
from reports.consolidate import (
    ReportError,
    SourceReport,
    consolidate_sources,
    consolidation_obligation,
    consolidation_period,
)
from reports.reproducible import normalise_zip
from reports.wording import document_subject
from reports.workbook import annual_workbook


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
    """Who receives the signed report: `report.recipients` as declared, else the recipient."""
    declared = obligation.report.recipients if obligation.report else []
    bodies = [b for t in declared or [obligation.recipient] for b in _target_bodies(defs, t, on)]
    unique: dict[str, Body] = {}
    for body in bodies:
        unique.setdefault(body.id, body)
    return list(unique.values())


def recipient_addresses(defs: Definitions, obligation: Obligation, on: dt.date) -> list[str]:
    addresses = [a for b in report_recipients(defs, obligation, on) for a in b.mailboxes.to]
    return list(dict.fromkeys(addresses)) or resolve_target(defs, obligation.recipient, None, on)


def _opening(
    defs: Definitions, upstream: Obligation, issuer: Body, reported: int, expected: int, many: bool
):
    titles = {c.id: c for c in walk(defs.plan.clauses)}
    plan_issuer = defs.bodies.get(defs.plan.issuer)
    clauses = ", ".join(f"mục {c}" for c in upstream.clauses[:1] if c in titles)
    plan_ref = f"Kế hoạch số {defs.plan.number} của {plan_issuer.name if plan_issuer else ''}"
    basis = (
        f"trên cơ sở {reported}/{expected} báo cáo của các cơ quan, đơn vị, địa phương"
        if many
        else f"trên cơ sở báo cáo của {reported}/{expected} cơ quan, đơn vị, địa phương"
    )
    return (
        f"Thực hiện {plan_ref.strip()} ({defs.plan.title.strip()})"
        + (f", {clauses}" if clauses else "")
        + f", {basis}, {issuer.name} báo cáo kết quả như sau:"
    )


def file_stem(period_key: int | str, version: int, draft: bool) -> str:
    return f"bao-cao-tong-hop-{period_key}-v{version}" + ("-du-thao" if draft else "")


def _totals(sources: list[SourceReport]) -> dict[str, Decimal]:
    """The first source's totals by field id, the others' as '<source>.<field>'."""
    totals: dict[str, Decimal] = {}
    for index, source in enumerate(s for s in sources if s.consolidation):
        for field_id, total in source.consolidation.totals.items():
            totals[field_id if index == 0 else f"{source.obligation.id}.{field_id}"] = total
    return totals


def _missing(sources: list[SourceReport]) -> tuple[str, ...]:
    made = [s for s in sources if s.consolidation]
    if len(sources) == 1:
        return tuple(name for _, name in made[0].consolidation.missing)
    names = [f"{name} ({s.obligation.title})" for s in made for _, name in s.consolidation.missing]
    return tuple(
        names + [f"chưa mở kỳ: {s.obligation.title}" for s in sources if not s.consolidation]
    )


def render_annual(
    defs: Definitions,
    sessions: sessionmaker[Session],
    year: int | str,
    out_dir: Path,
    *,
    obligation_id: str | None = None,
    version: int = 1,
    today: dt.date | None = None,
    signing: Signing | None = None,
) -> AnnualDocuments:
    """Render a period's consolidated report (DOCX), workbook (XLSX) and chart (PNG) into out_dir.

    `year` is the consolidation's period key (2026, or 2026-H1 for a half-yearly one). A section
    per source obligation. ReportError (Vietnamese) when the definitions have no consolidation or
    the ledger has no source cycle for that period.
    """
    today = today or today_in_vietnam()
    obligation = consolidation_obligation(defs, obligation_id)
    period = consolidation_period(obligation, str(year))
    key, year = period.key, period.end.year
    with sessions() as session:
        sources = consolidate_sources(defs, session, obligation, key)
        rows = compliance_rows(defs, session, year=year, today=today)
    made = [s.consolidation for s in sources if s.consolidation is not None]
    consolidation = made[0]
    reported = sum(len(c.reported) for c in made)
    expected = sum(c.expected for c in made)
    rates = on_time_rates(rows)
    issuer = issuing_body(defs, obligation, today)
    recipients = report_recipients(defs, obligation, today)
    draft = signing is None
    stem = file_stem(key, version, draft)
    out_dir = Path(out_dir)
    labels = {b.id: b.short_name for b in defs.bodies.values()}
    chart = on_time_chart(
        rates,
        labels,
        f"Tỷ lệ nộp đúng hạn năm {year}",
        # Named by the period key: a half-year's and the year's chart must not overwrite each
        # other (an annual consolidation's key is the year, so its name is unchanged).
        out_dir / f"ty-le-dung-han-{key}-v{version}.png",
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
        summary=document_subject(obligation, period.label),
        note=f"(Bản sửa đổi, bổ sung lần {version - 1})" if version > 1 else "",
        opening=_opening(
            defs, consolidation.upstream, issuer, reported, expected, many=len(sources) > 1
        ),
        issuer_name=issuer.name,
        recipients=[b.name for b in recipients],
        signer=d30.Signer(authority, title, signing.signer_name if signing else ""),
    )
    document = annual_document(defs, sources, text, chart, year)
    docx = d30.save(document, out_dir / f"{stem}.docx")
    normalise_zip(docx, signing.signed_on if signing else today)
    xlsx = annual_workbook(
        consolidation,
        rows,
        rates,
        out_dir / f"{stem}.xlsx",
        year=year,
        stamp=today,
        others=made[1:],
    )
    return AnnualDocuments(
        docx=docx,
        xlsx=xlsx,
        chart=chart,
        totals=_totals(sources),
        bodies_reported=reported,
        bodies_expected=expected,
        complete=all(s.complete for s in sources),
        missing=_missing(sources),
        version=version,
    )

"""The year-end consolidation's steps as plain functions (no Prefect): prepare the job, render a
draft for a review round, send it to the lead body, note a return, and on approval render the
signed version, archive it, send it to the recipients and record it as the lead's submission.

Every step can run again after a crash or a resume: drafts are kept per round and not redrawn,
letters are keyed, archived files are found by kind before anything is rendered again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from engine.bodies import resolve_responsible
from engine.definitions.models import Body, Obligation
from engine.forms import FormErrors, validate_submission
from engine.ledger import cycles as ledger_cycles
from engine.ledger.archive import archive_file
from engine.ledger.assignments import record_submission
from engine.ledger.models import ArchivedFile
from engine.ledger.outbox import outbox_key
from engine.periods import period_for_key
from engine.schedule import cycle_dates
from notifications.contexts import Addressee, Signature
from notifications.documents import DocumentFile, queue_documents
from reports.annual import (
    AnnualDocuments,
    Signing,
    issuing_body,
    render_annual,
    report_recipients,
)
from reports.consolidate import (
    ReportError,
    consolidation_key,
    consolidation_obligation,
    consolidation_period,
    handoff_total,
    sources_still_open,
    upstreams,
)
from reports.issuers import symbol
from reports.letters import renderer
from reports.office import Office
from reports.wording import document_title

log = logging.getLogger("kehoach.consolidation")
RETURNED, APPROVED = "consolidation-returned", "consolidation-approved"


@dataclass(frozen=True)
class Job:
    obligation: Obligation
    upstream: Obligation
    period_key: str
    year: int
    version: int
    cycle_id: int | None  # the consolidation's own cycle (the lead's duty to report)
    folder: Path
    skip: str = ""  # why nothing is to be done, in Vietnamese

    label: str = ""  # the period as a letter says it: "năm 2026", "6 tháng đầu năm 2026"
    sources: int = 1  # several sources: the document has a section per source

    @property
    def title(self) -> str:
        label = self.label or f"năm {self.year}"
        return document_title(self.obligation, label)


def prepare(office: Office, obligation_id: str, period_key: str, handoff_version: int) -> Job:
    """The consolidation's job for a period; its version counts every source's late reports."""
    obligation = consolidation_obligation(office.defs, obligation_id)
    sources = upstreams(office.defs, obligation_id)
    if not sources:
        raise ReportError(f"Không có báo cáo nguồn nào chuyển kết quả cho '{obligation_id}'.")
    period = consolidation_period(
        obligation, consolidation_key(office.defs, obligation, period_key)
    )
    with office.sessions() as session:
        total = handoff_total(office.defs, session, obligation, period.key)
        waiting = sources_still_open(office.defs, session, obligation, period.key)
    upstream = sources[0]
    version = max(handoff_version, total) + 1
    folder = office.reports_dir / obligation.id / period.key / f"v{version}"
    job = Job(
        obligation,
        upstream,
        period.key,
        period.end.year,
        version,
        None,
        folder,
        label=period.label,
        sources=len(sources),
    )
    if waiting:
        names = ", ".join(f"«{office.defs.obligations[w].title}»" for w in waiting)
        reason = f"chờ kỳ {period.label} của {names} bàn giao rồi mới tổng hợp"
        return _replace(job, skip=reason)
    rule = upstream.downstream.completeness if upstream.downstream else None
    if handoff_version > 0 and rule is not None and rule.late == "ignore":
        return _replace(job, skip="báo cáo nộp muộn được bỏ qua theo định nghĩa (late: ignore)")
    return _replace(job, cycle_id=_own_cycle(office, obligation, period.key))


def _replace(job: Job, **changes) -> Job:
    return Job(**{**job.__dict__, **changes})


def _own_cycle(office: Office, obligation: Obligation, period_key: str) -> int | None:
    """Get or open the consolidation's cycle, so the approved report is the lead's answer."""
    try:
        period = period_for_key(obligation.schedule, obligation.window, period_key)
    except ValueError:
        return None
    dates = cycle_dates(obligation, period, office.cal)
    bodies = [
        (b.id, b.name, dates.due_on)
        for b in resolve_responsible(office.defs, obligation, office.today)
    ]
    with office.sessions() as session:
        opening = ledger_cycles.open_cycle(
            session,
            obligation.id,
            period,
            dates.due_on,
            dates.closes_on,
            office.defs.digest,
            bodies,
            office.today,
            now=office.now,
        )
        return opening.cycle.id


def lead(office: Office, job: Job) -> Body:
    return issuing_body(office.defs, job.obligation, office.today)


def _summary_file(folder: Path) -> Path:
    return folder / "tom-tat.json"


def _load_summary(folder: Path) -> AnnualDocuments:
    data = json.loads(_summary_file(folder).read_text(encoding="utf-8"))
    return AnnualDocuments(
        docx=folder / data["docx"],
        xlsx=folder / data["xlsx"],
        chart=folder / data["chart"],
        totals={k: Decimal(v) for k, v in data["totals"].items()},
        bodies_reported=data["bodies_reported"],
        bodies_expected=data["bodies_expected"],
        complete=data["complete"],
        missing=tuple(data["missing"]),
        version=data["version"],
    )


def _render_once(office: Office, job: Job, folder: Path, signing: Signing | None):
    """Render into `folder` unless a complete render is already there: (documents, fresh)."""
    if _summary_file(folder).is_file():
        return _load_summary(folder), False
    temporary = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    docs = render_annual(
        office.defs,
        office.sessions,
        job.period_key,
        temporary,
        obligation_id=job.obligation.id,
        version=job.version,
        today=office.today,
        signing=signing,
    )
    data = asdict(docs)
    data.update(docx=docs.docx.name, xlsx=docs.xlsx.name, chart=docs.chart.name)
    data["totals"] = {k: str(v) for k, v in docs.totals.items()}
    _summary_file(temporary).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, folder)
    return _load_summary(folder), True


def draft(office: Office, job: Job, round_: int) -> tuple[AnnualDocuments, bool]:
    """The draft of a review round; a round's draft, once made, stays what the lead saw."""
    return _render_once(office, job, job.folder / f"du-thao-{round_}", None)


def send_draft(
    office: Office, job: Job, docs: AnnualDocuments, round_: int, comment: str, review_url: str
) -> int:
    body = lead(office, job)
    recipients = report_recipients(office.defs, job.obligation, office.today)
    rendered = renderer().render(
        "report-draft",
        {
            "addressee": Addressee(body.name),
            "signature": Signature("Hệ thống theo dõi kế hoạch"),
            "title": job.title,
            "round": round_,
            "comment": comment,
            "reported": docs.bodies_reported,
            "expected": docs.bodies_expected,
            "missing": list(docs.missing),
            "files": [docs.docx.name, docs.xlsx.name],
            "review_url": review_url,
            "send_to": [b.name for b in recipients],
        },
    )
    row = office.letter(
        rendered,
        key=outbox_key(job.cycle_id, body.id, f"du-thao-v{job.version}-{round_}", "doc-draft"),
        cycle_id=job.cycle_id,
        body_id=body.id,
        kind="doc-draft",
        rung=f"du-thao-v{job.version}-{round_}",
        to=list(body.mailboxes.to),
    )
    files = [docs.docx, docs.xlsx]
    return queue_documents(office.sessions, [row], files, domain=office.mail_domain, now=office.now)


def note_return(office: Office, job: Job, round_: int, comment: str, who: str) -> None:
    if job.cycle_id is None:
        return
    seen = office.events(job.cycle_id, RETURNED)
    if any(e.get("version") == job.version and e.get("round") == round_ for e in seen):
        return
    office.note(
        job.cycle_id,
        RETURNED,
        {"version": job.version, "round": round_, "comment": comment, "by": who},
    )


def _archived(office: Office, job: Job) -> dict[str, Path]:
    kinds = [f"report-v{job.version}-{part}" for part in ("docx", "xlsx", "png")]
    with office.sessions() as session:
        rows = session.execute(
            select(ArchivedFile.kind, ArchivedFile.path)
            .where(ArchivedFile.kind.in_(kinds), _cycle_is(job.cycle_id))
            .order_by(ArchivedFile.id)
        ).all()
    return {kind.rsplit("-", 1)[1]: Path(path) for kind, path in rows}


def _cycle_is(cycle_id: int | None):
    column = ArchivedFile.cycle_id
    return column.is_(None) if cycle_id is None else column == cycle_id


def finalize(office: Office, job: Job, signing: Signing, approver: str) -> AnnualDocuments:
    """Render and archive the signed version (once), send it, record it as the lead's report."""
    docs, _fresh = _render_once(office, job, job.folder / "ban-chinh-thuc", signing)
    if not _archived(office, job):
        with office.sessions() as session:
            for part, path in (("docx", docs.docx), ("xlsx", docs.xlsx), ("png", docs.chart)):
                archive_file(
                    session,
                    kind=f"report-v{job.version}-{part}",
                    file_name=path.name,
                    sha256=DocumentFile.of(path).sha256,
                    path=str(path.resolve()),
                    cycle_id=job.cycle_id,
                    now=office.now,
                )
    issuer = lead(office, job)
    rows = []
    for body in report_recipients(office.defs, job.obligation, office.today):
        if not body.mailboxes.to:
            continue
        rendered = renderer().render(
            "report-sent",
            {
                "addressee": Addressee(body.name),
                "signature": Signature(issuer.name, issuer.mailboxes.to[0]),
                "title": job.title,
                "number": signing.number,
                "signed_on": signing.signed_on,
                "version": job.version,
                "reported": docs.bodies_reported,
                "expected": docs.bodies_expected,
                "files": [docs.docx.name, docs.xlsx.name],
            },
        )
        rows.append(
            office.letter(
                rendered,
                key=outbox_key(job.cycle_id, body.id, f"v{job.version}", "doc-report"),
                cycle_id=job.cycle_id,
                body_id=body.id,
                kind="doc-report",
                rung=f"v{job.version}",
                to=list(body.mailboxes.to),
            )
        )
    queue_documents(
        office.sessions, rows, [docs.docx, docs.xlsx], domain=office.mail_domain, now=office.now
    )
    _record_as_submission(office, job, docs, signing, approver)
    if job.cycle_id is not None and not any(
        e.get("version") == job.version for e in office.events(job.cycle_id, APPROVED)
    ):
        office.note(
            job.cycle_id,
            APPROVED,
            {"version": job.version, "by": approver, "number": signing.number},
        )
    return docs


SECTION_NUMBERS = {"results": "II", "shortcomings": "III", "proposals": "IV"}


def submission_values(job: Job, docs: AnnualDocuments, signing: Signing, symbol: str) -> dict:
    """The consolidation's own form filled from the report, as `report` declares it: the
    number and date, the counts, the totals of source fields, the sections of the document."""
    spec = job.obligation.report
    if spec is None:
        return {}
    number = f"{signing.number or '…'}/{symbol}"
    facts = {
        "number": number,
        "signed_on": signing.signed_on.isoformat(),
        "bodies_reported": docs.bodies_reported,
        "bodies_missing": docs.bodies_expected - docs.bodies_reported,
    }
    values: dict = {field_id: facts[fact] for fact, field_id in spec.record.items()}
    for total_field, source_field in spec.totals.items():
        amounts = [v for k, v in docs.totals.items() if k.rsplit(".", 1)[-1] == source_field]
        values[total_field] = str(sum(amounts, Decimal(0)))
    for field_id, section in spec.sections.items():
        where = f", mục {SECTION_NUMBERS[section]}" if job.sources == 1 else ""
        values[field_id] = f"Xem Báo cáo số {number}{where}."
    known = {f.id for f in job.obligation.form.fields}
    return {k: v for k, v in values.items() if k in known}


def _record_as_submission(office, job, docs, signing, approver) -> None:
    if job.cycle_id is None:
        return
    body = lead(office, job)
    values = submission_values(job, docs, signing, f"BC-{symbol(office.defs, body)}")
    try:
        values = validate_submission(job.obligation.form, values)
    except FormErrors as errors:
        log.warning("Approved report not recorded as %s's submission: %s", body.id, errors)
        return
    with office.sessions() as session:
        mine = ledger_cycles.get_cycle(session, job.obligation.id, job.period_key)
        assignment = next((a for a in mine.assignments if a.body_id == body.id), None)
        if assignment is None:
            return
        record_submission(
            session,
            assignment.id,
            values,
            [],
            "operator",
            approver,
            office.now,
            office.today,
            allow_late=True,
        )


def signing_day(value: dt.date | str | None, today: dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value) if value else today

"""Prefect tasks of the year-end consolidation: thin wrappers over reports.consolidation_steps,
plus the approval form the Prefect UI shows while the run is suspended."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Literal

from prefect import task
from prefect.artifacts import create_image_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.input import RunInput
from pydantic import Field, create_model

from engine.calendar import today_in_vietnam
from notifications.documents import drain_documents as drain_document_letters
from reports import consolidation_steps as steps
from reports.annual import AnnualDocuments, Signing, report_recipients
from reports.consolidate import rule_text, upstreams
from reports.office import Office
from reports.wording import amount
from tasks import runtime
from tasks.oplog import period_label, run_log, stop_reason
from tasks.status import artifact_key

APPROVE = "Phê duyệt, gửi báo cáo"
RETURN = "Trả lại, chỉnh sửa dự thảo"


def office(as_of: dt.date | None = None) -> Office:
    """The wiring of this process (tasks.runtime) for the report steps."""
    return Office(
        defs=runtime.definitions(),
        sessions=runtime.sessions(),
        links=runtime.links(),
        mail_domain=runtime.mail_domain(),
        reports_dir=runtime.settings().var_dir / "reports",
        today=as_of or today_in_vietnam(),
        now=dt.datetime.now(dt.UTC),
    )


@task(name="prepare-consolidation", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def prepare(obligation: str, period: str, handoff_version: int) -> steps.Job:
    return steps.prepare(office(), obligation, period, handoff_version)


def _summary(job: steps.Job, docs: AnnualDocuments, round_: int) -> str:
    status = "đủ" if docs.complete else "**chưa đủ**"
    downstream = job.upstream.downstream
    rule = rule_text(downstream.completeness, docs.bodies_expected) if downstream else "tất cả"
    lines = [
        f"# Dự thảo {job.title} (bản {job.version}, lần xem xét {round_})",
        "",
        f"- Đã báo cáo: **{docs.bodies_reported}/{docs.bodies_expected}** cơ quan, đơn vị, "
        f"địa phương; điều kiện tổng hợp ({rule}): {status}.",
    ]
    if docs.missing:
        lines.append(f"- Chưa báo cáo: {'; '.join(docs.missing)}.")
    lines += ["", "| Chỉ tiêu | Tổng số |", "|---|---:|"]
    labels = {f.id: f.label for f in job.upstream.form.fields}
    for source in upstreams(runtime.definitions(), job.obligation.id):
        # Totals of the other sources are keyed "<source>.<field>" (reports.annual).
        labels.update(
            (f"{source.id}.{f.id}", f"{f.label} ({source.title})") for f in source.form.fields
        )
    lines += [f"| {labels.get(k, k)} | {amount(v)} |" for k, v in docs.totals.items()]
    lines += ["", f"Tệp dự thảo: `{docs.docx}`, `{docs.xlsx}`."]
    return "\n".join(lines)


@task(name="draft-report", retries=1, cache_policy=NO_CACHE)
def draft(job: steps.Job, round_: int) -> AnnualDocuments:
    docs, fresh = steps.draft(office(), job, round_)
    if fresh:
        key = artifact_key(job.obligation.id, f"{job.period_key}-v{job.version}")
        create_markdown_artifact(
            markdown=_summary(job, docs, round_), key=key, description="Dự thảo báo cáo tổng hợp"
        )
        image = base64.b64encode(docs.chart.read_bytes()).decode("ascii")
        create_image_artifact(
            image_url=f"data:image/png;base64,{image}",
            key=f"{key}-bieu-do",
            description=f"Tỷ lệ nộp đúng hạn năm {job.year} theo cơ quan",
        )
    run_log().info(
        "Dự thảo lần %d của «%s» %s (bản %d): %d/%d cơ quan đã báo cáo.",
        round_,
        job.obligation.title,
        period_label(job.obligation, job.period_key),
        job.version,
        docs.bodies_reported,
        docs.bodies_expected,
    )
    return docs


@task(name="drain-documents", retries=3, retry_delay_seconds=[10, 30, 90], cache_policy=NO_CACHE)
def drain_documents() -> dict[str, int | str]:
    report = drain_document_letters(runtime.sessions(), runtime.sender())
    logger = run_log()
    logger.info(
        "Đã gửi %d thư kèm văn bản, %d thư lỗi (%s).",
        report.sent,
        report.failed,
        stop_reason(report.stopped_because),
    )
    for error in report.errors[:20]:
        logger.warning("Thư chưa gửi được: %s", error)
    return {"sent": report.sent, "failed": report.failed, "stopped": report.stopped_because}


@task(name="send-draft", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def send_draft(
    job: steps.Job, docs: AnnualDocuments, round_: int, comment: str, review_url: str
) -> int:
    return steps.send_draft(office(), job, docs, round_, comment, review_url)


@task(name="note-return", retries=2, cache_policy=NO_CACHE)
def note_return(job: steps.Job, round_: int, comment: str, who: str) -> None:
    steps.note_return(office(), job, round_, comment, who)
    run_log().info("Dự thảo lần %d bị %s trả lại: %s", round_, who, comment)


@task(name="send-report", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def finalize(job: steps.Job, signing: Signing, approver: str) -> AnnualDocuments:
    docs = steps.finalize(office(), job, signing, approver)
    run_log().info("%s đã phê duyệt: đã gửi và lưu trữ %s.", approver, docs.docx.name)
    return docs


def waiting_message(job: steps.Job, round_: int) -> str:
    """The suspended run's state message: what it waits for and who must act."""
    lead = steps.lead(office(), job)
    return (
        f"Chờ {lead.name} phê duyệt dự thảo lần {round_} «{job.title}» (bản {job.version}): "
        "mở lượt chạy này, bấm Tiếp tục (Resume), chọn phê duyệt hoặc trả lại kèm ý kiến."
    )


def approval_form(job: steps.Job, docs: AnnualDocuments, round_: int) -> type[RunInput]:
    """The form the Prefect UI shows while the run waits for the lead body's decision."""
    recipients = report_recipients(runtime.definitions(), job.obligation, today_in_vietnam())
    form = create_model(
        "PheDuyetBaoCaoTongHop",
        __base__=RunInput,
        quyet_dinh=(
            Literal[APPROVE, RETURN],
            Field(title="Quyết định", description="Phê duyệt để gửi, hoặc trả lại để chỉnh sửa."),
        ),
        y_kien=(str, Field("", title="Ý kiến (bắt buộc khi trả lại)")),
        so_van_ban=(str, Field("", title="Số văn bản", description="Chỉ phần số, ví dụ 125.")),
        ngay_ky=(dt.date, Field(today_in_vietnam(), title="Ngày ký")),
        nguoi_ky=(str, Field("", title="Họ và tên người ký")),
        ky_thay=(bool, Field(False, title="Cấp phó ký thay (KT.)")),
        nguoi_duyet=(str, Field(title="Người phê duyệt (họ tên, chức vụ)")),
    )
    missing = f" Chưa báo cáo: {'; '.join(docs.missing)}." if docs.missing else ""
    form._description = (
        f"**{job.title}** — dự thảo lần {round_}: {docs.bodies_reported}/{docs.bodies_expected} "
        f"cơ quan đã báo cáo.{missing} Dự thảo đã gửi tới hộp thư cơ quan chủ trì; tệp tại "
        f"`{docs.docx}`. Khi phê duyệt, báo cáo được gửi tới: "
        + "; ".join(b.name for b in recipients)
        + "."
    )
    return form


def signing_of(decision: RunInput) -> tuple[Signing, str]:
    signing = Signing(
        number=str(decision.so_van_ban).strip(),
        signed_on=decision.ngay_ky,
        signer_name=str(decision.nguoi_ky).strip(),
        deputy=bool(decision.ky_thay),
    )
    return signing, str(decision.nguoi_duyet).strip() or "cơ quan chủ trì"

"""The intake flow: read the province's mailbox, record agencies' replies, send their receipts.

Deployed on a schedule (every KEHOACH_INTAKE_EVERY_MINUTES minutes). Each mail is committed to
the ledger before it leaves the inbox, so a failed or crashed run loses nothing: the next run
takes up where it stopped, and a mail already recorded is only moved.
"""

# No `from __future__ import annotations` here: Prefect builds the parameter model from the
# annotations when a served deployment runs, and string annotations break that.
import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from engine.calendar import today_in_vietnam
from tasks import runtime as wiring
from tasks.collect import drain_outbox
from tasks.intake_steps import IntakeReport, open_mailbox, read_mailbox, rules_from


def run_name() -> str:
    """'intake · 2026-03-10 08:05': the time the mailbox was read, in Vietnam."""
    now = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7)))
    return f"intake · {now:%Y-%m-%d %H:%M}"


@task(name="read-mailbox", retries=2, retry_delay_seconds=[10, 60], cache_policy=NO_CACHE)
def read_mailbox_task(as_of: dt.date) -> IntakeReport:
    desk = wiring.desk()
    settings = wiring.settings()
    source = open_mailbox(settings)
    try:
        return read_mailbox(desk, source, rules_from(settings, desk.links.secret), today=as_of)
    finally:
        source.close()


@task(name="publish-intake", cache_policy=NO_CACHE)
def publish(report: IntakeReport) -> str | None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    if not report.outcomes:
        create_markdown_artifact(
            markdown="Hộp thư không có thư mới.", key="thu-den", description="Thư đến"
        )
        return None
    create_table_artifact(table=report.table(), key="thu-den", description=report.summary())
    return "thu-den"


@flow(
    name="intake",
    flow_run_name=run_name,
    description="Đọc hộp thư nhận báo cáo: ghi nhận thư trả lời kèm báo cáo, gửi thư xác nhận, "
    "đưa thư không rõ vào danh sách chờ phân loại.",
    retries=0,
)
def intake(as_of: dt.date | None = None) -> dict[str, object]:
    day = as_of or today_in_vietnam()
    report = read_mailbox_task(day)
    delivery = drain_outbox() if any(o.version for o in report.outcomes) else {"sent": 0}
    publish(report)
    logger = get_run_logger()
    logger.info(report.summary())
    for outcome in report.outcomes:
        if outcome.state == "bounce" and not outcome.duplicate:
            logger.warning("Không liên lạc được cơ quan: %s", outcome.reason)
        elif outcome.state == "triage" and not outcome.duplicate:
            logger.warning("Thư chờ phân loại %s: %s", outcome.message_id, outcome.reason)
    counts = report.counts()
    return {"counts": dict(counts), "sent": delivery["sent"]}

"""The weekly digest flow: on the week's first working day, after that morning's collect runs,
one letter per body that receives results, listing who still owes it what.

Its own run rather than a step of each collect run: queued by the first collect run of the
Monday, the digest listed only the cycles open at that moment and missed those the other
obligations opened the same morning. `kehoach tick` starts it after all its obligations' runs;
the served deployment runs it daily (DIGEST_CRON) after the collect runs' default time.
"""

# No `from __future__ import annotations` here: see flows/collect.py.
import datetime as dt

from prefect import flow, runtime, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from engine.calendar import LegalCalendar
from engine.digest import digest_week
from engine.vndates import short_date
from flows.common import RunRefused, as_of, vietnamese_failures
from flows.deployments import DIGEST_FLOW
from tasks import collect as collect_tasks
from tasks import runtime as wiring
from tasks.oplog import run_log


def week_of(day: dt.date) -> str | None:
    """The ISO week when `day` is its first working day (the digest's day), else None."""
    return digest_week(LegalCalendar(wiring.definitions().calendars), day)


def run_name_for(day: dt.date) -> str:
    return f"{DIGEST_FLOW} · {week_of(day) or day.isoformat()}"


def run_name() -> str:
    try:
        day = as_of(runtime.flow_run.parameters.get("as_of"))
    except (TypeError, ValueError, RunRefused):
        return f"{DIGEST_FLOW} · {runtime.flow_run.parameters.get('as_of')}"
    return run_name_for(day)


@task(name="queue-digest", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def queue_digest(day: dt.date) -> int:
    """Queue this week's digests (once a week: the outbox key holds the week)."""
    from notifications.digest import queue_weekly_digests

    env = wiring.tick_env(day)
    return queue_weekly_digests(
        env.defs, env.sessions, env.renderer, env.mail_domain, env.today, env.now
    )


@flow(
    name=DIGEST_FLOW,
    flow_run_name=run_name,
    description="Ngày làm việc đầu tuần: gửi mỗi cơ quan nhận báo cáo thư tổng hợp những cơ "
    "quan còn nợ báo cáo, sau các lượt thu thập buổi sáng.",
    retries=0,
    # The run checks its own parameters (flows.common.as_of): Prefect's validation would fail
    # an impossible date such as 2026-02-30 with an English message before the run starts.
    validate_parameters=False,
)
@vietnamese_failures
def weekly_digest(as_of: dt.date | None = None) -> dict[str, object]:
    day = _day(as_of)
    week = week_of(day)
    logger = run_log()
    if week is None:
        logger.info(
            "Ngày %s không phải ngày làm việc đầu tuần: không có thư tổng hợp tuần.",
            short_date(day),
        )
        return {"week": None, "queued": 0, "sent": 0}
    queued = queue_digest(day)
    delivery = collect_tasks.drain_outbox() if queued else {"sent": 0}
    logger.info(
        "Tổng hợp tuần %s: xếp %d thư vào hộp thư đi, đã gửi %s thư.",
        week,
        queued,
        delivery["sent"],
    )
    undelivered = collect_tasks.undelivered_message(delivery) if queued else None
    if undelivered:
        return Failed(message=undelivered)
    return {"week": week, "queued": queued, "sent": delivery["sent"]}


def _day(value: dt.date | str | None) -> dt.date:
    return as_of(value)

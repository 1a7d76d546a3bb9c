"""Prefect tasks of the collect flow: thin, batched, retried wrappers over tasks.steps.

One task per step and per batch of messages, never one per email: a task run costs the
server a write, and a daily chase may concern thousands of assignments.
"""

from __future__ import annotations

import datetime as dt

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from engine.vndates import short_date
from tasks import runtime, steps
from tasks.status import artifact_key, quiet_status, status_tables


# A plain call, not a task: it runs on every daily run, and a task run costs the server a write.
def check_run_date(
    obligation_id: str, as_of: dt.date, force: bool = False
) -> dict[str, object] | None:
    """None when the run may act on `as_of`; else why not: {"stopped": Vietnamese message,
    "back_in_time": whether the date is earlier than one already run}."""
    env = runtime.tick_env(as_of)
    logger = get_run_logger()
    reason = steps.day_off(env)
    if reason is not None:
        message = f"Ngày {short_date(as_of)} là ngày nghỉ ({reason}): lượt chạy không gửi gì."
        logger.info(message)
        return {"stopped": message, "back_in_time": False}
    latest = steps.refused_date(env, obligation_id, force=force)
    if latest is not None:
        message = steps.back_in_time_message(obligation_id, as_of, latest)
        logger.warning(message)
        return {"stopped": message, "back_in_time": True}
    return None


@task(name="open-due-cycles", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def open_due_cycles(obligation_id: str, as_of: dt.date) -> list[str]:
    env = runtime.tick_env(as_of)
    outcome = steps.TickOutcome()
    steps.open_due_cycles(env, env.defs.obligations[obligation_id], outcome)
    if outcome.opened:
        get_run_logger().info("Đã mở kỳ: %s", ", ".join(outcome.opened))
    for note in outcome.late_starts:
        get_run_logger().warning("Kỳ mở muộn, hạn mới: %s", note)
    return outcome.opened


@task(name="enqueue-and-close", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def enqueue_and_close(obligation_id: str, as_of: dt.date) -> steps.TickOutcome:
    env = runtime.tick_env(as_of)
    outcome = steps.TickOutcome()
    steps.enqueue_and_close(env, env.defs.obligations[obligation_id], outcome)
    logger = get_run_logger()
    logger.info("Queued %d messages; closed %s", outcome.enqueued, outcome.closed or "nothing")
    for key in outcome.skipped:
        logger.warning("No address to write to, message %s skipped", key)
    return outcome


@task(name="queue-weekly-digest", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def queue_weekly_digest(as_of: dt.date) -> int:
    from notifications.digest import queue_weekly_digests

    env = runtime.tick_env(as_of)
    return queue_weekly_digests(
        env.defs, env.sessions, env.renderer, env.mail_domain, env.today, env.now
    )


@task(name="drain-outbox", retries=3, retry_delay_seconds=[10, 30, 90], cache_policy=NO_CACHE)
def drain_outbox() -> dict[str, object]:
    report = steps.drain_outbox(runtime.sessions(), runtime.sender(), policy=runtime.retry_policy())
    logger = get_run_logger()
    logger.info("Sent %d, failed %d (%s)", report.sent, report.failed, report.stopped_because)
    if report.relay_down:
        logger.warning(
            "Không kết nối được máy chủ thư (%s): các thư chờ được gửi lại sau.", report.relay_down
        )
    for error in report.errors[:20]:
        logger.warning("Not delivered: %s", error)
    for letter in report.gave_up:
        logger.error(
            "Thư số %s gửi %s không tới nơi: %s", letter["id"], letter["body_id"], letter["error"]
        )
    return {
        "sent": report.sent,
        "failed": report.failed,
        "deferred": report.retryable,
        "stopped": report.stopped_because,
        "relay_down": report.relay_down,
        "gave_up": report.gave_up,
    }


def undelivered_message(delivery: dict[str, object]) -> str | None:
    """The run's failure message when this drain gave letters up (each letter is given up once,
    so the failure automation tells the operators once per letter, never per retry)."""
    gave_up = list(delivery.get("gave_up") or [])
    if not gave_up:
        return None
    bodies = ", ".join(sorted({str(letter["body_id"]) for letter in gave_up}))
    return (
        f"{len(gave_up)} thư không gửi tới được người nhận ({bodies}); "
        "xem `kehoach outbox`, sửa địa chỉ rồi chạy `kehoach outbox retry`."
    )


@task(name="publish-status", cache_policy=NO_CACHE)
def publish_status(obligation_id: str, as_of: dt.date) -> list[str]:
    from prefect.artifacts import create_table_artifact

    env = runtime.tick_env(as_of)
    obligation = env.defs.obligations[obligation_id]
    keys = []
    for key, title, table in status_tables(env, obligation):
        create_table_artifact(table=table, key=key, description=title)
        keys.append(key)
    if not keys:
        # A quiet day still leaves a trace an operator can read: nothing open, and what is next.
        from prefect.artifacts import create_markdown_artifact

        key = artifact_key(obligation_id, "trang-thai")
        create_markdown_artifact(
            markdown=quiet_status(env, obligation),
            key=key,
            description=f"{obligation.title}: không có kỳ đang mở",
        )
        keys.append(key)
    return keys

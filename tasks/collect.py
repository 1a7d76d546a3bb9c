"""Prefect tasks of the collect flow: thin, batched, retried wrappers over tasks.steps.

One task per step and per batch of messages, never one per email: a task run costs the
server a write, and a daily chase may concern thousands of assignments.
"""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.cache_policies import NO_CACHE

from engine.vndates import short_date
from tasks import runtime, steps
from tasks.oplog import about, body_names, periods, run_log, stop_reason
from tasks.status import artifact_key, quiet_status, status_artifacts


# A plain call, not a task: it runs on every daily run, and a task run costs the server a write.
def check_run_date(
    obligation_id: str, as_of: dt.date, force: bool = False
) -> dict[str, object] | None:
    """None when the run may act on `as_of`; else why not: {"stopped": Vietnamese message,
    "back_in_time": whether the date is earlier than one already run}."""
    env = runtime.tick_env(as_of)
    logger = run_log()
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


@task(name="plan-letters", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def plan_letters(obligation_id: str, as_of: dt.date) -> steps.TickOutcome:
    """Open the cycles due, queue what is due today (requests, ladder rungs, close summaries)
    and close cycles past their grace: one task, as each step is a reconciliation and a retry
    of the whole is safe; fewer task runs, less for the server. The weekly digest is not
    queued here but by its own run after all obligations' (flows/digest.py)."""
    env = runtime.tick_env(as_of)
    obligation = env.defs.obligations[obligation_id]
    outcome = steps.TickOutcome()
    steps.open_due_cycles(env, obligation, outcome)
    steps.enqueue_and_close(env, obligation, outcome)
    logger = run_log()
    if outcome.opened:
        logger.info("%s: đã mở kỳ %s.", about(obligation), periods(obligation, outcome.opened))
    for note in outcome.late_starts:
        logger.warning("%s: kỳ mở muộn, hạn mới: %s", about(obligation), note)
    logger.info(
        "%s: xếp %d thư vào hộp thư đi; đóng kỳ %s.",
        about(obligation),
        outcome.enqueued,
        periods(obligation, outcome.closed),
    )
    if outcome.skipped:
        skipped = [key.split(":")[1] for key in outcome.skipped if key.count(":") >= 3]
        logger.warning(
            "%s: %d thư không gửi được vì cơ quan chưa có địa chỉ thư: %s. Bổ sung địa chỉ "
            "trong bodies.yaml.",
            about(obligation),
            len(outcome.skipped),
            body_names(env.defs, dict.fromkeys(skipped)),
        )
    return outcome


@task(name="drain-outbox", retries=3, retry_delay_seconds=[10, 30, 90], cache_policy=NO_CACHE)
def drain_outbox() -> dict[str, object]:
    report = steps.drain_outbox(runtime.sessions(), runtime.sender(), policy=runtime.retry_policy())
    logger = run_log()
    logger.info(
        "Đã gửi %d thư, %d thư lỗi (%s).",
        report.sent,
        report.failed,
        stop_reason(report.stopped_because),
    )
    if report.relay_down:
        logger.warning(
            "Không kết nối được máy chủ thư (%s): các thư chờ được gửi lại sau.", report.relay_down
        )
    for error in report.errors[:20]:
        logger.warning("Thư chưa gửi được: %s", error)
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


# A plain call, not a task: the artifacts belong to the flow run all the same, and each task
# run is a few more events for the server to record (on SQLite, a tick's main cost).
def publish_status(obligation_id: str, as_of: dt.date) -> list[str]:
    """Publish the obligation's status tables as the run's artifacts; their keys."""
    from prefect.artifacts import create_markdown_artifact

    env = runtime.tick_env(as_of)
    obligation = env.defs.obligations[obligation_id]
    keys = []
    for key, title, markdown in status_artifacts(env, obligation):
        create_markdown_artifact(markdown=markdown, key=key, description=title)
        keys.append(key)
    if not keys:
        # A quiet day still leaves a trace an operator can read: nothing open, and what is next.
        key = artifact_key(obligation_id, "trang-thai")
        create_markdown_artifact(
            markdown=quiet_status(env, obligation),
            key=key,
            description=f"{obligation.title}: không có kỳ đang mở",
        )
        keys.append(key)
    return keys

"""The operators' log of a run: Vietnamese sentences naming bodies and periods as people say them.

Lines go to the logger `kehoach.runs`, which sends them to the run's log on the Prefect server
(an APILogHandler attached here), so an operator reads them in the UI and a test can tell them
from Prefect's own lines by that name. Developer detail stays in English at debug level.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from engine.definitions.models import Definitions, Obligation
from engine.periods import period_for_key
from engine.vndates import short_date

LOGGER_NAME = "kehoach.runs"
_attached = False

STOP_REASONS = {
    "outbox empty": "hộp thư đi đã hết thư chờ",
    "no message accepted in the last batch": "máy chủ thư không nhận thư nào trong đợt vừa rồi",
}


def _logger() -> logging.Logger:
    global _attached
    logger = logging.getLogger(LOGGER_NAME)
    if not _attached:
        from prefect.logging.handlers import APILogHandler

        logger.setLevel(logging.INFO)
        logger.addHandler(APILogHandler())
        _attached = True
    return logger


def run_log() -> logging.LoggerAdapter:
    """A logger for the current flow or task run whose lines reach that run's log."""
    from prefect import get_run_logger

    prefect_logger = get_run_logger()
    return logging.LoggerAdapter(_logger(), dict(getattr(prefect_logger, "extra", {}) or {}))


def period_label(obligation: Obligation, key: str) -> str:
    """'năm 2026', 'tháng 11 năm 2026', 'quý IV năm 2026'… (the key itself when unknown)."""
    try:
        return period_for_key(obligation.schedule, obligation.window, key).label
    except ValueError:
        return f"kỳ {key}"


def periods(obligation: Obligation, keys: Iterable[str]) -> str:
    labels = [period_label(obligation, key) for key in keys]
    return ", ".join(labels) if labels else "không"


def body_names(defs: Definitions, ids: Iterable[str], limit: int = 10) -> str:
    ids = list(ids)
    names = [defs.bodies[i].name if i in defs.bodies else i for i in ids[:limit]]
    more = len(ids) - limit
    return ", ".join(names) + (f" và {more} cơ quan khác" if more > 0 else "") or "không"


def about(obligation: Obligation) -> str:
    return f"«{obligation.title}»"


def stop_reason(value: str) -> str:
    if value.startswith("reached max_batches"):
        return "đã gửi đủ số đợt cho một lượt"
    return STOP_REASONS.get(value, value)


def collect_summary(
    obligation: Obligation,
    day: dt.date,
    opened: list[str],
    outcome: object,
    sent: object,
    handed_off: int,
) -> str:
    """The collect run's closing line."""
    return (
        f"{about(obligation)}, ngày {short_date(day)}: mở kỳ {periods(obligation, opened)}; "
        f"xếp {outcome.enqueued} thư vào hộp thư đi, đã gửi {sent}; "
        f"đóng kỳ {periods(obligation, outcome.closed)}; bàn giao {handed_off} lượt tổng hợp."
    )

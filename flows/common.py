"""What the obligation flows share: the run's date, its name by period, and failures that end the
run with one Vietnamese line in its state message instead of a bare traceback."""

# No `from __future__ import annotations`: see flows/collect.py.
import datetime as dt
import functools
import logging

from prefect import get_run_logger, runtime
from prefect.states import Failed

from engine.calendar import today_in_vietnam
from engine.periods import period_containing
from tasks import runtime as wiring

debug_log = logging.getLogger("kehoach.flows")


class RunRefused(Exception):
    """A run that cannot do its work; the message (Vietnamese) becomes its state message."""


def as_of(value: dt.date | str | None) -> dt.date:
    """The run's date: given, or today in Vietnam; RunRefused for a date that does not exist
    (2026-02-30 matches the deployment's pattern, so only the run can refuse it)."""
    if value is None:
        return today_in_vietnam()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RunRefused(
            f"Ngày chạy '{value}' không có thật (ví dụ 30/02); nhập một ngày có trong lịch, "
            "dạng YYYY-MM-DD."
        ) from None


def period_of(obligation_id: str, day: dt.date):
    """The obligation's period containing `day`, or None (no such obligation, an event…)."""
    try:
        obligation = wiring.definitions().obligations.get(obligation_id)
    except wiring.DefinitionsInvalid:
        return None
    if obligation is None:
        return None
    try:
        return period_containing(obligation.schedule, obligation.window, day)
    except ValueError:
        return None


def run_name_for(obligation_id: str, day: dt.date) -> str:
    """'{obligation} · {period}': the period the run's date falls in, else the date itself."""
    period = period_of(obligation_id, day)
    return f"{obligation_id} · {period.key if period else day.isoformat()}"


def run_name() -> str:
    """flow_run_name for the obligation flows (parameters `obligation`, `as_of`)."""
    parameters = runtime.flow_run.parameters
    try:
        day = as_of(parameters.get("as_of"))
    except (TypeError, ValueError, RunRefused):
        return f"{parameters.get('obligation', '?')} · {parameters.get('as_of')}"
    return run_name_for(str(parameters.get("obligation", "?")), day)


def known_obligation(obligation_id: str):
    """The obligation of that id in the definitions the run uses, or RunRefused."""
    try:
        defs = wiring.definitions()
    except wiring.DefinitionsInvalid as error:
        first = str(error).splitlines()[1:2]
        raise RunRefused(
            "Định nghĩa đang dùng không hợp lệ, không chạy được"
            + (f": {first[0]}" if first else "")
        ) from error
    obligation = defs.obligations.get(obligation_id)
    if obligation is None:
        raise RunRefused(
            f"Không có nghĩa vụ '{obligation_id}' trong định nghĩa đang dùng; chọn một mã "
            "nghĩa vụ trong danh sách của triển khai."
        )
    return obligation


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


def vietnamese_failures(function):
    """Wrap a flow function: a refusal or an unexpected error ends the run Failed with a one-line
    Vietnamese state message; the traceback goes to the run's log for whoever debugs it."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except RunRefused as refused:
            get_run_logger().error("%s", refused)
            return Failed(message=str(refused))
        except Exception as error:
            get_run_logger().error(
                "Lượt chạy dừng vì lỗi ngoài dự kiến (%s); chi tiết kỹ thuật ở dưới.",
                one_line(error),
                exc_info=True,
            )
            return Failed(message=f"Lượt chạy dừng vì lỗi ngoài dự kiến: {one_line(error)}")

    return wrapper

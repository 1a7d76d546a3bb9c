"""Definition models of the legal calendar's yearly overrides (holidays, make-up days)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from engine.definitions.basics import Strict


class NamedDay(Strict):
    date: dt.date
    name: str


class CalendarOverride(Strict):
    """A year's official schedule, which beats the `holidays` package's estimate."""

    year: int = Field(ge=2000, le=2100)
    source: str = Field(default="", description="Văn bản công bố lịch nghỉ chính thức.")
    days_off: list[NamedDay] = Field(default_factory=list, description="Ngày nghỉ thêm.")
    working_days: list[NamedDay] = Field(
        default_factory=list, description="Ngày làm bù hoặc ngày gói tính nghỉ nhưng vẫn làm việc."
    )


class CalendarFile(Strict):
    calendar: CalendarOverride

"""Definition models of when things happen: cadence, data window, due date, request, late
start and the daily run's schedule."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from engine.definitions.basics import Id, Strict


class Offset(Strict):
    """A distance in working days or in calendar days (exactly one)."""

    working_days: int | None = None
    days: int | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Offset:
        if (self.working_days is None) == (self.days is None):
            raise ValueError("cần đúng một trong hai: 'working_days' hoặc 'days'")
        return self


class Cadence(StrEnum):
    once = "once"
    monthly = "monthly"
    quarterly = "quarterly"
    half_yearly = "half-yearly"
    # "6 tháng và năm": the first half-year, then the whole year in place of the second half.
    half_yearly_and_annual = "half-yearly-and-annual"
    annual = "annual"
    cron = "cron"
    event = "event"


class Schedule(Strict):
    every: Cadence = Field(
        description="Kỳ: once (một lần), monthly (hằng tháng), quarterly (hằng quý), "
        "half-yearly (6 tháng: 6 tháng đầu năm, 6 tháng cuối năm), half-yearly-and-annual "
        "(6 tháng và năm: báo cáo 6 tháng đầu năm và báo cáo năm, không có kỳ 6 tháng cuối "
        "năm), annual (hằng năm), cron, event (theo sự kiện)."
    )
    on: dt.date | None = Field(default=None, description="Với 'once': ngày mốc của kỳ duy nhất.")
    cron: str | None = Field(default=None, description="Với 'cron': biểu thức cron 5 trường.")
    event: Id | None = Field(default=None, description="Với 'event': tên sự kiện bên ngoài.")

    @model_validator(mode="after")
    def _parameters(self) -> Schedule:
        needs = {Cadence.once: "on", Cadence.cron: "cron", Cadence.event: "event"}
        for cadence, key in needs.items():
            given = getattr(self, key) is not None
            if self.every == cadence and not given:
                raise ValueError(f"lịch '{cadence.value}' cần khai báo '{key}'")
            if self.every != cadence and given:
                raise ValueError(f"'{key}' chỉ dùng với lịch '{cadence.value}'")
        return self


class Window(Strict):
    """The data cut-off window: Decree 09/2019 Art. 12 ('nd09', day 15) or calendar months."""

    name: Literal["nd09", "calendar", "custom"] = "nd09"
    cutoff_day: int | None = Field(
        default=None, ge=1, le=28, description="Với 'custom': kỳ bắt đầu từ ngày này của tháng."
    )

    @model_validator(mode="after")
    def _custom(self) -> Window:
        if (self.name == "custom") != (self.cutoff_day is not None):
            raise ValueError("'cutoff_day' dùng với (và chỉ với) name: custom")
        return self

    @property
    def start_day(self) -> int:
        return {"nd09": 15, "calendar": 1}.get(self.name, self.cutoff_day or 1)


class DueRule(Strict):
    """How the due date is computed; Civil Code Art. 148 then moves it past days off."""

    rule: Literal["day-of-month", "after-period-end", "before-period-end", "after-event"]
    day: int | None = Field(default=None, ge=1, le=31, description="Với 'day-of-month'.")
    month: int = Field(
        default=0,
        ge=-11,
        le=11,
        description="Với 'day-of-month': số tháng cộng thêm vào tháng cuối của kỳ "
        "(cách cũ; nên dùng 'in_month').",
    )
    in_month: int | None = Field(
        default=None,
        ge=1,
        le=12,
        description="Với 'day-of-month': tháng dương lịch của hạn, như kế hoạch viết "
        "('ngày 15 tháng 1 năm sau' là in_month: 1, year: next).",
    )
    year: Literal["same", "next"] = Field(
        default="same",
        description="Với 'in_month': năm của tháng cuối kỳ ('same') hoặc năm sau ('next').",
    )
    offset: Offset | None = Field(default=None, description="Với các quy tắc tương đối.")
    keep_in_month: bool = Field(
        default=True,
        description="Với lịch hằng tháng: hạn luôn nằm trong tháng của kỳ (mỗi tháng đúng một "
        "kỳ); khi kỳ nghỉ kéo đến cuối tháng, hạn lùi về ngày làm việc cuối cùng của tháng.",
    )

    @model_validator(mode="after")
    def _parameters(self) -> DueRule:
        if self.rule == "day-of-month" and (self.day is None or self.offset is not None):
            raise ValueError("'day-of-month' cần 'day' và không dùng 'offset'")
        if self.rule != "day-of-month" and (self.offset is None or self.day is not None):
            raise ValueError(f"'{self.rule}' cần 'offset' và không dùng 'day'")
        if self.in_month is not None and (self.month or self.rule != "day-of-month"):
            raise ValueError("'in_month' chỉ dùng với 'day-of-month' và không dùng cùng 'month'")
        if self.year != "same" and self.in_month is None:
            raise ValueError("'year' chỉ dùng cùng 'in_month'")
        return self

    def months_after(self, last_year: int, last_month: int) -> int:
        """Months from the period's last month to the due month (`month` or `in_month`)."""
        if self.in_month is None:
            return self.month
        year = last_year + (1 if self.year == "next" else 0)
        return (year * 12 + self.in_month) - (last_year * 12 + last_month)


class RequestRule(Strict):
    """When the request email goes out: a distance before the due date, or at a period edge."""

    before_due: Offset | None = None
    at: Literal["period-start", "period-end"] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RequestRule:
        if (self.before_due is None) == (self.at is None):
            raise ValueError("cần đúng một trong hai: 'before_due' hoặc 'at'")
        return self


class LateStart(Strict):
    """What a cycle opened after its request date gets: never a deadline already passed."""

    min_working_days: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Kỳ mở muộn (sau ngày gửi yêu cầu) mà hạn theo quy tắc đã qua hoặc còn ít "
        "hơn số ngày làm việc này thì được hạn mới: ngày mở cộng số ngày làm việc này.",
    )


class RunSchedule(Strict):
    """When the obligation's daily reconciliation run starts (its Prefect deployment schedule)."""

    cron: str = Field(
        default="30 7 * * *",
        description="Biểu thức cron 5 trường (phút giờ ngày tháng thứ); mặc định 7 giờ 30 "
        "mỗi ngày. Lượt chạy vào ngày nghỉ theo lịch pháp định kết thúc ngay, không gửi gì; "
        "ngày làm bù thứ Bảy vẫn chạy như ngày làm việc.",
    )
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="Múi giờ của biểu thức cron.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        # Imported here: engine.periods imports this module.
        from engine.periods import parse_cron

        parse_cron(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"múi giờ không tồn tại: {value!r}, ví dụ 'Asia/Ho_Chi_Minh'"
            raise ValueError(message) from None
        return value

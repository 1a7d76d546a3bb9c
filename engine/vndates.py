"""Dates written the Vietnamese way, for explanations, emails, pages and documents."""

from __future__ import annotations

import datetime as dt

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def long_date(day: dt.date) -> str:
    """'ngày 15 tháng 12 năm 2026' — the everyday written form."""
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def official_date(day: dt.date) -> str:
    """'ngày 05 tháng 01 năm 2026' — Decree 30/2020: days 01–09 and months 01–02 zero-padded."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def short_date(day: dt.date) -> str:
    """'15/12/2026', for tables."""
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def weekday_name(day: dt.date) -> str:
    return WEEKDAYS[day.weekday()]

"""Vietnamese wording of dates, times, sizes and numbers for the email templates.

Dates are civil dates in Asia/Ho_Chi_Minh; an aware datetime is converted to that zone first,
a naive one is taken as already local.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from engine import vndates

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _local(value: dt.date | dt.datetime) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(LOCAL_ZONE)
    return value


def _require_date(value: object) -> dt.date:
    if not isinstance(value, dt.date):
        raise TypeError(f"expected a date or datetime, got {type(value).__name__}: {value!r}")
    return _local(value)


def format_date(value: dt.date | dt.datetime) -> str:
    """'ngày 15 tháng 12 năm 2026': running text, no leading zeros."""
    return vndates.long_date(_require_date(value))


def format_date_official(value: dt.date | dt.datetime) -> str:
    """'ngày 05 tháng 01 năm 2026': Decree 30/2020 zero-pads days 1–9 and months 1–2."""
    return vndates.official_date(_require_date(value))


def format_date_short(value: dt.date | dt.datetime) -> str:
    """'05/01/2026', for tables where the long form does not fit."""
    return vndates.short_date(_require_date(value))


def weekday_name(value: dt.date | dt.datetime) -> str:
    """'Thứ Hai' … 'Chủ nhật'."""
    return vndates.weekday_name(_require_date(value))


def format_time(value: dt.datetime) -> str:
    """'14 giờ 05' in local time."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
    t = _local(value)
    return f"{t.hour:02d} giờ {t.minute:02d}"


def format_datetime(value: dt.datetime) -> str:
    """'14 giờ 05, Thứ Ba, ngày 15 tháng 12 năm 2026' in local time."""
    return f"{format_time(value)}, {weekday_name(value)}, {format_date(value)}"


def format_number(value: int | float) -> str:
    """Vietnamese grouping: '12.345' and '1.234,5' (dot for thousands, comma for decimals)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}: {value!r}")
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    whole, _, frac = f"{value:,.2f}".rstrip("0").partition(".")
    return f"{whole.replace(',', '.')},{frac}"


def format_size(size: int) -> str:
    """A file size for people: '850 byte', '12,4 KB', '3,1 MB'."""
    if size < 1024:
        return f"{size} byte"
    for unit, scale in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < scale * 1024 or unit == "GB":
            return f"{size / scale:.1f}".replace(".", ",") + f" {unit}"
    raise AssertionError("unreachable")


def capfirst(text: str) -> str:
    """The first letter in capitals, for a name that opens a subject line ('số liệu …')."""
    text = str(text)
    return text[:1].upper() + text[1:]


FILTERS = {
    "capfirst": capfirst,
    "date": format_date,
    "date_official": format_date_official,
    "date_short": format_date_short,
    "weekday": weekday_name,
    "time": format_time,
    "datetime": format_datetime,
    "number": format_number,
    "filesize": format_size,
}

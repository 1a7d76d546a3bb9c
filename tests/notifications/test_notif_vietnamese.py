"""Vietnamese dates, weekdays and numbers as the letters print them."""

import datetime as dt

import pytest

from notifications.vietnamese import (
    format_date,
    format_date_official,
    format_date_short,
    format_datetime,
    format_number,
    format_size,
    format_time,
    weekday_name,
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 12, 15), "ngày 15 tháng 12 năm 2026"),
        (dt.date(2026, 1, 5), "ngày 5 tháng 1 năm 2026"),
        (dt.date(2027, 2, 28), "ngày 28 tháng 2 năm 2027"),
    ],
)
def test_running_text_date_has_no_leading_zeros(day: dt.date, expected: str) -> None:
    assert format_date(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 1, 5), "ngày 05 tháng 01 năm 2026"),
        (dt.date(2026, 2, 9), "ngày 09 tháng 02 năm 2026"),
        (dt.date(2026, 2, 10), "ngày 10 tháng 02 năm 2026"),
        # Decree 30/2020 pads months 1 and 2 only: March stays "3".
        (dt.date(2026, 3, 7), "ngày 07 tháng 3 năm 2026"),
        (dt.date(2026, 11, 10), "ngày 10 tháng 11 năm 2026"),
        (dt.date(2026, 12, 15), "ngày 15 tháng 12 năm 2026"),
    ],
)
def test_official_date_pads_small_days_and_months(day: dt.date, expected: str) -> None:
    assert format_date_official(day) == expected


def test_weekdays_monday_to_sunday() -> None:
    # 1 January 2024 was a Monday.
    week = [weekday_name(dt.date(2024, 1, d)) for d in range(1, 8)]
    assert week == ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


def test_aware_datetime_is_read_in_vietnam_time() -> None:
    # 18:30 UTC on New Year's Eve is already 01:30 on 1 January in Hà Nội.
    instant = dt.datetime(2026, 12, 31, 18, 30, tzinfo=dt.UTC)
    assert format_date(instant) == "ngày 1 tháng 1 năm 2027"
    assert format_date_official(instant) == "ngày 01 tháng 01 năm 2027"
    assert format_time(instant) == "01 giờ 30"
    assert format_datetime(instant) == "01 giờ 30, Thứ Sáu, ngày 1 tháng 1 năm 2027"
    assert format_date_short(instant) == "01/01/2027"


def test_numbers_and_sizes_use_vietnamese_separators() -> None:
    assert format_number(1245) == "1.245"
    assert format_number(1234567) == "1.234.567"
    assert format_number(1234.5) == "1.234,5"
    assert format_number(20.0) == "20"
    assert format_size(850) == "850 byte"
    assert format_size(482_113) == "470,8 KB"
    assert format_size(3 * 1024**2 + 100 * 1024) == "3,1 MB"


def test_wrong_types_are_refused_not_printed() -> None:
    with pytest.raises(TypeError):
        format_date("2026-12-15")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_time(dt.date(2026, 12, 15))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_number("12")  # type: ignore[arg-type]

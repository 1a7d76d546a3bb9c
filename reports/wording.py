"""Values as a Vietnamese reader expects them in a document: 12.345, 1.234.567,5, 05/01/2026."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine.definitions.models import FieldType, FormField
from engine.vndates import short_date
from reports.consolidate import as_decimal


def amount(value: Decimal | int | float | str | None) -> str:
    """Dots between thousands, a comma before decimals; '' for nothing."""
    number = as_decimal(value)
    if number is None:
        return ""
    sign = "-" if number < 0 else ""
    number = abs(number)
    whole = int(number)
    fraction = number - whole
    text = f"{whole:,}".replace(",", ".")
    if fraction:
        digits = f"{fraction:.2f}"[2:].rstrip("0")
        text = f"{text},{digits}"
    return sign + text


def field_value(field: FormField, value: Any) -> str:
    if value is None or value == "":
        return ""
    if field.type in (FieldType.integer, FieldType.decimal):
        return amount(value)
    if field.type == FieldType.date:
        try:
            return short_date(dt.date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    return str(value)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def report_subject(title: str, period_label: str) -> str:
    """'Báo cáo kết quả … hằng năm' + 'năm 2026' → 'Kết quả … năm 2026' (the summary line)."""
    words = title.strip()
    for prefix in ("Báo cáo ", "báo cáo "):
        if words.startswith(prefix):
            words = words[len(prefix) :]
    for suffix in (" hằng năm", " hằng quý", " hằng tháng", " năm"):
        if words.endswith(suffix):
            words = words[: -len(suffix)]
    return capitalised(f"{words} {period_label}".strip())

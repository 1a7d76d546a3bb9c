"""Values as a Vietnamese reader expects them in a document: 12.345, 1.234.567,5, 05/01/2026."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine.definitions.models import FieldType, FormField, Obligation
from engine.letters import naming, with_period
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


def document_subject(obligation: Obligation, period_label: str) -> str:
    """The summary line under "BÁO CÁO": the declared `report.subject` with its period; without
    one, the obligation's name in letters (the validator warns)."""
    subject = obligation.report.subject if obligation.report else None
    if subject is None:
        return capitalised(naming(obligation, period_label).named)
    return capitalised(with_period(subject, period_label))


def document_title(obligation: Obligation, period_label: str) -> str:
    """How letters name the document: 'Báo cáo' + its summary line ('Báo cáo kết quả … năm
    2026'); without a declared subject, the obligation's name in letters as it is."""
    subject = obligation.report.subject if obligation.report else None
    if subject is None:
        return naming(obligation, period_label).named
    summary = with_period(subject, period_label)
    return f"Báo cáo {summary[:1].lower()}{summary[1:]}"

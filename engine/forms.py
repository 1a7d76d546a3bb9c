"""Checking a submission against its obligation's form: typed values, required fields, choices.

Shared by the operator's `kehoach submit` and the agency portal, so both accept exactly the same
answers and say the same thing, in Vietnamese, about the ones they refuse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.definitions.models import FieldType, Form, FormField


class FormErrors(ValueError):
    """Every problem with a submission, keyed by field id ('' for the form as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))
        self.errors = errors


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _integer(field: FormField, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    text = str(value).strip().replace(".", "").replace(" ", "")
    if not text.lstrip("-").isdigit():
        raise ValueError
    return int(text)


def _decimal(field: FormField, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError
    # People write 1.500.000,5 as often as 1500000.5: accept both, refuse the ambiguous.
    text = str(value).strip().replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise ValueError from error
    if not number.is_finite():
        raise ValueError
    return number


def _check_range(field: FormField, number: int | Decimal) -> str | None:
    if field.min is not None and number < Decimal(str(field.min)):
        return f"phải lớn hơn hoặc bằng {field.min:g}"
    if field.max is not None and number > Decimal(str(field.max)):
        return f"phải nhỏ hơn hoặc bằng {field.max:g}"
    return None


def clean_value(field: FormField, value: Any) -> tuple[Any, str | None]:
    """(the value as stored, or an error message). Stored values are JSON-friendly."""
    try:
        if field.type == FieldType.integer:
            number = _integer(field, value)
            return number, _check_range(field, number)
        if field.type == FieldType.decimal:
            amount = _decimal(field, value)
            return str(amount), _check_range(field, amount)
        if field.type == FieldType.date:
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
            return day.isoformat(), None
    except (ValueError, TypeError):
        expected = {
            FieldType.integer: "một số nguyên",
            FieldType.decimal: "một số",
            FieldType.date: "một ngày dạng YYYY-MM-DD",
        }[field.type]
        return value, f"cần {expected}"
    text = str(value).strip()
    if field.type == FieldType.choice and text not in field.choices:
        return text, "chọn một trong: " + ", ".join(field.choices)
    if field.type == FieldType.text and "\n" in text:
        return text, "chỉ một dòng"
    if len(text) > 20000:
        return text, "quá dài (tối đa 20.000 ký tự)"
    return text, None


def validate_submission(
    form: Form, data: Mapping[str, Any], attachments: int = 0
) -> dict[str, Any]:
    """The cleaned values, or FormErrors naming each bad field. `file` fields count attachments."""
    errors: dict[str, str] = {}
    known = {f.id for f in form.fields}
    for key in data:
        if key not in known:
            errors[str(key)] = "trường không có trong biểu mẫu"
    values: dict[str, Any] = {}
    for field in form.fields:
        if field.type == FieldType.file:
            if field.required and attachments == 0:
                errors[field.id] = f"cần đính kèm tệp ({field.label})"
            continue
        raw = data.get(field.id)
        if _blank(raw):
            if field.required:
                errors[field.id] = f"bắt buộc ({field.label})"
            continue
        value, problem = clean_value(field, raw)
        if problem:
            errors[field.id] = problem
        values[field.id] = value
    if attachments > form.attachments.max_files:
        errors[""] = f"tối đa {form.attachments.max_files} tệp đính kèm"
    if errors:
        raise FormErrors(errors)
    return values

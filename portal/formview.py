"""The agency form as the templates draw it: one view per field of the obligation's definition,
with the value to show (the latest version, or what was just typed) and the error beside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup

from engine.definitions.models import FieldType, Form
from engine.files import CONTENT_TYPES
from engine.ledger.results import SubmissionView
from notifications.vietnamese import format_date, format_size

# Radio buttons are easier on a phone than a drop-down, up to a handful of choices.
MAX_RADIO_CHOICES = 5
WHO_FIELD = "_who"
KEEP_FIELD = "_keep"
FILES_FIELD = "_files"
MAX_WHO_CHARS = 200


@dataclass(frozen=True)
class FieldView:
    id: str
    label: str
    kind: str  # text, textarea, integer, decimal, date, radio, select, file
    required: bool
    help: str
    choices: tuple[str, ...]
    value: str
    error: str | None

    @property
    def aria(self) -> Markup:
        """The input's accessibility attributes: what describes it, required, invalid."""
        described = [f"e-{self.id}"] if self.error else []
        described += [f"h-{self.id}"] if self.help else []
        attrs = f' aria-describedby="{" ".join(described)}"' if described else ""
        attrs += ' aria-required="true"' if self.required else ""
        attrs += ' aria-invalid="true"' if self.error else ""
        return Markup(attrs)  # field ids match ^[a-z][a-z0-9_]*$: nothing to escape


@dataclass(frozen=True)
class KeptFile:
    """A file of the latest version, offered to keep without uploading it again."""

    index: int
    name: str
    size: str
    sha256: str
    checked: bool


@dataclass(frozen=True)
class FormView:
    fields: tuple[FieldView, ...]
    kept: tuple[KeptFile, ...]
    accept: str  # the file inputs' accept attribute
    types: str  # "pdf, docx, …" for people
    max_mb: float
    max_files: int
    general_input: bool  # a multi-file input besides the file fields' own
    who: str
    errors: Mapping[str, str]
    file_errors: tuple[str, ...]

    @property
    def error_count(self) -> int:
        return len(self.errors)


def _kind(field_type: FieldType, choices: int) -> str:
    if field_type == FieldType.long_text:
        return "textarea"
    if field_type == FieldType.choice:
        return "radio" if choices <= MAX_RADIO_CHOICES else "select"
    return field_type.value


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def values_of(submission: SubmissionView | None) -> dict[str, str]:
    """A stored version's values as the inputs show them."""
    if submission is None:
        return {}
    return {key: _shown(value) for key, value in submission.fields.items()}


def build(
    form: Form,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    latest: SubmissionView | None,
    *,
    who: str = "",
    kept: set[int] | None = None,
) -> FormView:
    """The view of `form` showing `values` and `errors`; `kept` = files of `latest` still ticked."""
    views = tuple(
        FieldView(
            id=f.id,
            label=f.label,
            kind=_kind(f.type, len(f.choices)),
            required=f.required,
            help=f.help,
            choices=tuple(f.choices),
            value=values.get(f.id, ""),
            error=errors.get(f.id),
        )
        for f in form.fields
    )
    previous = latest.attachments if latest else ()
    keep = set(range(len(previous))) if kept is None else kept
    rules = form.attachments
    file_fields = sum(1 for f in form.fields if f.type == FieldType.file)
    extensions = ",".join(f".{t}" for t in rules.types)
    mimes = ",".join(CONTENT_TYPES[t] for t in rules.types)
    # Keys of receipts.submit for refused files are 'file-<n>'; the form-level one is ''.
    file_errors = tuple(v for k, v in errors.items() if k == "" or k.startswith("file-"))
    return FormView(
        fields=views,
        kept=tuple(
            KeptFile(i, a.file_name, format_size(a.size), a.sha256, i in keep)
            for i, a in enumerate(previous)
        ),
        accept=f"{extensions},{mimes}",
        types=", ".join(rules.types),
        max_mb=rules.max_mb,
        max_files=rules.max_files,
        general_input=rules.max_files > file_fields,
        who=who,
        errors=errors,
        file_errors=file_errors,
    )


def _grouped(whole: str) -> str:
    return f"{int(whole):,}".replace(",", ".")


def readable(field_type: FieldType, value: Any) -> str:
    """A stored value as people read it: '2.500.000,5', 'ngày 5 tháng 3 năm 2026'."""
    try:
        if field_type == FieldType.integer and not isinstance(value, bool):
            number = int(value)
            return ("-" if number < 0 else "") + _grouped(str(abs(number)))
        if field_type == FieldType.decimal:
            amount = Decimal(str(value))
            whole, _, fraction = format(abs(amount), "f").partition(".")
            sign = "-" if amount < 0 else ""
            return sign + _grouped(whole) + (f",{fraction}" if fraction else "")
        if field_type == FieldType.date:
            return format_date(dt.date.fromisoformat(str(value)))
    except (ValueError, TypeError, InvalidOperation):
        pass  # an older version stored under another form: show it as it was stored
    return _shown(value)


def answers(form: Form, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of a stored version, in the form's order, for receipts and review."""
    return [
        (f.label, readable(f.type, fields[f.id]))
        for f in form.fields
        if f.type != FieldType.file and f.id in fields
    ]

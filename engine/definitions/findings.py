"""Problems reported to administrators, and the translation of pydantic's errors into Vietnamese.

A `Problem` is a located message (file:line:col). A `Finding` is what a check over loaded
definitions reports: it names an item and a key path inside it, and the loader turns it into
a Problem using the positions recorded while reading the YAML.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from engine.definitions.models import ID_PATTERN
from engine.definitions.yamlmarks import Loc

SECTIONS = ("plan", "bodies", "groups", "roles", "obligations", "calendar", "addresses")
WARNING_LABEL = "cảnh báo"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    col: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        message = f"{WARNING_LABEL}: {self.message}" if self.warning else self.message
        # Line 0 means "the directory as a whole" (for instance: no plan at all).
        if self.line <= 0:
            return f"{self.path}: {message}"
        return f"{self.path}:{self.line}:{self.col}: {message}"


@dataclass(frozen=True)
class Finding:
    """A check's verdict on one item; `keys` is the path inside the item (may be empty)."""

    section: str
    item_id: str | int
    keys: tuple[str | int, ...]
    message: str
    warning: bool = False  # reported, but the definitions still load


def display_path(path: Path | str) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    try:
        return Path(path).absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def show(value: Any) -> str:
    """A value as an administrator wrote it, for messages."""
    if value is None:
        return "để trống"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "một danh sách"
    if isinstance(value, dict):
        return "một bảng khóa"
    if isinstance(value, int | float):
        return str(value)
    return f"'{value}'"


# The models' other patterns; kept here as text because they are inline in the models.
_PATTERNS = {
    ID_PATTERN: "định danh {value} không hợp lệ: chỉ dùng chữ thường không dấu (a-z), chữ số"
    " và dấu gạch nối '-', bắt đầu bằng chữ hoặc số",
    r"^[IVXLC]+(\.([0-9]+|[a-zđ]|[IVXLC]+))*$": "số hiệu mục {value} không hợp lệ: số La Mã, rồi"
    " các số, chữ cái thường hoặc số La Mã, cách nhau bằng dấu chấm (ví dụ III.3, II.4.a)",
    r"^\d{4}-\d{2}(-\d{2})?$": "ngày {value} không hợp lệ: dùng dạng YYYY-MM-DD hoặc YYYY-MM",
    r"^[0-9]{2,5}$": "mã đơn vị hành chính {value} không hợp lệ: từ 2 đến 5 chữ số, ví dụ"
    " '02269' (viết trong dấu nháy để giữ số 0 đầu)",
    r"^[0-9]{2}$": "mã tỉnh {value} không hợp lệ: 2 chữ số trong dấu nháy, ví dụ '08'",
    r"^[a-z0-9][a-z0-9/_-]*\.yaml$": "tên tệp {value} không hợp lệ: đường dẫn trong thư mục"
    " định nghĩa, chữ thường không dấu, kết thúc bằng .yaml, ví dụ 'bodies/communes.yaml'",
    r"^[a-z0-9-]*$": "tiền tố {value} không hợp lệ: chỉ chữ thường không dấu, chữ số và '-'",
    r"^[a-z][a-z0-9_]*$": "mã trường {value} không hợp lệ: chữ thường không dấu, chữ số và dấu"
    " gạch dưới '_', bắt đầu bằng chữ",
}

_KINDS = {
    "string_type": "chuỗi chữ",
    "int_type": "số nguyên",
    "int_parsing": "số nguyên",
    "int_from_float": "số nguyên",
    "float_type": "số",
    "float_parsing": "số",
    "bool_type": "true hoặc false",
    "bool_parsing": "true hoặc false",
    "list_type": "một danh sách (các dòng bắt đầu bằng '- ')",
    "dict_type": "một bảng khóa (các dòng 'khóa: giá trị')",
    "model_type": "một bảng khóa (các dòng 'khóa: giá trị')",
    "model_attributes_type": "một bảng khóa (các dòng 'khóa: giá trị')",
}

_BOUNDS = {
    "greater_than_equal": ("ge", "lớn hơn hoặc bằng"),
    "greater_than": ("gt", "lớn hơn"),
    "less_than_equal": ("le", "nhỏ hơn hoặc bằng"),
    "less_than": ("lt", "nhỏ hơn"),
}


def explain_error(error: dict[str, Any], model: type[BaseModel]) -> tuple[Loc, str]:
    """Where a pydantic error belongs and what to tell the administrator about it."""
    kind = error["type"]
    loc: Loc = tuple(error["loc"])
    value = error.get("input")
    ctx = error.get("ctx") or {}
    name = next((key for key in reversed(loc) if isinstance(key, str)), "")
    if kind == "missing":
        return loc, f"thiếu trường bắt buộc '{name}'"
    if kind == "extra_forbidden":
        return loc, _unknown_key(name, _model_at(model, loc[:-1]))
    if kind in ("enum", "literal_error"):
        choices = ", ".join(re.findall(r"'([^']*)'", ctx.get("expected", "")))
        return loc, f"giá trị {show(value)} không hợp lệ; chọn một trong: {choices}"
    if kind.startswith("date"):
        reason = str(ctx.get("error", ""))
        if "outside expected range" in reason:
            return loc, f"ngày {show(value)} không có trong lịch"
        return loc, f"ngày {show(value)} không hợp lệ: dùng dạng YYYY-MM-DD, ví dụ 2025-03-01"
    if kind == "string_pattern_mismatch":
        template = _PATTERNS.get(ctx.get("pattern", ""))
        if template:
            return loc, template.format(value=show(value))
        return loc, f"giá trị {show(value)} không đúng dạng {ctx.get('pattern')}"
    if kind in _KINDS:
        return loc, f"'{name}' phải là {_KINDS[kind]}, không phải {show(value)}"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return loc, f"'{name}' cần ít nhất một phần tử"
        return loc, f"'{name}' cần ít nhất {ctx.get('min_length')} phần tử"
    if kind == "too_long":
        return loc, f"'{name}' có nhiều nhất {ctx.get('max_length')} phần tử"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return loc, f"'{name}' phải {words} {ctx.get(key)}, không phải {show(value)}"
    if kind in ("value_error", "assertion_error"):
        message = re.sub(r"^(Value error|Assertion failed), ", "", error["msg"])
        return _pinpoint(loc, value, message), message
    return loc, f"giá trị {show(value)} không hợp lệ ({error['msg']})"


def _pinpoint(loc: Loc, value: Any, message: str) -> Loc:
    """A list validator's error names the bad item; point at that item's own line."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str) and repr(item) in message:
                return (*loc, index)
    return loc


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return f"khóa không được phép '{key}'"
    allowed = list(model.model_fields)
    guess = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; có phải '{guess[0]}'?" if guess else ""
    return f"khóa không được phép '{key}' (các khóa hợp lệ: {', '.join(allowed)}){hint}"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for key in loc:
        if isinstance(key, int):
            continue  # a list index: the element model was already found by `_inner_model`
        if current is None or key not in current.model_fields:
            return None
        current = _inner_model(current.model_fields[key].annotation)
    return current


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, dict, typing.Union, types.UnionType):
        for argument in typing.get_args(annotation):
            found = _inner_model(argument)
            if found is not None:
                return found
    return None

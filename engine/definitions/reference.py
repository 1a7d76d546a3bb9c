"""The administrators' key reference (Vietnamese Markdown), generated from the JSON Schemas, so
it says exactly what the loader accepts: every key of every section, its type, default, and the
description written in the models."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

FILES = {
    "plan": "plan.yaml",
    "bodies": "bodies.yaml",
    "groups": "groups.yaml",
    "obligations": "obligations/<mã>.yaml",
    "calendar": "calendars/<năm>.yaml",
}


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        return f"[{spec['$ref'].rsplit('/', 1)[-1]}](#{spec['$ref'].rsplit('/', 1)[-1].lower()})"
    if "anyOf" in spec:
        kinds = [_type(s) for s in spec["anyOf"] if s.get("type") != "null"]
        return " hoặc ".join(kinds) or "null"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{spec['const']}`"
    kind = spec.get("type", "")
    if kind == "array":
        return f"danh sách {_type(spec.get('items', {}))}"
    if kind == "object" and "additionalProperties" in spec:
        keys = spec.get("propertyNames", {})
        named = f" (khóa: {_type(keys)})" if keys else ""
        return f"bảng{named} → {_type(spec['additionalProperties'])}"
    if "pattern" in spec:
        return f"chuỗi (`{spec['pattern']}`)"
    return {"string": "chuỗi", "integer": "số nguyên", "number": "số", "boolean": "đúng/sai"}.get(
        kind, kind or "bất kỳ"
    )


def _table(name: str, model: dict[str, Any]) -> list[str]:
    required = set(model.get("required", []))
    # Model docstrings are for developers (English): the keys' descriptions are Vietnamese.
    lines = [f"### {name}", ""]
    if "enum" in model:
        return [*lines, "Giá trị: " + ", ".join(f"`{v}`" for v in model["enum"]), ""]
    lines += ["| Khóa | Kiểu | Bắt buộc | Mặc định | Ý nghĩa |", "|---|---|---|---|---|"]
    for key, spec in model.get("properties", {}).items():
        default = spec.get("default", "")
        shown = json.dumps(default, ensure_ascii=False) if default not in ("", None) else ""
        text = " ".join(spec.get("description", "").split()).replace("|", "\\|")
        mark = "có" if key in required else ""
        kind = _type(spec).replace("|", "\\|").replace("\\\\|", "\\|")
        lines.append(f"| `{key}` | {kind} | {mark} | {shown} | {text} |")
    return [*lines, ""]


def render_reference(schemas: dict[str, type[BaseModel]]) -> str:
    """The whole reference: one section per file, one table per model."""
    lines = [
        "# Tham chiếu khóa định nghĩa",
        "",
        "Tệp này sinh tự động từ mô hình dữ liệu (`kehoach schema`), cùng nguồn với JSON Schema;",
        "không sửa tay. Hướng dẫn có ví dụ: `definitions/README.md`.",
        "",
    ]
    for name, model in schemas.items():
        schema = model.model_json_schema()
        top = next(iter(schema.get("properties", {})))
        lines += [f"## {FILES.get(top, name)} (khóa `{top}:`)", ""]
        for model_name, spec in sorted(schema.get("$defs", {}).items()):
            lines += _table(model_name, spec)
    return "\n".join(lines).rstrip() + "\n"

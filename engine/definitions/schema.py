"""JSON Schemas for editors, generated from the same models the loader uses."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from engine.definitions.models import (
    AddressesFile,
    BodiesFile,
    CalendarFile,
    GroupsFile,
    ObligationsFile,
    PlanFile,
)

SCHEMAS: dict[str, type[BaseModel]] = {
    "plan.schema.json": PlanFile,
    "bodies.schema.json": BodiesFile,
    "groups.schema.json": GroupsFile,
    "obligations.schema.json": ObligationsFile,
    "calendar.schema.json": CalendarFile,
    "addresses.schema.json": AddressesFile,
}


def render_schema(model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


REFERENCE = "tham-chieu-khoa.md"


def write_schemas(target: Path, check_only: bool = False) -> list[str]:
    """Write every schema and the key reference (or only compare); return the names that were
    missing or stale."""
    from engine.definitions.reference import render_reference

    stale = []
    outputs = [(name, render_schema(model)) for name, model in SCHEMAS.items()]
    outputs.append((REFERENCE, render_reference(SCHEMAS)))
    for name, text in outputs:
        path = target / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check_only:
                target.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale

"""No code path looks up a role, group, obligation or body by the shipped plan's ids, or one of
its form fields by name: what the engine needs from a plan is declared in the YAML."""

from __future__ import annotations

import re

from engine.definitions.loader import load_definitions
from engine.settings import REPO_ROOT

CODE = ("engine", "notifications", "reports", "tasks", "flows", "portal", "cli")
# The engine's own vocabulary that happens to spell like a shipped id: flow names, body kinds,
# submission channels.
VOCABULARY = {
    "press-briefing",
    "collect",
    "consolidation",
    "ubnd-tinh",
    "co-quan-bao-chi",
    "portal",
}


def code_files():
    for top in CODE:
        for path in sorted((REPO_ROOT / top).rglob("*")):
            if path.suffix in (".py", ".txt", ".html") and "migrations" not in path.parts:
                yield path, path.read_text(encoding="utf-8")


def test_no_shipped_id_as_a_literal_in_code() -> None:
    defs = load_definitions(REPO_ROOT / "definitions").definitions
    ids = (
        set(defs.roles) | set(defs.groups) | set(defs.obligations) | set(defs.bodies)
    ) - VOCABULARY
    found = []
    for path, text in code_files():
        if path.suffix != ".py":
            continue  # templates name CSS classes ("lead"), never plan ids: they get variables
        for found_id in ids:
            if re.search(r"[\"']" + re.escape(found_id) + r"[\"']", text):
                found.append((str(path.relative_to(REPO_ROOT)), found_id))
    assert found == []


def test_no_shipped_form_field_read_by_name() -> None:
    defs = load_definitions(REPO_ROOT / "definitions").definitions
    fields = {f.id for o in defs.obligations.values() for f in o.form.fields}
    reads = re.compile(r"(fields|values)(\.get\(|\[)[\"']([a-z0-9_]+)[\"']")
    found = []
    for path, text in code_files():
        for match in reads.finditer(text):
            if match.group(3) in fields:
                found.append((str(path.relative_to(REPO_ROOT)), match.group(3)))
    assert found == []


def test_no_shipped_place_in_code() -> None:
    defs = load_definitions(REPO_ROOT / "definitions").definitions
    place = defs.plan.place
    found = [
        str(path.relative_to(REPO_ROOT))
        for path, text in code_files()
        if place
        in "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    ]
    # Docstrings and Field descriptions may use it as an example; running code may not.
    allowed = {"engine/definitions/plan_models.py", "reports/decree30.py", "reports/issuers.py"}
    assert set(found) <= allowed, found


def test_documents_code_writes_no_authority_level_of_its_own() -> None:
    """The documents and flows say "tỉnh" only through the plan (its bodies, its declared
    lines): a centrally governed city must not read "UBND tỉnh" in its report. (Letters'
    wording is checked with the letters themselves.)"""
    phrases = ("UBND tỉnh", "Ủy ban nhân dân tỉnh", "Văn phòng UBND", "của tỉnh", "toàn tỉnh")
    found = []
    for path, text in code_files():
        relative = path.relative_to(REPO_ROOT)
        if relative.parts[0] not in ("reports", "tasks", "flows"):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.lstrip().startswith("#") and any(p in line for p in phrases):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []

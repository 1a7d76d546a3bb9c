"""Bodies from the official catalogue of administrative units: merge it into a group's file.

The catalogue itself is read by the CLI (the `vietnam-provinces` package); this module only
decides, from plain `OfficialUnit`s and the definitions, which bodies the file must hold. It keeps
every id and every hand-written value of a unit already encoded, and never drops a body.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.definitions.models import Body, BodyKind, Group, Mailboxes, UnitCatalogue
from engine.definitions.namekeys import name_key, plain_key


@dataclass(frozen=True)
class OfficialUnit:
    """One unit of the catalogue: its code, its name with its type ("Xã Thượng Lâm")."""

    code: str
    name: str
    codename: str  # ASCII, e.g. "xa_thuong_lam"


@dataclass
class CatalogueMerge:
    """What regenerating a group's file does; `bodies` is the file's new content, in order."""

    bodies: list[Body] = field(default_factory=list)
    added: list[Body] = field(default_factory=list)
    updated: list[tuple[Body, Body]] = field(default_factory=list)  # (before, after)
    unchanged: list[Body] = field(default_factory=list)
    elsewhere: list[tuple[OfficialUnit, Body]] = field(default_factory=list)
    not_in_catalogue: list[Body] = field(default_factory=list)


def unit_code(code: str | int) -> str:
    """A catalogue code as written in the definitions: five digits, leading zeros kept."""
    return str(code).strip().zfill(5)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def body_names(catalogue: UnitCatalogue, unit: OfficialUnit) -> tuple[str, str]:
    """Full and short name: "Ủy ban nhân dân xã Thượng Lâm", "UBND xã Thượng Lâm"."""
    local = _lower_first(unit.name)
    return f"{catalogue.name_prefix} {local}".strip(), f"{catalogue.short_prefix} {local}".strip()


def _new_id(catalogue: UnitCatalogue, unit: OfficialUnit, taken: set[str]) -> str:
    base = catalogue.id_prefix + re.sub(r"[^a-z0-9]+", "-", unit.codename.lower()).strip("-")
    return base if base not in taken else f"{base}-{unit.code}"


def _new_body(catalogue: UnitCatalogue, group: Group, unit: OfficialUnit, body_id: str) -> Body:
    name, short_name = body_names(catalogue, unit)
    templates = catalogue.placeholder
    return Body(
        id=body_id,
        code=unit.code,
        name=name,
        short_name=short_name,
        aliases=[unit.name],
        kind=catalogue.kind,
        groups=[group.id],
        parent=catalogue.parent,
        mailboxes=Mailboxes(
            to=[templates.to.format(id=body_id)],
            head=[templates.head.format(id=body_id)] if templates.head else [],
            cc=[templates.cc.format(id=body_id)] if templates.cc else [],
        ),
        valid_from=catalogue.valid_from,
    )


def _refreshed(catalogue: UnitCatalogue, group: Group, unit: OfficialUnit, body: Body) -> Body:
    """The encoded body with the catalogue's code and name; its old name becomes an alias."""
    name, _ = body_names(catalogue, unit)
    aliases = list(body.aliases)
    for known in (body.name if body.name != name else None, unit.name):
        if known and known not in aliases:
            aliases.append(known)
    groups = body.groups if group.id in body.groups else [*body.groups, group.id]
    return body.model_copy(
        update={"code": unit.code, "name": name, "aliases": aliases, "groups": groups}
    )


class _Matcher:
    """Finds an encoded body for a unit: by code, then by name with, then without, diacritics."""

    def __init__(self, catalogue: UnitCatalogue, bodies: list[Body]) -> None:
        self.catalogue = catalogue
        self.by_code = {unit_code(b.code): b for b in bodies if b.code}
        self.by_name: dict[str, list[Body]] = {}
        self.by_plain: dict[str, list[Body]] = {}
        for body in bodies:
            for text in {body.name, body.short_name, *body.aliases}:
                self.by_name.setdefault(name_key(text), []).append(body)
                self.by_plain.setdefault(plain_key(text), []).append(body)

    def find(self, unit: OfficialUnit) -> Body | None:
        found = self.by_code.get(unit.code)
        if found is not None:
            return found
        full, short = body_names(self.catalogue, unit)
        for index, key in ((self.by_name, name_key), (self.by_plain, plain_key)):
            candidates = {
                b.id: b
                for text in (full, short, unit.name)
                for b in index.get(key(text), [])
                if not b.code  # a body with another code is another unit
            }
            if len(candidates) == 1:
                return next(iter(candidates.values()))
        return None


def merge_catalogue(
    group: Group, units: list[OfficialUnit], in_file: list[Body], elsewhere: list[Body]
) -> CatalogueMerge:
    """The group's file after merging the catalogue: `in_file` are the bodies it holds now,
    `elsewhere` every other body of the definitions (those are reported, never moved)."""
    catalogue = group.catalogue
    if catalogue is None:
        raise ValueError(f"group {group.id} declares no catalogue")
    result = CatalogueMerge()
    matcher = _Matcher(catalogue, in_file + [b for b in elsewhere if group.id in b.groups])
    taken = {b.id for b in in_file + elsewhere}
    placed: set[str] = set()
    outside = {b.id for b in elsewhere}
    for unit in sorted(units, key=lambda u: u.code):
        found = matcher.find(unit)
        if found is not None and found.id in placed:
            found = None  # two units matched one body by name: the second gets its own
        if found is None:
            body = _new_body(catalogue, group, unit, _new_id(catalogue, unit, taken))
            taken.add(body.id)
            result.added.append(body)
        elif found.id in outside:
            placed.add(found.id)
            result.elsewhere.append((unit, found))
            continue
        else:
            body = _refreshed(catalogue, group, unit, found)
            if body == found:
                result.unchanged.append(body)
            else:
                result.updated.append((found, body))
        placed.add(body.id)
        result.bodies.append(body)
    for body in in_file:
        if body.id not in placed:
            result.not_in_catalogue.append(body)
            result.bodies.append(body)
    return result


# --- writing the file ------------------------------------------------------------------------

_DATE_KEYS = {"valid_from", "valid_to"}
_QUOTED_KEYS = {"code"}  # "02269" must stay text for every YAML reader, leading zero and all


class _Quoted(str):
    pass


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, as the hand-written files are."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


_Dumper.add_representer(
    _Quoted, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, '"')
)


def _plain(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if key in _DATE_KEYS and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if key in _QUOTED_KEYS and isinstance(value, str):
        return _Quoted(value)
    if isinstance(value, BodyKind):
        return value.value
    return value


def body_data(body: Body) -> dict[str, Any]:
    """A body as YAML data: only what differs from the defaults, in the model's key order."""
    return _plain(body.model_dump(mode="json", exclude_defaults=True))


def render_items(key: str, items: list[dict[str, Any]], header: str) -> str:
    """A definitions file: the header comment, then `key:` and one block per item."""
    text = yaml.dump(
        {key: items},
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=None,
        width=100,
    )
    # A blank line between items, as in the hand-written files.
    text = re.sub(r"\n(  - )", r"\n\n\1", text).replace(f"{key}:\n\n", f"{key}:\n", 1)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + "\n" + text

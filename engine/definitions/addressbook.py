"""The province's address book (rows of a spreadsheet) matched to bodies, as an overlay file.

The spreadsheet itself is read by the CLI; here rows are plain data. A row names a body by code
(official unit code or body id), else by name, compared first with and then without diacritics.
Accepted rows become `AddressEntry`s in `addresses.yaml`, which the loader lays over the bodies'
own mailboxes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.definitions.catalogue import unit_code
from engine.definitions.models import EMAIL_RE, AddressEntry, Body, Definitions
from engine.definitions.namekeys import name_key, plain_key

ADDRESSES_FILE = "addresses.yaml"
MAILBOX_KINDS = ("to", "head", "cc")
_SEPARATORS = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class BookRow:
    """One spreadsheet row: its number as the spreadsheet shows it, and its cells as text."""

    number: int
    code: str = ""
    name: str = ""
    to: str = ""
    head: str = ""
    cc: str = ""

    @property
    def label(self) -> str:
        return " / ".join(part for part in (self.code, self.name) if part) or "(không tên)"


@dataclass(frozen=True)
class Matched:
    row: BookRow
    body: Body
    how: str  # "mã", "tên", "tên không dấu"


@dataclass
class BookImport:
    matched: list[Matched] = field(default_factory=list)
    unmatched: list[tuple[BookRow, str]] = field(default_factory=list)
    invalid: list[tuple[BookRow, str]] = field(default_factory=list)
    duplicates: list[tuple[BookRow, int, Body, bool]] = field(default_factory=list)
    entries: dict[str, AddressEntry] = field(default_factory=dict)

    @property
    def refused(self) -> int:
        """Rows not imported: unmatched, invalid, or conflicting with another row (both)."""
        conflicting = set()
        for row, first, _, conflict in self.duplicates:
            if conflict:
                conflicting.update((row.number, first))
        return len(self.unmatched) + len(self.invalid) + len(conflicting)


def split_addresses(cell: str) -> list[str]:
    """A cell's addresses: one or several, separated by commas, semicolons, spaces or lines."""
    return [part.strip() for part in _SEPARATORS.split(cell) if part.strip()]


class _Index:
    def __init__(self, bodies: Iterable[Body]) -> None:
        self.by_code: dict[str, Body] = {}
        self.by_id: dict[str, Body] = {}
        self.by_name: dict[str, dict[str, Body]] = {}
        self.by_plain: dict[str, dict[str, Body]] = {}
        for body in bodies:
            self.by_id[body.id] = body
            if body.code:
                self.by_code[unit_code(body.code)] = body
            for text in {body.name, body.short_name, *body.aliases}:
                self.by_name.setdefault(name_key(text), {})[body.id] = body
                self.by_plain.setdefault(plain_key(text), {})[body.id] = body

    def find(self, row: BookRow) -> tuple[Body | None, str]:
        """The body and how it was found, or None and why not."""
        code = row.code.strip()
        if code:
            by_code = code.isdigit()
            body = self.by_code.get(unit_code(code)) if by_code else self.by_id.get(code.lower())
            if body is not None:
                return body, "mã"
            if not row.name.strip():
                return None, f"không có cơ quan mã '{code}'"
        name = row.name.strip()
        if not name:
            return None, "dòng không có mã và tên cơ quan"
        for index, key, how in (
            (self.by_name, name_key, "tên"),
            (self.by_plain, plain_key, "tên không dấu"),
        ):
            found = index.get(key(name), {})
            if len(found) == 1:
                return next(iter(found.values())), how
            if len(found) > 1:
                return None, f"tên '{name}' trùng với nhiều cơ quan: {', '.join(sorted(found))}"
        reason = f"không tìm thấy cơ quan tên '{name}'"
        return None, reason + (f" hoặc mã '{code}'" if code else "")


def _entry(row: BookRow, body: Body, source: str) -> tuple[AddressEntry | None, str]:
    values: dict[str, list[str]] = {}
    for kind in MAILBOX_KINDS:
        addresses = split_addresses(getattr(row, kind))
        wrong = [address for address in addresses if not EMAIL_RE.match(address)]
        if wrong:
            return None, f"địa chỉ thư không hợp lệ: {', '.join(wrong)}"
        if addresses:
            values[kind] = list(dict.fromkeys(addresses))
    if not values:
        return None, "dòng không có địa chỉ thư nào"
    return AddressEntry(body=body.id, source=f"{source}, dòng {row.number}", **values), ""


def match_book(defs: Definitions, rows: list[BookRow], on: dt.date, source: str) -> BookImport:
    """Match every row to a body existing on the day; invalid rows are refused with a reason."""
    index = _Index(body for body in defs.bodies.values() if body.exists_on(on))
    result = BookImport()
    first_row: dict[str, BookRow] = {}
    conflicting: set[str] = set()
    for row in rows:
        body, how = index.find(row)
        if body is None:
            result.unmatched.append((row, how))
            continue
        entry, reason = _entry(row, body, source)
        if entry is None:
            result.invalid.append((row, reason))
            continue
        if body.id in first_row:
            kept = result.entries.get(body.id)
            conflict = kept is None or _addresses(kept) != _addresses(entry)
            result.duplicates.append((row, first_row[body.id].number, body, conflict))
            if conflict:
                conflicting.add(body.id)
            continue
        first_row[body.id] = row
        result.entries[body.id] = entry
        result.matched.append(Matched(row, body, how))
    for body_id in conflicting:
        # Two rows disagree on one body's mailboxes: which is right is the province's call.
        result.entries.pop(body_id, None)
        result.matched = [m for m in result.matched if m.body.id != body_id]
    return result


def _addresses(entry: AddressEntry) -> tuple:
    return entry.to, entry.head, entry.cc


def mailbox_changes(defs: Definitions, entries: Iterable[AddressEntry]) -> list[tuple]:
    """(body, kind, before, after) for every mailbox an entry would change."""
    changes = []
    for entry in entries:
        body = defs.bodies[entry.body]
        after = entry.apply(body.mailboxes)
        for kind in MAILBOX_KINDS:
            if getattr(body.mailboxes, kind) != getattr(after, kind):
                changes.append((body, kind, getattr(body.mailboxes, kind), getattr(after, kind)))
    return changes


def merge_entries(existing: list[AddressEntry], new: dict[str, AddressEntry]) -> list[AddressEntry]:
    """The overlay file's entries after an import: a new entry's keys replace the old entry's,
    keys it leaves out are kept; entries of other bodies stay. Sorted by body id."""
    merged = {entry.body: entry for entry in existing}
    for body_id, entry in new.items():
        old = merged.get(body_id)
        if old is None:
            merged[body_id] = entry
            continue
        update = {kind: getattr(entry, kind) for kind in MAILBOX_KINDS if getattr(entry, kind)}
        merged[body_id] = old.model_copy(update={**update, "source": entry.source})
    return [merged[body_id] for body_id in sorted(merged)]

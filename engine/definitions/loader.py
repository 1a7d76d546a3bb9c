"""Load a definitions directory: read every YAML file, validate it, cross-check the whole.

Every problem in every file is collected (never stopping at the first), each with the file,
line and column an administrator needs to fix it.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.definitions.checks import check_definitions
from engine.definitions.findings import Finding, Problem, display_path, explain_error
from engine.definitions.models import (
    AddressEntry,
    AddressesFile,
    BodiesFile,
    Body,
    CalendarFile,
    CalendarOverride,
    Definitions,
    Group,
    GroupsFile,
    Obligation,
    ObligationsFile,
    Plan,
    PlanFile,
    Role,
)
from engine.definitions.template_checks import check_template
from engine.definitions.yamlmarks import Loc, Marks, read_yaml

ENV_VAR = "KEHOACH_DEFINITIONS"
FILE_MODELS: dict[str, type[BaseModel]] = {
    "plan": PlanFile,
    "bodies": BodiesFile,
    "groups": GroupsFile,
    "roles": GroupsFile,
    "obligations": ObligationsFile,
    "calendar": CalendarFile,
    "addresses": AddressesFile,
}
_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "bodies": Body,
    "groups": Group,
    "roles": Role,
    "obligations": Obligation,
}
_KEYS_HINT = "plan, bodies, groups, roles, obligations, calendar hoặc addresses"
_NOUNS = {"bodies": "cơ quan", "groups": "nhóm", "roles": "vai trò", "obligations": "nghĩa vụ"}
# Longest first: "x.subject.txt" is the subject of template "x", not a template "x.subject".
_TEMPLATE_SUFFIXES = (".subject.txt", ".txt", ".html")


@dataclass
class LoadResult:
    definitions: Definitions | None
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)


def default_definitions_dir() -> Path:
    """$KEHOACH_DEFINITIONS, else the repository's definitions/ directory."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "definitions"


def load_definitions(directory: Path) -> LoadResult:
    """Load and check every definition file under `directory`, reporting all problems at once."""
    directory = Path(directory)
    if not directory.is_dir():
        message = "không tìm thấy thư mục định nghĩa"
        return LoadResult(None, [Problem(display_path(directory), 0, 0, message)])
    return _Loading(directory).run()


@dataclass
class _Source:
    path: str
    marks: Marks

    def position(self, loc: Loc) -> tuple[int, int]:
        """The exact key when recorded, else its nearest recorded ancestor."""
        for end in range(len(loc), -1, -1):
            mark = self.marks.get(loc[:end])
            if mark is not None:
                return mark
        return 1, 1


class _Loading:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self.plan: Plan | None = None
        self.plan_source: _Source | None = None
        self.items: dict[str, dict[str, Any]] = {section: {} for section in _ITEM_MODELS}
        self.calendars: dict[int, CalendarOverride] = {}
        self.addresses: list[tuple[AddressEntry, _Source, Loc]] = []
        self.origins: dict[tuple[str, str], tuple[_Source, Loc]] = {}
        self.unparsed: dict[str, set[str]] = defaultdict(set)
        # A file we could not read at all may define anything: references into it are unknown.
        self.opaque = False

    def run(self) -> LoadResult:
        yaml_files, template_files = _source_files(self.directory)
        digest = hashlib.sha256()
        contents = {}
        for relative in sorted(yaml_files + template_files):
            try:
                contents[relative] = (self.directory / relative).read_bytes()
            except OSError as exc:
                path = display_path(self.directory / relative)
                self.problems.append(Problem(path, 0, 0, f"không đọc được tệp: {exc.strerror}"))
                self.opaque = True
                continue
            name = relative.as_posix().encode()
            digest.update(len(name).to_bytes(4, "big") + name)
            digest.update(len(contents[relative]).to_bytes(8, "big") + contents[relative])
        for relative in yaml_files:
            if relative in contents:
                self.read(display_path(self.directory / relative), contents[relative])
        if self.plan_source is None:
            message = "không có kế hoạch: cần đúng một tệp có khóa cấp cao nhất 'plan:'"
            self.problems.append(Problem(display_path(self.directory), 0, 0, message))
        structure_ok = not self.problems
        for relative in template_files:
            if relative in contents:
                path = display_path(self.directory / relative)
                self.problems += check_template(path, contents[relative])
        definitions = self.definitions(_template_ids(template_files), digest.hexdigest())
        findings = check_definitions(definitions, self.unparsed, complete=not self.opaque)
        if structure_ok:
            findings += _date_findings(definitions, already_wrong=bool(findings))
        if structure_ok and not any(not f.warning for f in findings):
            # Advice needs valid definitions (it computes due dates): only then.
            from engine.definitions.advice import check_advice

            findings += check_advice(definitions)
        located = [self.locate(finding) for finding in findings]
        self.problems += [problem for problem in located if not problem.warning]
        warnings = sorted((p for p in located if p.warning), key=_position)
        self.problems.sort(key=_position)
        return LoadResult(None if self.problems else definitions, self.problems, warnings)

    def problem_at(self, source: _Source, loc: Loc, message: str) -> None:
        self.problems.append(Problem(source.path, *source.position(loc), message))

    def read(self, path: str, data: bytes) -> None:
        document = read_yaml(data)
        source = _Source(path, document.marks)
        self.problems += [Problem(path, e.line, e.col, e.message) for e in document.errors]
        value = document.value
        if value is None:
            if document.errors:
                self.opaque = True
            else:
                message = f"tệp rỗng: cần một khóa cấp cao nhất ({_KEYS_HINT})"
                self.problems.append(Problem(path, 1, 1, message))
            return
        if not isinstance(value, dict) or not value:
            message = f"tệp phải có đúng một khóa cấp cao nhất ({_KEYS_HINT})"
            self.problem_at(source, (), message)
            self.opaque = True
            return
        unknown = [key for key in value if key not in FILE_MODELS]
        for key in unknown:
            guess = difflib.get_close_matches(key, list(FILE_MODELS), n=1)
            hint = f"; có phải '{guess[0]}'?" if guess else ""
            message = f"khóa cấp cao nhất '{key}' không được phép (dùng {_KEYS_HINT}){hint}"
            self.problem_at(source, (key,), message)
        models = {FILE_MODELS[key] for key in value if key in FILE_MODELS}
        if unknown or len(models) > 1:
            self.opaque = True
        if unknown:
            return
        if len(models) > 1:
            keys = list(value)
            message = (
                f"mỗi tệp chỉ có một khóa cấp cao nhất, tệp này có cả {', '.join(keys)}:"
                " hãy tách thành nhiều tệp"
            )
            self.problem_at(source, (keys[1],), message)
            return
        if "plan" in value and not self.claim_plan(source):
            return
        model = models.pop()
        try:
            parsed = model.model_validate(value)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.problem_at(source, *explain_error(error, model))
            self.salvage(source, value)
            return
        self.register(source, parsed)

    def claim_plan(self, source: _Source) -> bool:
        if self.plan_source is None:
            self.plan_source = source
            return True
        line = self.plan_source.position(("plan",))[0]
        message = (
            f"đã có kế hoạch ở {self.plan_source.path}:{line}; bộ định nghĩa chỉ có đúng một"
            " kế hoạch"
        )
        self.problem_at(source, ("plan",), message)
        return False

    def salvage(self, source: _Source, value: dict[str, Any]) -> None:
        """Keep the valid items of a file with errors, so that cross-checks still run."""
        for section, raw in value.items():
            if section == "addresses" and isinstance(raw, list):
                for index, raw_entry in enumerate(raw):
                    try:
                        entry = AddressEntry.model_validate(raw_entry)
                    except ValidationError:
                        continue
                    self.add_address(entry, source, ("addresses", index))
            if section not in _ITEM_MODELS or not isinstance(raw, list):
                continue
            for index, raw_item in enumerate(raw):
                try:
                    item = _ITEM_MODELS[section].model_validate(raw_item)
                except ValidationError:
                    if isinstance(raw_item, dict) and isinstance(raw_item.get("id"), str):
                        self.unparsed[section].add(raw_item["id"])
                    continue
                self.add(section, item, source, (section, index))

    def register(self, source: _Source, parsed: BaseModel) -> None:
        if isinstance(parsed, PlanFile):
            self.plan = parsed.plan
            self.origins[("plan", parsed.plan.id)] = (source, ("plan",))
        elif isinstance(parsed, CalendarFile):
            self.add_calendar(source, parsed.calendar)
        elif isinstance(parsed, AddressesFile):
            for index, entry in enumerate(parsed.addresses):
                self.add_address(entry, source, ("addresses", index))
        else:
            for section in _ITEM_MODELS:
                for index, item in enumerate(getattr(parsed, section, ())):
                    self.add(section, item, source, (section, index))

    def add(self, section: str, item: Any, source: _Source, loc: Loc) -> None:
        key = (section, item.id)
        if key in self.origins:
            first, first_loc = self.origins[key]
            where = f"{first.path}:{first.position(first_loc)[0]}"
            message = f"{_NOUNS[section]} '{item.id}' bị khai báo trùng (đã có ở {where})"
            self.problem_at(source, (*loc, "id"), message)
            return
        self.items[section][item.id] = item
        self.origins[key] = (source, loc)

    def add_calendar(self, source: _Source, calendar: CalendarOverride) -> None:
        key = ("calendar", str(calendar.year))
        if key in self.origins:
            first, first_loc = self.origins[key]
            where = f"{first.path}:{first.position(first_loc)[0]}"
            message = f"lịch năm {calendar.year} bị khai báo trùng (đã có ở {where})"
            self.problem_at(source, ("calendar", "year"), message)
            return
        self.calendars[calendar.year] = calendar
        self.origins[key] = (source, ("calendar",))

    def add_address(self, entry: AddressEntry, source: _Source, loc: Loc) -> None:
        key = ("addresses", entry.body)
        if key in self.origins:
            first, first_loc = self.origins[key]
            where = f"{first.path}:{first.position(first_loc)[0]}"
            message = f"hộp thư của cơ quan '{entry.body}' bị khai báo trùng (đã có ở {where})"
            self.problem_at(source, (*loc, "body"), message)
            return
        self.origins[key] = (source, loc)
        self.addresses.append((entry, source, loc))

    def overlaid_bodies(self) -> dict[str, Body]:
        """The bodies with the address book's mailboxes in place of their own."""
        bodies = dict(self.items["bodies"])
        for entry, source, loc in self.addresses:
            body = bodies.get(entry.body)
            if body is not None:
                bodies[entry.body] = body.model_copy(
                    update={"mailboxes": entry.apply(body.mailboxes)}
                )
            elif not self.opaque and entry.body not in self.unparsed["bodies"]:
                guess = difflib.get_close_matches(entry.body, sorted(bodies), n=1)
                hint = f"; có phải '{guess[0]}'?" if guess else ""
                message = f"cơ quan '{entry.body}' không tồn tại{hint}"
                self.problem_at(source, (*loc, "body"), message)
        return bodies

    def definitions(self, templates: frozenset[str], digest: str) -> Definitions:
        fields = dict(
            plan=self.plan,
            bodies=self.overlaid_bodies(),
            groups=self.items["groups"],
            roles=self.items["roles"],
            obligations=self.items["obligations"],
            calendars=self.calendars,
            templates=templates,
            digest=digest,
        )
        if self.plan is None:
            # Only for the cross-checks, which skip what needs the plan; never returned.
            return Definitions.model_construct(**fields)
        return Definitions(**fields)

    def locate(self, finding: Finding) -> Problem:
        origin = self.origins.get((finding.section, str(finding.item_id)))
        if origin is None:
            return Problem(display_path(self.directory), 0, 0, finding.message, finding.warning)
        source, loc = origin
        position = source.position((*loc, *finding.keys))
        return Problem(source.path, *position, finding.message, finding.warning)


def _position(problem: Problem) -> tuple[str, int, int, str]:
    return problem.path, problem.line, problem.col, problem.message


def _date_findings(definitions: Definitions, already_wrong: bool) -> list[Finding]:
    # Imported here: the legal calendar pulls in the `holidays` package, which nothing else
    # importing the loader (for default_definitions_dir, say) should pay for.
    from engine.definitions.date_checks import check_dates

    if not already_wrong:
        return check_dates(definitions)
    try:
        return check_dates(definitions)
    except Exception:
        # A dangling reference reported above can trip the date checks; that report explains
        # it, and they run unguarded once the references are fixed.
        return []


def _source_files(directory: Path) -> tuple[list[Path], list[Path]]:
    yaml_files: list[Path] = []
    template_files: list[Path] = []
    for root, dirs, files in os.walk(directory):
        relative_root = Path(root).relative_to(directory)
        top = relative_root == Path(".")
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (top and d == "schema")]
        for name in files:
            relative = relative_root / name
            if name.startswith("."):
                continue
            if name.endswith((".yaml", ".yml")):
                yaml_files.append(relative)
            elif relative.parent == Path("templates") and name.endswith(_TEMPLATE_SUFFIXES):
                template_files.append(relative)
    return sorted(yaml_files), sorted(template_files)


def _template_ids(template_files: list[Path]) -> frozenset[str]:
    ids = set()
    for path in template_files:
        suffix = next(s for s in _TEMPLATE_SUFFIXES if path.name.endswith(s))
        ids.add(path.name[: -len(suffix)])
    return frozenset(ids)

"""Cross-reference checks over loaded definitions: what each file is fine alone but wrong together.

Each check returns Findings (item + key path); the loader turns them into file:line problems.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Iterator, Mapping

from engine.bodies import resolve_responsible, resolve_target
from engine.definitions.declarations import check_declarations
from engine.definitions.findings import Finding
from engine.definitions.letter_checks import check_letters
from engine.definitions.models import (
    Body,
    Clause,
    Definitions,
    Obligation,
    Plan,
    RoleHolder,
    RungKind,
    Target,
)

BUILTIN_TEMPLATES = frozenset(
    {kind.value for kind in RungKind}
    | {"request", "receipt", "returned", "closed-summary", "digest"}
)

_NOUNS = {
    "bodies": "cơ quan",
    "groups": "nhóm",
    "roles": "vai trò",
    "obligations": "nghĩa vụ",
    "clauses": "mục kế hoạch",
    "legal_bases": "căn cứ pháp lý",
    "templates": "mẫu thư",
}


def check_definitions(
    defs: Definitions,
    unparsed: Mapping[str, Collection[str]] | None = None,
    complete: bool = True,
) -> list[Finding]:
    """All cross-reference findings. Ids in `unparsed` (items that failed validation) count as
    known, so one broken item is not also reported at every reference to it; with `complete`
    false (a file could not be read at all) references are not checked."""
    unparsed = unparsed or {}
    refs = _References(defs, unparsed, complete)
    findings: list[Finding] = []
    if defs.plan is not None:
        findings += _check_plan(defs, refs, complete and "obligations" not in unparsed)
    for body in defs.bodies.values():
        findings += _check_body(body, refs)
    findings += _check_body_codes(defs)
    for group in defs.groups.values():
        if group.catalogue is not None and group.catalogue.parent is not None:
            keys = ("catalogue", "parent")
            findings += refs.check("bodies", group.catalogue.parent, ("groups", group.id), keys)
    findings += _check_roles(defs, refs)
    if complete and "obligations" not in unparsed:
        findings += _unused_roles(defs)
    for obligation in defs.obligations.values():
        findings += _check_obligation(obligation, refs)
    findings += _check_downstream_cycles(defs)
    if complete:
        findings += check_declarations(defs)
    findings += _check_calendars(defs)
    findings += check_letters(defs, refs, complete)
    if complete and not any(unparsed.get(section) for section in ("bodies", "groups", "roles")):
        # An obligation with a bad reference would only repeat that error as "nobody".
        flawed = {f.item_id for f in findings if f.section == "obligations"}
        for obligation in defs.obligations.values():
            if obligation.id not in flawed:
                findings += _check_coverage(defs, obligation)
    return findings


class _References:
    def __init__(
        self, defs: Definitions, unparsed: Mapping[str, Collection[str]], complete: bool
    ) -> None:
        self.complete = complete
        self.known: dict[str, set[str] | None] = {
            "bodies": set(defs.bodies),
            "groups": set(defs.groups),
            "roles": set(defs.roles),
            "obligations": set(defs.obligations),
            "templates": set(defs.templates) | BUILTIN_TEMPLATES,
            # Without a valid plan the clause tree is unknown: skip those references.
            "clauses": {c.id for c, _ in walk_clauses(defs.plan)} if defs.plan else None,
            "legal_bases": {b.id for b in defs.plan.legal_bases} if defs.plan else None,
        }
        self.unparsed = unparsed

    def check(self, section: str, ref_id: str, item: tuple[str, str], keys: tuple) -> list[Finding]:
        known = self.known[section]
        if (
            not self.complete
            or known is None
            or ref_id in known
            or ref_id in self.unparsed.get(section, ())
        ):
            return []
        guess = difflib.get_close_matches(ref_id, sorted(known), n=1)
        hint = f"; có phải '{guess[0]}'?" if guess else ""
        message = f"{_NOUNS[section]} '{ref_id}' không tồn tại{hint}"
        if section == "templates":
            message += f" (mẫu thư riêng là tệp templates/{ref_id}.txt hoặc .html)"
        return [Finding(item[0], item[1], keys, message)]

    def target(self, target: Target, item: tuple[str, str], keys: tuple) -> list[Finding]:
        if target.role is not None:
            return self.check("roles", target.role, item, (*keys, "role"))
        if target.body is not None:
            return self.check("bodies", target.body, item, (*keys, "body"))
        return []


def walk_clauses(plan: Plan | None) -> Iterator[tuple[Clause, tuple]]:
    """Every clause of the plan at any depth, with its key path inside the plan."""

    def walk(clauses: list[Clause], path: tuple) -> Iterator[tuple[Clause, tuple]]:
        for index, clause in enumerate(clauses):
            yield clause, (*path, index)
            yield from walk(clause.children, (*path, index, "children"))

    if plan is not None:
        yield from walk(plan.clauses, ("clauses",))


def plan_start(plan: Plan | None) -> dt.date | None:
    """The plan's issue date (the first of the month when only YYYY-MM is known)."""
    if plan is None:
        return None
    try:
        return dt.date.fromisoformat(plan.date if len(plan.date) > 7 else plan.date + "-01")
    except ValueError:
        return None


def _duplicates(ids: list[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            yield index, item_id
        seen.add(item_id)


def _day(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _check_plan(defs: Definitions, refs: _References, complete: bool) -> list[Finding]:
    plan = defs.plan
    item = ("plan", plan.id)
    findings = refs.check("bodies", plan.issuer, item, ("issuer",))
    if plan_start(plan) is None:
        findings.append(Finding(*item, ("date",), f"ngày ban hành '{plan.date}' không có thật"))
    for index, basis_id in _duplicates([b.id for b in plan.legal_bases]):
        message = f"căn cứ pháp lý '{basis_id}' bị khai báo trùng"
        findings.append(Finding(*item, ("legal_bases", index, "id"), message))
    clauses = list(walk_clauses(plan))
    seen: set[str] = set()
    for clause, path in clauses:
        if clause.id in seen:
            findings.append(Finding(*item, (*path, "id"), f"mục '{clause.id}' bị khai báo trùng"))
        seen.add(clause.id)
    if complete:  # an obligation that failed to load may well be the one citing the clause
        cited = {c for o in defs.obligations.values() for c in o.clauses}
        for clause, path in clauses:
            if clause.requires_obligation and not _cited(clause, cited):
                message = (
                    f"mục '{clause.id}' giao việc (requires_obligation) nhưng chưa có nghĩa vụ"
                    " nào trích dẫn mục này hoặc mục con của nó"
                )
                findings.append(Finding(*item, path, message))
    return findings


def _cited(clause: Clause, cited: set[str]) -> bool:
    return clause.id in cited or any(_cited(child, cited) for child in clause.children)


def _check_body(body: Body, refs: _References) -> list[Finding]:
    item = ("bodies", body.id)
    findings = []
    for index, group_id in enumerate(body.groups):
        findings += refs.check("groups", group_id, item, ("groups", index))
    if body.parent is not None:
        findings += refs.check("bodies", body.parent, item, ("parent",))
    for index, successor in enumerate(body.successors):
        keys = ("successors", index)
        if successor.body is not None:
            findings += refs.check("bodies", successor.body, item, (*keys, "body"))
        if successor.group is not None:
            findings += refs.check("groups", successor.group, item, (*keys, "group"))
        for number, role_id in enumerate(successor.roles):
            findings += refs.check("roles", role_id, item, (*keys, "roles", number))
    findings += _dates_in_order(item, (), body.valid_from, body.valid_to)
    if body.successors and body.valid_to is None:
        message = (
            "có 'successors' nhưng thiếu 'valid_to': cần ngày kết thúc để biết từ khi nào"
            " cơ quan kế nhiệm nhận việc"
        )
        findings.append(Finding(*item, ("successors",), message))
    return findings


def _check_body_codes(defs: Definitions) -> list[Finding]:
    """An official code names one unit: two bodies with it would split its mail and its answers."""
    findings = []
    first_with: dict[str, str] = {}
    for body in defs.bodies.values():
        if body.code is None:
            continue
        key = body.code.lstrip("0")
        if key in first_with:
            message = f"mã đơn vị '{body.code}' đã dùng cho cơ quan '{first_with[key]}'"
            findings.append(Finding("bodies", body.id, ("code",), message))
        else:
            first_with[key] = body.id
    return findings


def roles_in_use(defs: Definitions) -> set[str]:
    """Roles some obligation names: in `responsible.roles`, or as a `role:` target anywhere in
    it (recipient, a rung's cc or escalate_to, any later declaration of the same shape)."""
    used: set[str] = set()
    for obligation in defs.obligations.values():
        used.update(obligation.responsible.roles)
        used.update(_role_targets(obligation.model_dump()))
    return used


def _role_targets(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("role"), str):
            yield value["role"]
        for item in value.values():
            yield from _role_targets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _role_targets(item)


def _unused_roles(defs: Definitions) -> list[Finding]:
    used = roles_in_use(defs)
    message = (
        "vai trò '{}' không được nghĩa vụ nào dùng (responsible, recipient, cc, escalate_to…):"
        " giao cho vai trò phần việc kế hoạch nêu, hoặc xóa vai trò nếu kế hoạch không cần"
    )
    return [
        Finding("roles", role_id, ("id",), message.format(role_id), warning=True)
        for role_id in defs.roles
        if role_id not in used
    ]


def _dates_in_order(
    item: tuple[str, str], keys: tuple, start: dt.date | None, end: dt.date | None
) -> list[Finding]:
    if start is None or end is None or start <= end:
        return []
    message = f"'valid_from' ({_day(start)}) sau 'valid_to' ({_day(end)})"
    return [Finding(*item, (*keys, "valid_from"), message)]


def _overlap(first: RoleHolder, second: RoleHolder) -> bool:
    return (
        first.valid_to is None or second.valid_from is None or second.valid_from <= first.valid_to
    ) and (
        second.valid_to is None or first.valid_from is None or first.valid_from <= second.valid_to
    )


def _check_roles(defs: Definitions, refs: _References) -> list[Finding]:
    findings = []
    for role in defs.roles.values():
        item = ("roles", role.id)
        ordered: list[tuple[int, RoleHolder]] = []
        for index, holder in enumerate(role.holders):
            keys = ("holders", index)
            findings += refs.check("bodies", holder.body, item, (*keys, "body"))
            wrong = _dates_in_order(item, keys, holder.valid_from, holder.valid_to)
            findings += wrong
            if not wrong:
                ordered.append((index, holder))
        for position, (index, holder) in enumerate(ordered):
            for earlier_index, earlier in ordered[:position]:
                if _overlap(earlier, holder):
                    message = (
                        f"thời gian giữ vai trò của '{holder.body}' trùng với của"
                        f" '{earlier.body}' (mục thứ {earlier_index + 1}): mỗi ngày vai trò chỉ"
                        " có một cơ quan đảm nhiệm"
                    )
                    findings.append(Finding(*item, ("holders", index), message))
                    break
    return findings


def _check_obligation(obligation: Obligation, refs: _References) -> list[Finding]:
    item = ("obligations", obligation.id)
    findings: list[Finding] = []
    for index, clause_id in enumerate(obligation.clauses):
        findings += refs.check("clauses", clause_id, item, ("clauses", index))
    for index, basis_id in enumerate(obligation.legal_basis):
        findings += refs.check("legal_bases", basis_id, item, ("legal_basis", index))
    responsible = obligation.responsible
    for section, ids, kind in (
        ("bodies", responsible.bodies, "bodies"),
        ("groups", responsible.groups, "groups"),
        ("roles", responsible.roles, "roles"),
        ("bodies", responsible.exclude, "exclude"),
    ):
        for index, ref_id in enumerate(ids):
            findings += refs.check(section, ref_id, item, ("responsible", kind, index))
    findings += refs.target(obligation.recipient, item, ("recipient",))
    if obligation.recipient.mailbox is not None:
        message = "cơ quan nhận kết quả phải là 'role' hoặc 'body'; 'mailbox' chỉ dùng cho cc"
        findings.append(Finding(*item, ("recipient", "mailbox"), message + " và escalate_to"))
    for index, rung_id in _duplicates([rung.id for rung in obligation.ladder]):
        message = f"bậc nhắc '{rung_id}' bị khai báo trùng trong 'ladder'"
        findings.append(Finding(*item, ("ladder", index, "id"), message))
    for index, rung in enumerate(obligation.ladder):
        keys = ("ladder", index)
        if rung.template is not None:
            findings += refs.check("templates", rung.template, item, (*keys, "template"))
        for name, targets in (("cc", rung.cc), ("escalate_to", rung.escalate_to)):
            for number, target in enumerate(targets):
                findings += refs.target(target, item, (*keys, name, number))
    for index, field_id in _duplicates([field.id for field in obligation.form.fields]):
        message = f"trường '{field_id}' bị khai báo trùng trong biểu mẫu"
        findings.append(Finding(*item, ("form", "fields", index, "id"), message))
    if obligation.downstream is not None:
        keys = ("downstream",)
        findings += refs.check(
            "obligations", obligation.downstream.obligation, item, (*keys, "obligation")
        )
        for index, body_id in enumerate(obligation.downstream.completeness.bodies):
            findings += refs.check(
                "bodies", body_id, item, (*keys, "completeness", "bodies", index)
            )
    if obligation.report is not None:
        for index, target in enumerate(obligation.report.recipients):
            findings += refs.target(target, item, ("report", "recipients", index))
    findings += _dates_in_order(item, (), obligation.valid_from, obligation.valid_to)
    return findings


def _check_downstream_cycles(defs: Definitions) -> list[Finding]:
    findings = []
    reported: set[frozenset[str]] = set()
    for start in sorted(defs.obligations):
        chain: list[str] = []
        position: dict[str, int] = {}
        current: str | None = start
        while current in defs.obligations and current not in position:
            position[current] = len(chain)
            chain.append(current)
            downstream = defs.obligations[current].downstream
            current = downstream.obligation if downstream else None
        if current is None or current not in position:
            continue
        cycle = chain[position[current] :]
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        first = cycle.index(min(cycle))
        ring = cycle[first:] + cycle[:first]
        message = f"chuyển giao kết quả (downstream) tạo vòng lặp: {' → '.join([*ring, ring[0]])}"
        findings.append(Finding("obligations", ring[0], ("downstream", "obligation"), message))
    return findings


def _check_calendars(defs: Definitions) -> list[Finding]:
    findings = []
    for year, calendar in defs.calendars.items():
        for name, days in (
            ("days_off", calendar.days_off),
            ("working_days", calendar.working_days),
        ):
            for index, day in enumerate(days):
                if day.date.year != year:
                    message = f"ngày {_day(day.date)} không thuộc năm {year} của lịch này"
                    findings.append(Finding("calendar", year, (name, index, "date"), message))
        off = {day.date for day in calendar.days_off}
        for index, day in enumerate(calendar.working_days):
            if day.date in off:
                message = f"ngày {_day(day.date)} vừa là ngày nghỉ vừa là ngày làm việc"
                findings.append(Finding("calendar", year, ("working_days", index, "date"), message))
    return findings


def change_dates(defs: Definitions) -> list[dt.date]:
    """Days on which the structure may change (bodies and role holders start or end)."""
    days: set[dt.date] = set()
    spans = [(b.valid_from, b.valid_to) for b in defs.bodies.values()]
    spans += [(h.valid_from, h.valid_to) for r in defs.roles.values() for h in r.holders]
    for start, end in spans:
        if start is not None:
            days.add(start)
        if end is not None and end < dt.date.max:
            days.add(end + dt.timedelta(days=1))
    return sorted(days)


def _check_coverage(defs: Definitions, obligation: Obligation) -> list[Finding]:
    """Between two change dates the resolution is constant, so checking each is exhaustive."""
    start = obligation.valid_from or plan_start(defs.plan)
    end = obligation.valid_to
    if start is None or (end is not None and end < start):
        return []
    days = [start] + [d for d in change_dates(defs) if start < d and (end is None or d <= end)]
    item = ("obligations", obligation.id)
    findings: list[Finding] = []
    for day in days:
        if not resolve_responsible(defs, obligation, day):
            message = (
                f"từ ngày {_day(day)} không còn cơ quan nào chịu trách nhiệm: cơ quan được giao"
                " đã kết thúc mà không có cơ quan kế nhiệm, hoặc nhóm/vai trò không còn ai"
            )
            findings.append(Finding(*item, ("responsible",), message))
            break
    if obligation.recipient.mailbox is None:
        for day in days:
            if not resolve_target(defs, obligation.recipient, None, day):
                message = f"từ ngày {_day(day)} không xác định được cơ quan nhận kết quả"
                findings.append(Finding(*item, ("recipient",), message))
                break
    for index, rung in enumerate(obligation.ladder):
        if rung.kind == RungKind.escalation:
            findings += _check_escalation(defs, obligation, index, days)
    return findings


def _check_escalation(
    defs: Definitions, obligation: Obligation, index: int, days: list[dt.date]
) -> list[Finding]:
    rung = obligation.ladder[index]
    # Without escalate_to an escalation goes to the assignee's head: it must have one.
    targets = rung.escalate_to or [Target(mailbox="head")]
    for day in days:
        for body in resolve_responsible(defs, obligation, day):
            if any(resolve_target(defs, target, body, day) for target in targets):
                continue
            if rung.escalate_to:
                message = (
                    f"bậc leo thang '{rung.id}': không địa chỉ nào trong 'escalate_to' dùng được"
                    f" cho cơ quan '{body.id}' từ ngày {_day(day)}"
                )
                keys: tuple = ("ladder", index, "escalate_to")
            else:
                message = (
                    f"bậc leo thang '{rung.id}' không gửi được cho ai: không khai báo"
                    f" 'escalate_to' và cơ quan '{body.id}' không có hộp thư 'head'"
                )
                keys = ("ladder", index)
            return [Finding("obligations", obligation.id, keys, message)]
    return []

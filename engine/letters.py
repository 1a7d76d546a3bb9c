"""The plan-dependent phrases of a letter, composed from declarations only: the obligation's name
with its period, the act it asks for, the plan citation, the authority, who signs.

Pure functions over the definitions, shared by the letter composer (notifications) and the
validator, so a wording the validator accepts is the wording the letters use.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from engine.bodies import role_holder, successors_on
from engine.definitions.letter_models import PERIOD_MARK, Authority, AuthorityLevel, Party, Sender
from engine.definitions.models import Body, Clause, Definitions, Obligation
from engine.vndates import long_date

# The act whose result is the document itself ("gửi Báo cáo …"): no "và gửi kết quả" after it.
SEND = "gửi"
_WORD = re.compile(r"[^\W_]+(?:[/.-][^\W_]+)*", re.UNICODE)
# A bare cadence word in a name whose period label says it again ("… năm của sở" + "năm 2026").
_UNIT = re.compile(r"(?<!\d\s)(?<![\d\w])(?:hằng\s+)?(năm|tháng|quý)(?!\s*(?:\d|[IVX]+\b))(?![\w])")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def with_period(name: str, period_label: str) -> str:
    """Put the period label at '{period}', or after the name."""
    if PERIOD_MARK in name:
        return re.sub(r"\s+", " ", name.replace(PERIOD_MARK, period_label)).strip()
    return f"{name} {period_label}".strip()


def letter_name(obligation: Obligation) -> str:
    """The name letters use, '{period}' mark included (the title when none is declared)."""
    return obligation.letter.name or obligation.title


@dataclass(frozen=True)
class Naming:
    """An obligation's phrases for one period."""

    named: str  # "Hội nghị giao ban báo chí tháng 1 năm 2026"
    action: str  # "tổ chức"
    task: str  # "tổ chức Hội nghị giao ban báo chí tháng 1 năm 2026"
    result: str  # "kết quả Hội nghị giao ban báo chí tháng 1 năm 2026"


def naming(obligation: Obligation, period_label: str) -> Naming:
    """The obligation's name, act and result for a period."""
    named = with_period(letter_name(obligation), period_label)
    action = obligation.letter.action
    result = obligation.letter.result
    return Naming(
        named=named,
        action=action,
        task=f"{action} {named}",
        result=with_period(result, period_label) if result else named,
    )


def duty(naming_: Naming, report_to: str, *, declared_result: bool) -> str:
    """'gửi Báo cáo … về Sở …'; 'ban hành Kế hoạch … và gửi về …' (the document itself goes);
    'tổ chức Hội nghị … và gửi kết quả về …' (a result declared apart from the act)."""
    if naming_.action == SEND:
        return f"{naming_.task} về {report_to}"
    sent = "gửi kết quả" if declared_result else "gửi"
    return f"{naming_.task} và {sent} về {report_to}"


# Two compounds that share a syllable are not a doubled word ("vấn đề" + "đề nghị").
SHARED_SYLLABLE = frozenset({"vấn đề đề nghị", "cơ quan quan tâm", "cơ quan quan hệ"})


def repeated_words(text: str) -> list[str]:
    """Words written twice in a row ('năm năm', 'Thủ trưởng Thủ trưởng'), case-insensitive,
    within a run of text unbroken by punctuation (a label and its value may share a word)."""
    found = []
    for segment in re.split(r"[,;:()\[\]\"“”.!?—–]+", text):
        words = [_fold(w) for w in _WORD.findall(segment)]
        for size in (1, 2):
            for i in range(len(words) - 2 * size + 1):
                if words[i : i + size] != words[i + size : i + 2 * size]:
                    continue
                if size == 1 and " ".join(words[max(i - 1, 0) : i + 3]) in SHARED_SYLLABLE:
                    continue
                found.append(" ".join(words[i : i + size]))
    return found


def cadence_words(name: str) -> list[str]:
    """Bare cadence words in a name ('hằng năm', 'năm' not followed by a number)."""
    return [m.group(0) for m in _UNIT.finditer(name.replace(PERIOD_MARK, ""))]


# --- the authority and the plan citation -------------------------------------------------------


@dataclass(frozen=True)
class AuthorityNames:
    """'thành phố', 'Huế' and the issuing body's name ('Ủy ban nhân dân thành phố Huế')."""

    level: str
    name: str
    body: str


def authority(defs: Definitions) -> AuthorityNames:
    """The declared authority; without one, read from the issuer's name ('… tỉnh X')."""
    plan = defs.plan
    issuer = defs.bodies.get(plan.issuer)
    body = issuer.name if issuer else plan.issuer
    declared = plan.authority or derived_authority(body, plan.place)
    return AuthorityNames(declared.level.value, declared.name, body)


def derived_authority(issuer_name: str, place: str) -> Authority:
    """The level and name at the end of the issuer's name; 'tỉnh' and the place otherwise."""
    match = re.search(r"\b(tỉnh|thành phố)\s+(.+)$", issuer_name, re.IGNORECASE)
    if match:
        return Authority(level=AuthorityLevel(match.group(1).lower()), name=match.group(2))
    return Authority(level=AuthorityLevel.province, name=place)


def _has_number(number: str) -> bool:
    """'125/KH-UBND' is a number; '/KH-UBND' (the shipped plan: no number yet) is not."""
    return bool(re.match(r"^\s*[0-9]", number or ""))


def _signed(date_text: str) -> tuple[dt.date | None, str]:
    """(full date or None, 'tháng 6 năm 2023' when only the month is known)."""
    parts = [int(p) for p in date_text.split("-")]
    if len(parts) == 3:
        return dt.date(*parts), ""
    return None, f"tháng {parts[1]} năm {parts[0]}"


# Plan-level phrases, computed once per loaded Definitions (thousands of letters share them).
# Keyed by id() and checked by identity, so an edited copy never reads a stale entry.
_PLAN_CACHE: dict[int, tuple[Definitions, dict[str, object]]] = {}


def _plan_facts(defs: Definitions) -> dict[str, object]:
    entry = _PLAN_CACHE.get(id(defs))
    if entry is not None and entry[0] is defs:
        return entry[1]
    parents: dict[str, str] = {}

    def walk(clauses: list[Clause], parent: str | None) -> None:
        for clause in clauses:
            if parent:
                parents[clause.id] = parent
            walk(clause.children, clause.id)

    walk(defs.plan.clauses, None)
    facts: dict[str, object] = {"parents": parents, "citation": _plan_citation(defs)}
    if len(_PLAN_CACHE) > 16:
        _PLAN_CACHE.clear()
    _PLAN_CACHE[id(defs)] = (defs, facts)
    return facts


def plan_citation(defs: Definitions) -> str:
    """'Kế hoạch số 125/KH-UBND ngày 15 tháng 6 năm 2023 của … triển khai …'; without a number
    or a day it says only what is known, never 'số /KH-UBND'."""
    return str(_plan_facts(defs)["citation"])


def _plan_citation(defs: Definitions) -> str:
    plan = defs.plan
    issuer = authority(defs).body
    title = re.sub(r"\s+", " ", plan.title.strip())
    match = re.match(r"^kế hoạch\s+", title, re.IGNORECASE)
    subject = title[match.end() :] if match else f"về {title[:1].lower()}{title[1:]}"
    day, month = _signed(plan.date)
    number = plan.number.strip() if _has_number(plan.number) else ""
    head = "Kế hoạch"
    if number:
        head += f" số {number}"
    if day is not None:
        head += f" {long_date(day)}"
    head += f" của {issuer}"
    if day is None and not number:
        head += f" (ban hành {month})"
    return f"{head} {subject}"


def clause_citation(defs: Definitions, clause_ids: list[str]) -> str:
    """'mục III.2' or 'các mục III.3.1, III.3.5 và IV.1': a clause cited with one of its own
    sub-clauses is named once, by the sub-clause."""
    parents: dict[str, str] = _plan_facts(defs)["parents"]  # type: ignore[assignment]
    ancestors = set()
    for clause_id in clause_ids:
        current = parents.get(clause_id)
        while current:
            ancestors.add(current)
            current = parents.get(current)
    kept = list(dict.fromkeys(c for c in clause_ids if c not in ancestors))
    if len(kept) == 1:
        return f"mục {kept[0]}"
    return f"các mục {', '.join(kept[:-1])} và {kept[-1]}"


# --- who signs ---------------------------------------------------------------------------------


def party_body(defs: Definitions, party: Party, on: dt.date) -> Body | None:
    """The body a role or body reference stands for on the day."""
    if party.role is not None:
        return role_holder(defs, party.role, on)
    found = successors_on(defs, party.body or "", on)
    return found[0] if found else None


def sender_of(defs: Definitions, obligation: Obligation, on: dt.date) -> Sender:
    """The obligation's own sender; else the plan's when the recipient is the issuing body;
    else the recipient, as before senders were declared."""
    if obligation.sender is not None:
        return obligation.sender
    recipient = obligation.recipient
    if recipient.role is None and recipient.body is None:
        return Sender(body=defs.plan.issuer)
    party = Party(role=recipient.role, body=recipient.body)
    body = party_body(defs, party, on)
    if defs.plan.sender is not None and body is not None and body.id == defs.plan.issuer:
        return defs.plan.sender
    return Sender(role=recipient.role, body=recipient.body)

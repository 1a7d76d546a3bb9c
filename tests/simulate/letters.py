"""Letters of a simulated year as the agencies read them: each captured message with its kind and
obligation, the golden examples, and the lint every letter must pass.

Golden letters live under tests/golden/letters/; after an intended wording change, rewrite them
with `make golden` (KEHOACH_UPDATE_GOLDEN=1 .venv/bin/pytest tests/simulate/test_letters.py)
and review the diff.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from engine.definitions.models import Definitions
from engine.ledger.models import Cycle, OutboxMessage
from engine.letters import repeated_words

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "letters"
_TOKEN = re.compile(r"(/s/)[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Letter:
    day: dt.date
    kind: str
    obligation_id: str | None
    to: tuple[str, ...]
    subject: str
    text: str

    def golden_text(self) -> str:
        """Subject and text; the personal link's token (it holds the assignment's id, which any
        new body shifts) is written as <token>, so a golden changes only with the wording."""
        return _TOKEN.sub(r"\1<token>", f"Subject: {self.subject}\n\n{self.text}")


def letters_of(run) -> list[Letter]:
    """Every delivered letter of a simulation, in sending order, with its outbox kind."""
    query = select(OutboxMessage.message_id, OutboxMessage.kind, Cycle.obligation_id).outerjoin(
        Cycle, Cycle.id == OutboxMessage.cycle_id
    )
    with run.sessions() as session:
        kinds = {mid: (kind, obligation) for mid, kind, obligation in session.execute(query)}
    found = []
    for captured in run.mail:
        message = captured.message
        kind, obligation_id = kinds[message.message_id]
        found.append(
            Letter(
                day=captured.day,
                kind=kind,
                obligation_id=obligation_id,
                to=tuple(message.to),
                subject=message.subject,
                text=message.text,
            )
        )
    return found


# Which letter stands for each kind: (file name, kind, obligation preferred, then any).
# Several requests, one per act ("tổ chức", "gửi", "ban hành", "cập nhật", "cung cấp").
GOLDEN_CHOICES = (
    ("request--press-briefing", "request", "press-briefing"),
    ("request--annual-results-report", "request", "annual-results-report"),
    ("request--communication-plan-departments", "request", "communication-plan-departments"),
    ("request--spokesperson-roster", "request", "spokesperson-roster"),
    ("request--propaganda-guidance-info", "request", "propaganda-guidance-info"),
    ("request--training-programme", "request", "training-programme"),
    ("reminder", "reminder", "annual-results-report"),
    ("due-today", "due-today", "annual-results-report"),
    ("overdue", "overdue", "annual-results-report"),
    ("escalation", "escalation", "press-briefing-items"),
    ("receipt", "receipt", "press-briefing"),
    ("closed-summary", "closed-summary", "press-briefing"),
    ("digest", "digest", None),
)


def golden_examples(letters: list[Letter]) -> dict[str, Letter]:
    """The example of each kind: the first letter of the preferred obligation (else any)."""
    chosen = {}
    for name, kind, obligation in GOLDEN_CHOICES:
        of_kind = [x for x in letters if x.kind == kind]
        preferred = [x for x in of_kind if obligation is None or x.obligation_id == obligation]
        if preferred or of_kind:
            chosen[name] = (preferred or of_kind)[0]
    return chosen


# --- the lint -------------------------------------------------------------------------------

_LEFTOVERS = ("{{", "}}", "{%", "%}", "{#", "{period}", "None", "Undefined")
_EMPTY_CITATION = (
    re.compile(r"\bsố\s*/"),  # "Kế hoạch số /KH-UBND"
    re.compile(r"\(\s*\)"),
    re.compile(r"\bngày\s+tháng\b"),  # a date with neither day nor month
    re.compile(r"\((?:các )?mục\s*\)"),
    re.compile(r"Thực hiện\s*[,(]"),
)
_TODAY = re.compile(r"hôm nay, [^,]+, ngày (\d+) tháng (\d+) năm (\d{4})")


def lint(letter: Letter, defs: Definitions) -> list[str]:
    """What is wrong with one letter, in words; empty when it reads right."""
    problems = []
    issuer = defs.bodies[defs.plan.issuer].name
    for number, line in enumerate([letter.subject, *letter.text.splitlines()]):
        where = "subject" if number == 0 else f"line {number}"
        for twice in repeated_words(line):
            problems.append(f"{where}: '{twice}' twice in a row: {line!r}")
        for leftover in _LEFTOVERS:
            if leftover in line:
                problems.append(f"{where}: leftover {leftover!r}: {line!r}")
        for pattern in _EMPTY_CITATION:
            if pattern.search(line):
                problems.append(f"{where}: empty citation ({pattern.pattern}): {line!r}")
        if line.startswith("Đồng gửi:") and "@" in line:
            problems.append(f"{where}: 'Đồng gửi' lists mailboxes, not bodies: {line!r}")
        for day, month, year in _TODAY.findall(line):
            if dt.date(int(year), int(month), int(day)) != letter.day:
                problems.append(f"{where}: 'hôm nay' is not {letter.day}: {line!r}")
    signer = letter.text.split("Trân trọng./.\n\n", 1)[-1].splitlines()[:1]
    if signer == [issuer]:
        problems.append(f"signed as the issuing authority itself ({issuer})")
    return problems

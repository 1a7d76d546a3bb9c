"""A briefing's minutes, as the operator entered them: what they record for the briefing's own
obligation, and the follow-up assignments they hand out (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.calendar import LegalCalendar
from engine.definitions.models import Definitions, FieldType, Form
from engine.vndates import short_date


@dataclass(frozen=True)
class Question:
    text: str
    asked_by: str
    body_id: str
    body_name: str
    due_on: dt.date
    answered: bool  # answered at the briefing: no follow-up


@dataclass(frozen=True)
class Minutes:
    held_on: dt.date
    form_of: str
    chair: str
    attendees: tuple[str, ...]  # body ids
    others: str
    questions: tuple[Question, ...]
    conclusion: str
    recorded_by: str

    @property
    def open_questions(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if not q.answered)


@dataclass(frozen=True)
class FollowUp:
    """One body's part of a briefing's follow-ups: its questions, due at the earliest."""

    body_id: str
    body_name: str
    due_on: dt.date
    questions: tuple[Question, ...]


def follow_ups(minutes: Minutes, cal: LegalCalendar) -> list[FollowUp]:
    """Open questions grouped by the body that must answer; due dates moved off days off."""
    grouped: dict[str, list[Question]] = {}
    for question in minutes.open_questions:
        grouped.setdefault(question.body_id, []).append(question)
    result = []
    for body_id in sorted(grouped):
        questions = grouped[body_id]
        due = cal.roll_forward(min(q.due_on for q in questions))[0]
        result.append(FollowUp(body_id, questions[0].body_name, due, tuple(questions)))
    return result


def submission_values(
    form: Form, minutes: Minutes, items_given: int, fields: Mapping[str, str]
) -> dict[str, Any]:
    """The briefing's form filled from the minutes through the declared `briefing.minutes`
    mapping (fact → field id; only fields the form has)."""
    open_lines = [
        f"{i}. {q.text} — {q.body_name}, hạn {short_date(q.due_on)}"
        for i, q in enumerate(minutes.open_questions, start=1)
    ]
    facts: dict[str, Any] = {
        "held_on": minutes.held_on.isoformat(),
        "form_of": minutes.form_of,
        "chair": minutes.chair,
        "attendees": len(minutes.attendees),
        "items": items_given,
        "questions": len(minutes.questions),
        "answered": sum(q.answered for q in minutes.questions),
        "conclusion": minutes.conclusion,
        "open_questions": "\n".join(open_lines),
    }
    known = {f.id for f in form.fields if f.type != FieldType.file}
    values = {fields[fact]: value for fact, value in facts.items() if fact in fields}
    return {k: v for k, v in values.items() if k in known and v not in ("", None)}


def minutes_from_input(
    defs: Definitions,
    data: Mapping[str, Any],
    by_name: Mapping[str, str],
    default_due: dt.date,
    recorder: str = "",
) -> Minutes:
    """Minutes from the form's values (bodies chosen by name; `by_name` maps name → id);
    `recorder` names who recorded them when the form leaves it empty."""
    questions = []
    for raw in data.get("cau_hoi") or []:
        body_id = by_name[raw["co_quan_tra_loi"]]
        due = raw.get("han_tra_loi") or default_due
        questions.append(
            Question(
                text=str(raw["noi_dung"]).strip(),
                asked_by=str(raw.get("co_quan_neu") or "").strip(),
                body_id=body_id,
                body_name=defs.bodies[body_id].name,
                due_on=due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due)),
                answered=bool(raw.get("da_tra_loi_tai_hoi_nghi")),
            )
        )
    held = data["ngay_to_chuc"]
    return Minutes(
        held_on=held if isinstance(held, dt.date) else dt.date.fromisoformat(str(held)),
        form_of=str(data.get("hinh_thuc") or ""),
        chair=str(data.get("chu_tri") or "").strip(),
        attendees=tuple(sorted({by_name[name] for name in data.get("thanh_phan") or []})),
        others=str(data.get("thanh_phan_khac") or "").strip(),
        questions=tuple(questions),
        conclusion=str(data.get("ket_luan") or "").strip(),
        recorded_by=str(data.get("nguoi_nhap") or "").strip() or recorder,
    )


def minutes_record(minutes: Minutes) -> dict[str, Any]:
    """The minutes as JSON for the ledger's event log (the audit trail of what was entered)."""
    return {
        "held_on": minutes.held_on.isoformat(),
        "form_of": minutes.form_of,
        "chair": minutes.chair,
        "attendees": list(minutes.attendees),
        "others": minutes.others,
        "conclusion": minutes.conclusion,
        "recorded_by": minutes.recorded_by,
        "questions": [
            {
                "text": q.text,
                "asked_by": q.asked_by,
                "body_id": q.body_id,
                "due_on": q.due_on.isoformat(),
                "answered": q.answered,
            }
            for q in minutes.questions
        ],
    }


def quarter_of(day: dt.date) -> int:
    return (day.month - 1) // 3 + 1


@dataclass(frozen=True)
class QuarterCheck:
    year: int
    quarter: int
    held: int
    status: str  # "Đạt", "Chưa đạt", "Đang diễn ra"


def quarterly_minimum(held: Sequence[dt.date], year: int, today: dt.date) -> list[QuarterCheck]:
    """Decree 09/2017: a press conference at least once every quarter — quarter by quarter of
    `year` up to today's quarter (a quarter still running is not failed yet)."""
    checks = []
    last = 4 if today.year > year else quarter_of(today) if today.year == year else 0
    for quarter in range(1, last + 1):
        count = sum(1 for d in held if d.year == year and quarter_of(d) == quarter)
        running = today.year == year and quarter == quarter_of(today)
        status = "Đạt" if count else ("Đang diễn ra" if running else "Chưa đạt")
        checks.append(QuarterCheck(year, quarter, count, status))
    return checks

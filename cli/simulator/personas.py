"""Simulated agencies: how each body answers a request, read from a personas YAML file.

A persona is a habit (punctual, late by N working days, answers after the k-th reminder, never
answers, submits then revises). Bodies pinned in the file keep their persona for every cycle;
the others draw one per assignment from the weighted mix, with a seed, so a run is repeatable.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.definitions.findings import Problem, display_path, explain_error
from engine.definitions.models import Cadence, Definitions, Id
from engine.definitions.yamlmarks import Loc, read_yaml

DEFAULT_PERSONAS = Path(__file__).with_name("personas.yaml")


class PersonaKind(StrEnum):
    punctual = "punctual"
    late = "late"
    after_reminders = "after-reminders"
    never = "never"
    revises = "revises"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Persona(_Strict):
    """One habit. Only the parameter of its own kind is read."""

    kind: PersonaKind
    description: str = ""
    days_before_due: int = Field(
        default=1, ge=0, le=60, description="punctual, revises: ngày làm việc trước hạn."
    )
    days_late: int = Field(default=3, ge=1, le=120, description="late: ngày làm việc sau hạn.")
    reminders: int = Field(
        default=1, ge=1, le=10, description="after-reminders: nộp sau thư nhắc thứ k."
    )
    revise_after: int = Field(
        default=2, ge=1, le=60, description="revises: sửa sau bao nhiêu ngày làm việc."
    )


class SimulatedEvent(_Strict):
    """An outside event that starts an event-cadence obligation on a given day."""

    obligation: Id
    on: dt.date
    name: Id = Field(description="Tên đợt, thành mã kỳ event-<name>.")


class PersonasFile(_Strict):
    personas: dict[Id, Persona] = Field(min_length=1)
    mix: dict[Id, int] = Field(min_length=1, description="Tỷ trọng của mỗi persona.")
    bodies: dict[Id, Id] = Field(default_factory=dict, description="Cơ quan → persona cố định.")
    events: list[SimulatedEvent] = Field(default_factory=list)


class PersonasInvalid(ValueError):
    """The personas file cannot be used; `problems` are located, in Vietnamese."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _problem(path: Path, marks: dict[Loc, tuple[int, int]], loc: Loc, message: str) -> Problem:
    # The nearest enclosing key that was written in the file gives the line.
    for end in range(len(loc), -1, -1):
        if loc[:end] in marks:
            line, col = marks[loc[:end]]
            return Problem(display_path(path), line, col, message)
    return Problem(display_path(path), 0, 0, message)


def load_personas(path: Path, defs: Definitions) -> PersonasFile:
    """Read and check a personas file against the definitions; PersonasInvalid if unusable."""
    try:
        data = path.read_bytes()
    except OSError as error:
        message = f"không đọc được tệp persona: {error.strerror or error}"
        raise PersonasInvalid([Problem(display_path(path), 0, 0, message)]) from error
    document = read_yaml(data)
    if document.errors:
        raise PersonasInvalid(
            [Problem(display_path(path), e.line, e.col, e.message) for e in document.errors]
        )
    try:
        personas = PersonasFile.model_validate(document.value or {})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc, message = explain_error(item, PersonasFile)
            problems.append(_problem(path, document.marks, loc, message))
        raise PersonasInvalid(problems) from error
    problems = [
        _problem(path, document.marks, loc, message)
        for loc, message in _against_definitions(personas, defs)
    ]
    if problems:
        raise PersonasInvalid(problems)
    return personas


def _against_definitions(personas: PersonasFile, defs: Definitions) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    declared = ", ".join(sorted(personas.personas))
    for name, weight in personas.mix.items():
        if name not in personas.personas:
            found.append((("mix", name), f"persona chưa khai báo: {name} (đã có: {declared})"))
        elif weight < 0:
            found.append((("mix", name), f"tỷ trọng phải không âm, không phải {weight}"))
    if sum(max(0, w) for w in personas.mix.values()) <= 0:
        found.append((("mix",), "tổng tỷ trọng trong 'mix' phải lớn hơn 0"))
    for body_id, name in personas.bodies.items():
        if body_id not in defs.bodies:
            found.append((("bodies", body_id), f"không có cơ quan '{body_id}' trong định nghĩa"))
        if name not in personas.personas:
            found.append(
                (("bodies", body_id), f"persona chưa khai báo: {name} (đã có: {declared})")
            )
    for index, event in enumerate(personas.events):
        obligation = defs.obligations.get(event.obligation)
        if obligation is None:
            message = f"không có nghĩa vụ '{event.obligation}' trong định nghĩa"
        elif obligation.schedule.every != Cadence.event:
            message = f"nghĩa vụ '{event.obligation}' không khởi động bởi sự kiện"
        else:
            continue
        found.append((("events", index, "obligation"), message))
    return found


@dataclass(frozen=True)
class Cast:
    """Who plays which persona: pinned bodies first, else a seeded draw per assignment."""

    personas: PersonasFile
    seed: int
    _drawn: dict[tuple[str, str, str], str] = field(default_factory=dict, compare=False)

    def persona_id(self, obligation_id: str, period_key: str, body_id: str) -> str:
        pinned = self.personas.bodies.get(body_id)
        if pinned is not None:
            return pinned
        key = (obligation_id, period_key, body_id)
        drawn = self._drawn.get(key)
        if drawn is None:
            # A string seed is hashed with SHA-512 by `random`: the same draw on every machine.
            draw = random.Random(f"{self.seed}:{obligation_id}:{period_key}:{body_id}")
            names = sorted(self.personas.mix)
            weights = [self.personas.mix[n] for n in names]
            drawn = self._drawn[key] = draw.choices(names, weights=weights)[0]
        return drawn

    def persona(self, obligation_id: str, period_key: str, body_id: str) -> Persona:
        return self.personas.personas[self.persona_id(obligation_id, period_key, body_id)]

"""Persona files: located Vietnamese errors, deterministic draws, the shipped default loads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cli.simulator.personas import DEFAULT_PERSONAS, Cast, PersonasInvalid, load_personas

GOOD = """
personas:
  a: {kind: punctual}
  b: {kind: never}
mix: {a: 3, b: 1}
bodies: {so-tu-phap: b}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "personas.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_personas_load_against_the_shipped_plan(shipped_defs) -> None:
    personas = load_personas(DEFAULT_PERSONAS, shipped_defs)
    assert {p.kind.value for p in personas.personas.values()} == {
        "punctual",
        "late",
        "after-reminders",
        "never",
        "revises",
    }


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("kind: never", "kind: sometimes"), 4, "chọn một trong"),
        (GOOD.replace("{a: 3, b: 1}", "{a: 3, c: 1}"), 5, "persona chưa khai báo: c"),
        (GOOD.replace("so-tu-phap: b", "so-khong-co: b"), 6, "không có cơ quan 'so-khong-co'"),
        (GOOD.replace("kind: punctual}", "kind: punctual, days_late: x}"), 3, "số nguyên"),
        (GOOD.replace("kind: punctual}", "kind: punctual, hay_quen: 1}"), 3, "khóa không"),
        (
            GOOD + "events:\n  - {obligation: annual-results-report, on: 2026-05-04, name: x}\n",
            8,
            "không khởi động bởi sự kiện",
        ),
        (
            GOOD + "events:\n  - {obligation: difficulties-report, on: 2026-02-30, name: x}\n",
            8,
            "không có trong lịch",
        ),
        ("personas: [\n", 2, "cú pháp YAML"),
        ("- a\n- b\n", 1, "bảng khóa"),
    ],
)
def test_a_bad_file_is_refused_with_its_line(
    tmp_path: Path, shipped_defs, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PersonasInvalid) as refused:
        load_personas(path, shipped_defs)
    problems = refused.value.problems
    assert any(words in p.message and p.line == line for p in problems), [str(p) for p in problems]
    assert all(str(path.name) in p.path for p in problems)


def test_a_missing_file_is_a_message_not_a_traceback(tmp_path: Path, shipped_defs) -> None:
    with pytest.raises(PersonasInvalid, match="không đọc được tệp persona"):
        load_personas(tmp_path / "none.yaml", shipped_defs)


def test_draws_are_pinned_repeatable_and_follow_the_weights(tmp_path: Path, shipped_defs) -> None:
    personas = load_personas(write(tmp_path, GOOD), shipped_defs)
    keys = [("ob", f"2026-{m:02d}", body) for m in range(1, 13) for body in shipped_defs.bodies]
    first = [Cast(personas, 5).persona_id(*k) for k in keys]
    assert first == [Cast(personas, 5).persona_id(*k) for k in keys]
    assert first != [Cast(personas, 6).persona_id(*k) for k in keys]
    assert {Cast(personas, s).persona_id("ob", "2026", "so-tu-phap") for s in range(20)} == {"b"}
    counts = Counter(first)
    assert 0.6 < counts["a"] / len(first) < 0.9  # weight 3 of 4

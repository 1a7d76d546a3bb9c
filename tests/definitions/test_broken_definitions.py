"""The broken corpus: each case is a full definition set with one thing broken.

expected.txt holds "relative/path.yaml:LINE" (".:0" for the directory as a whole), a message
fragment, and optionally "problems: N" when the one break rightly causes N problems (default 1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions.loader import load_definitions

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(path for path in BROKEN.iterdir() if path.is_dir())


def read_expected(case: Path) -> tuple[str, int, str, int]:
    lines = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    path, line = lines[0].rsplit(":", 1)
    count = int(lines[2].split(":")[1]) if len(lines) > 2 else 1
    return path, int(line), lines[1], count


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_case_is_reported_at_the_right_line(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, line, fragment, count = read_expected(case)
    monkeypatch.chdir(case)  # problem paths are then relative to the case directory

    result = load_definitions(case)

    shown = "\n".join(map(str, result.problems))
    assert result.definitions is None
    assert result.problems, "a broken set must report problems"
    assert any(p.path == path and p.line == line for p in result.problems), shown
    assert any(
        p.path == path and p.line == line and fragment in p.message for p in result.problems
    ), shown
    assert len(result.problems) == count, shown
    for problem in result.problems:
        assert problem.col >= 1 or problem.line == 0
        assert str(problem).startswith(f"{problem.path}:{problem.line}:" if problem.line else "")

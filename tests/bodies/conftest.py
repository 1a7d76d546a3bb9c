"""Fixtures for the bodies commands: a writable copy of the shipped definitions, the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.definitions.loader import load_definitions
from engine.definitions.models import Definitions
from engine.settings import REPO_ROOT

SHIPPED = REPO_ROOT / "definitions"


def kehoach(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """The real command in a real process, as an administrator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
    )


def load(directory: Path) -> Definitions:
    result = load_definitions(directory)
    assert not result.problems, "\n".join(map(str, result.problems))
    assert result.definitions is not None
    return result.definitions


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    target = tmp_path / "definitions"
    shutil.copytree(SHIPPED, target)
    return target


@pytest.fixture
def replace() -> Callable[[Path, str, str], None]:
    def edit(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {path}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return edit

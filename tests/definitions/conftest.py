"""Fixtures for the definitions loader tests: the valid fixture set and editable copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent
VALID = HERE / "fixtures" / "valid"
BROKEN = HERE / "broken"


@pytest.fixture
def valid_dir() -> Path:
    return VALID


@pytest.fixture
def definitions_copy(tmp_path: Path) -> Path:
    """A fresh copy of the valid fixture set that a test may edit."""
    target = tmp_path / "definitions"
    shutil.copytree(VALID, target)
    return target


@pytest.fixture
def edit() -> Callable[[Path, str, str], None]:
    """Replace one exact, unique snippet in a file (fails loudly if the fixture changed)."""

    def replace(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {path}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return replace

"""Helpers shared by the CLI commands: loading definitions, printing tables."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from engine.definitions.models import Definitions

if TYPE_CHECKING:
    from engine.definitions.loader import LoadResult

DefinitionsOption = typer.Option(
    None,
    "--definitions",
    help="Thư mục định nghĩa (mặc định: KEHOACH_DEFINITIONS, rồi definitions/ đi kèm).",
    show_default=False,
)


def definitions_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    from engine.definitions.loader import default_definitions_dir

    return default_definitions_dir()


def load_or_exit(given: Path | None) -> Definitions:
    """Load the definitions, or print every problem as path:line:col and exit 1."""
    definitions = load_result_or_exit(given).definitions
    assert definitions is not None
    return definitions


def load_result_or_exit(given: Path | None) -> LoadResult:
    """The loader's whole answer (definitions and warnings), or every problem printed and exit 1."""
    from engine.definitions.loader import load_definitions

    directory = definitions_dir(given)
    if not directory.is_dir():
        fail(f"không tìm thấy thư mục định nghĩa: {directory}")
    result = load_definitions(directory)
    if result.problems or result.definitions is None:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        print(f"{len(result.problems)} lỗi trong định nghĩa.", file=sys.stderr)
        raise typer.Exit(1)
    return result


def fail(message: str, code: int = 1) -> None:
    print(f"Lỗi: {message}", file=sys.stderr)
    raise typer.Exit(code)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

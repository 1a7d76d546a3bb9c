"""Fixtures for the simulator's tests: definitions, personas, and one simulated 2026 shared by
the tests that only read its outcome (a year takes seconds; it is run once per session)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "definitions"
FIXTURE_DEFS = REPO / "tests" / "collect" / "fixtures" / "defs"
HERE = Path(__file__).parent

# The shipped plan with four bodies pinned to the habits the tests check; everyone else draws.
YEAR_PERSONAS = """
personas:
  dung-han: {kind: punctual, days_before_due: 2}
  tre-2: {kind: late, days_late: 2}
  sau-nhac-2: {kind: after-reminders, reminders: 2}
  khong-nop: {kind: never}
  nop-roi-sua: {kind: revises, days_before_due: 3, revise_after: 1}
mix: {dung-han: 50, tre-2: 15, sau-nhac-2: 15, khong-nop: 8, nop-roi-sua: 12}
bodies:
  so-tu-phap: khong-nop
  so-y-te: dung-han
  so-xay-dung: tre-2
  thanh-tra-tinh: sau-nhac-2
events:
  - {obligation: difficulties-report, on: 2026-05-04, name: ra-soat}
"""


def load(directory: Path):
    from engine.definitions.loader import load_definitions

    result = load_definitions(directory)
    assert not result.problems, result.problems
    return result.definitions


@pytest.fixture(scope="session")
def shipped_defs():
    return load(SHIPPED)


@pytest.fixture(scope="session")
def year_personas_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("personas") / "personas.yaml"
    path.write_text(YEAR_PERSONAS, encoding="utf-8")
    return path


def wiring_for(definitions: Path):
    from cli.simulator.driver import Wiring
    from notifications.compose import Links
    from notifications.render import Renderer

    custom = definitions / "templates"
    return Wiring(
        Renderer(custom if custom.is_dir() else None),
        Links("http://127.0.0.1:8080", "test-secret"),
        "tuyenquang.example",
    )


@pytest.fixture(scope="session")
def year_2026(shipped_defs, year_personas_file) -> Iterator[object]:
    """The shipped plan simulated for 2026 (followed to the close), with its figures."""
    from cli.simulator.driver import simulate
    from cli.simulator.figures import figures
    from cli.simulator.personas import Cast, load_personas

    cast = Cast(load_personas(year_personas_file, shipped_defs), seed=11)
    work = Path(tempfile.mkdtemp(prefix="sim-2026-"))
    out = work / "out"
    run = simulate(
        shipped_defs,
        wiring_for(SHIPPED),
        cast,
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
        work,
        out_dir=out,
    )
    yield SimpleNamespace(run=run, figures=figures(run), out=out, cast=cast)
    run.ledger.dispose()
    shutil.rmtree(work, ignore_errors=True)

"""How much of the plan's clause tree the obligations cite."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from engine.definitions.models import Clause, Definitions


@dataclass(frozen=True)
class Coverage:
    cited: int
    total: int
    required_covered: int
    required_total: int
    required_span: str
    uncovered_required: tuple[str, ...]


def walk(clauses: list[Clause]) -> Iterator[Clause]:
    for clause in clauses:
        yield clause
        yield from walk(clause.children)


def _covered(clause: Clause, cited: set[str]) -> bool:
    """A clause is covered when it or any clause under it is cited."""
    return clause.id in cited or any(_covered(child, cited) for child in clause.children)


def coverage(defs: Definitions) -> Coverage:
    cited = {c for o in defs.obligations.values() for c in o.clauses}
    every = list(walk(defs.plan.clauses))
    required = [c for c in every if c.requires_obligation]
    top_required = [c.id for c in required if "." not in c.id or c.id.count(".") == 1]
    span = f"{top_required[0]}…{top_required[-1]}" if top_required else "không có"
    return Coverage(
        cited=sum(_covered(c, cited) for c in every),
        total=len(every),
        required_covered=sum(_covered(c, cited) for c in required),
        required_total=len(required),
        required_span=span,
        uncovered_required=tuple(c.id for c in required if not _covered(c, cited)),
    )

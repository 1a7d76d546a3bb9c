"""Benchmark 2, idle tick: 10,000 open assignments, requests out, nothing due today.

One SQLite ledger holds two copies of a quarterly report, owed by 100 and by 10,000 bodies;
both had their requests sent on 04/03/2026. On 05/03/2026 nothing is due. The engine's tick
for each (tasks.steps.open_due_cycles then enqueue_and_close, the code the collect flow's tasks
run, without Prefect) is timed, and its SQL statements are counted with SQLAlchemy's
before_cursor_execute: they must be the same number at 100 and at 10,000 assignments.

Baseline, measured in the same run: one plain SELECT of the 10,000 open assignments' rows.
Target: the engine's idle tick at 10,000 under 1 s.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import (  # noqa: E402 - the benchmarks directory is not a package
    IDLE_DAY,
    RESULTS,
    apply_environment,
    environment,
    requests_already_sent,
    write_definitions,
)

SMALL, LARGE = ("bao-cao-nho", 100), ("bao-cao-lon", 10_000)
TARGET_S = 1.0
RUNS = 5


def idle_tick(obligation_id: str) -> tuple[float, int, list[str]]:
    """(seconds, SQL statements, statements) of one engine tick with nothing due."""
    from sqlalchemy import event

    from tasks import runtime, steps

    env = runtime.tick_env(IDLE_DAY)
    obligation = env.defs.obligations[obligation_id]
    engine = runtime.sessions().kw["bind"]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split())[:80])

    event.listen(engine, "before_cursor_execute", count)
    try:
        outcome = steps.TickOutcome()
        start = time.perf_counter()
        steps.open_due_cycles(env, obligation, outcome)
        steps.enqueue_and_close(env, obligation, outcome)
        seconds = time.perf_counter() - start
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if outcome.enqueued or outcome.opened or outcome.closed:
        raise RuntimeError(f"the idle day was not idle for {obligation_id}: {outcome}")
    return seconds, len(statements), statements


def raw_select(obligation_id: str) -> float:
    from sqlalchemy import select

    from engine.ledger.models import Assignment, Cycle
    from tasks import runtime

    start = time.perf_counter()
    with runtime.sessions()() as session:
        rows = session.execute(
            select(Assignment.id, Assignment.body_id, Assignment.state, Assignment.due_on)
            .join(Cycle, Cycle.id == Assignment.cycle_id)
            .where(Cycle.obligation_id == obligation_id, Assignment.state == "open")
        ).all()
    seconds = time.perf_counter() - start
    assert len(rows) == LARGE[1], len(rows)
    return seconds


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="kehoach-bench-idle-") as tmp:
        work = Path(tmp)
        definitions = write_definitions(work / "definitions", dict([SMALL, LARGE]))
        apply_environment(environment(work, definitions, 1025))
        opened = requests_already_sent()
        assert opened == SMALL[1] + LARGE[1], opened
        idle_tick(LARGE[0])  # warm-up: imports, template and statement caches
        small = [idle_tick(SMALL[0]) for _ in range(RUNS)]
        large = [idle_tick(LARGE[0]) for _ in range(RUNS)]
        base = [raw_select(LARGE[0]) for _ in range(RUNS)]
    small_s = statistics.median(s for s, _n, _q in small)
    large_s = statistics.median(s for s, _n, _q in large)
    base_s = statistics.median(base)
    counts = {
        "100": sorted({n for _s, n, _q in small}),
        "10000": sorted({n for _s, n, _q in large}),
    }
    constant = counts["100"] == counts["10000"] and len(counts["100"]) == 1
    result = {
        "benchmark": "idle-tick",
        "assignments": LARGE[1],
        "idle_tick_s": round(large_s, 3),
        "idle_tick_100_s": round(small_s, 3),
        "baseline_select_s": round(base_s, 3),
        "ratio": round(large_s / base_s, 1),
        "sql_statements": counts,
        "statements": large[0][2],
        "target_s": TARGET_S,
        "met": large_s < TARGET_S and constant,
        "figure": f"{large_s:.3f} s, {counts['10000'][0]} SQL statements "
        f"(100 assignments: {counts['100'][0]})",
        "baseline": f"{base_s:.3f} s (1 SELECT of the 10,000 rows)",
        "target": f"< {TARGET_S} s, same statement count at 100 and 10,000",
    }
    print(
        f"idle tick: {LARGE[1]} open assignments, nothing due: {large_s:.3f} s (100: "
        f"{small_s:.3f} s); SQL statements {counts['10000']} at 10,000 and {counts['100']} at "
        f"100; baseline SELECT {base_s:.3f} s; ratio {large_s / base_s:.1f}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "idle_tick.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)

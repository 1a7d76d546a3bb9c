"""`make bench`: every benchmark in its own process, then one table of figures, baselines,
ratios and targets; the results are saved under benchmarks/results/ (one JSON per benchmark,
and summary.json for the table).

Each benchmark module exposes `main() -> dict` (and prints its own line as it finishes). The
portal benchmark (benchmarks/portal_bench.py) joins the table when it is present.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHMARKS = [
    ("validate cold start", "validate_cold_start.py"),
    ("idle tick", "bench_idle_tick.py"),
    ("day tick", "bench_tick.py"),
    ("year simulated", "bench_simulate_year.py"),
    ("chase at scale", "bench_chase.py"),
    ("portal", "portal_bench.py"),
    ("reply intake", "bench_intake.py"),
]
MARKER = "KEHOACH-BENCH-RESULT "
# Imports the module from its file and prints its result on one marked line.
RUNNER = f"""
import importlib.util, json, sys
sys.path.insert(0, {str(HERE)!r})
spec = importlib.util.spec_from_file_location("benchmark", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print({MARKER!r} + json.dumps(module.main(), ensure_ascii=False, default=str), flush=True)
"""


def run(path: Path) -> dict:
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(path)],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    result: dict | None = None
    for line in process.stdout:
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER) :])
        else:
            print(line, end="", flush=True)
    process.wait()
    if result is None:
        return {"met": False, "error": f"exited with {process.returncode} and no result"}
    return result


def _portal_row(result: dict) -> dict:
    """The portal benchmark reports percentiles per phase; its table line says the same."""
    get, post = result.get("form_get", {}), result.get("submit_post", {})
    base = result.get("baseline_health_get", {})
    targets = result.get("target_p95_ms", {})
    met = result.get("met", {})
    return {
        "figure": f"p95 GET {get.get('p95_ms')} ms, POST {post.get('p95_ms')} ms",
        "baseline": f"p95 GET /health {base.get('p95_ms')} ms",
        "ratio": round(get["p95_ms"] / base["p95_ms"], 1) if base.get("p95_ms") else None,
        "target": f"p95 GET < {targets.get('form_get')} ms, POST < {targets.get('submit_post')}",
        "met": all(met.values()) if isinstance(met, dict) else bool(met),
    }


def row(name: str, result: dict) -> list[str]:
    if name == "portal" and "figure" not in result:
        result = {**result, **_portal_row(result)}
    if "error" in result:
        return [name, result["error"], "", "", "", "no"]
    ratio = result.get("ratio")
    return [
        name,
        str(result.get("figure", "")),
        str(result.get("baseline", "")),
        f"{ratio}×" if ratio is not None else "",
        str(result.get("target", "")),
        "yes" if result.get("met") else "no",
    ]


def print_table(rows: list[list[str]]) -> None:
    headers = ["benchmark", "figure", "baseline", "ratio", "target", "met"]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for line in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def main() -> int:
    rows, results = [], {}
    for name, file_name in BENCHMARKS:
        path = HERE / file_name
        if not path.is_file():
            continue
        print(f"\n== {name} ({file_name})", flush=True)
        start = time.perf_counter()
        result = run(path)
        result["bench_wall_s"] = round(time.perf_counter() - start, 1)
        results[name] = result
        rows.append(row(name, result))
    print()
    print_table(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {"table": rows, "results": results}
    (RESULTS / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    missed = [r[0] for r in rows if r[-1] != "yes"]
    if missed:
        print(f"\nTargets missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

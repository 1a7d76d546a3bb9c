"""Benchmark 3: a year simulated for the shipped plan, as an administrator runs it.

`kehoach simulate --year 2026 --out DIR --format json` in a fresh process, wall time from start
to exit: the definitions loaded, every working day of 2026 run through the live tick steps on a
throwaway ledger (and the cycles opened in 2026 followed to their close), the default personas
answering, letters rendered and captured, the annual consolidation documents made, the HTML
summary written. The run must also report no inconsistency.

Baseline, measured in the same run: `kehoach plan --from 2026-01-01 --to 2026-12-31 --format
json`, the dry-run calendar of the same year (date arithmetic only: no ledger, no letters).
Target: under 20 s wall on the 2-core machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
TARGET_S = 20.0
RUNS = 3
YEAR = "2026"


def kehoach(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    command = [str(Path(sys.executable).with_name("kehoach")), *args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    return time.perf_counter() - start, done


def main() -> dict:
    walls, summary = [], {}
    with tempfile.TemporaryDirectory(prefix="kehoach-bench-year-") as tmp:
        for run in range(RUNS):
            out = Path(tmp) / f"run-{run}"
            wall, done = kehoach("simulate", "--year", YEAR, "--out", str(out), "--format", "json")
            if done.returncode != 0:
                raise RuntimeError(f"kehoach simulate failed:\n{done.stderr[-3000:]}")
            walls.append(wall)
            summary = json.loads(done.stdout)
    base_walls = [
        kehoach("plan", "--from", f"{YEAR}-01-01", "--to", f"{YEAR}-12-31", "--format", "json")[0]
        for _ in range(RUNS)
    ]
    median, base = statistics.median(walls), statistics.median(base_walls)
    result = {
        "benchmark": "simulate-year",
        "year": int(YEAR),
        "runs": RUNS,
        "median_s": round(median, 2),
        "max_s": round(max(walls), 2),
        "baseline_plan_s": round(base, 2),
        "ratio": round(median / base, 1),
        "target_s": TARGET_S,
        "met": median < TARGET_S and not summary.get("problems"),
        "emails": summary.get("emails_total"),
        "emails_by_kind": summary.get("emails_by_kind"),
        "outcomes": summary.get("outcomes"),
        "cycles_closed": summary.get("cycles_closed"),
        "cycles_expected": summary.get("cycles_expected"),
        "documents": len(summary.get("documents", [])),
        "problems": summary.get("problems"),
        "figure": f"{median:.1f} s (max {max(walls):.1f} s), {summary.get('emails_total')} "
        f"letters, {summary.get('cycles_closed')} cycles closed",
        "baseline": f"{base:.1f} s (kehoach plan of {YEAR})",
        "target": f"< {TARGET_S:.0f} s",
    }
    print(
        f"simulate {YEAR}: median {median:.1f} s, max {max(walls):.1f} s over {RUNS} runs "
        f"(target < {TARGET_S:.0f} s); baseline `kehoach plan` {base:.1f} s; ratio "
        f"{median / base:.1f}; {summary.get('emails_total')} letters, "
        f"{summary.get('cycles_closed')}/{summary.get('cycles_expected')} cycles closed, "
        f"{len(summary.get('documents', []))} documents, problems: {summary.get('problems')}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "simulate_year.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)

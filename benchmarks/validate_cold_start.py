"""Benchmark: `kehoach validate` cold start on the shipped plan (target: under 1.5 s wall).

Baseline, measured in the same run: a bare interpreter start (`python -c pass`) from the same
venv, so the ratio shows what validation itself costs over starting Python at all.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET_SECONDS = 1.5


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> dict:
    kehoach = [str(Path(sys.executable).with_name("kehoach")), "validate"]
    baseline = [sys.executable, "-c", "pass"]
    wall(kehoach)  # the first run after an install may still write caches
    runs = [wall(kehoach) for _ in range(RUNS)]
    bases = [wall(baseline) for _ in range(RUNS)]
    median, base = statistics.median(runs), statistics.median(bases)
    result = {
        "benchmark": "validate-cold-start",
        "runs": RUNS,
        "median_s": round(median, 3),
        "max_s": round(max(runs), 3),
        "baseline_python_start_s": round(base, 3),
        "ratio_to_baseline": round(median / base, 1),
        "target_s": TARGET_SECONDS,
        "met": max(runs) < TARGET_SECONDS,
        "figure": f"{median:.2f} s median, {max(runs):.2f} s max",
        "baseline": f"{base:.2f} s (python -c pass)",
        "target": f"< {TARGET_SECONDS} s",
        "ratio": round(median / base, 1),
    }
    print(
        f"validate cold start: median {median:.3f} s, max {max(runs):.3f} s "
        f"(target < {TARGET_SECONDS} s) — {median / base:.1f}× a bare Python start "
        f"({base:.3f} s)"
    )
    out = REPO / "benchmarks" / "results" / "validate_cold_start.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)

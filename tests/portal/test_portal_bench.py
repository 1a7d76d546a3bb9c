"""The portal benchmark still runs end to end (a handful of requests, no timing asserted)."""

from __future__ import annotations

import importlib.util

from tests.portal.conftest import REPO


def test_benchmark_runs() -> None:
    spec = importlib.util.spec_from_file_location(
        "portal_bench", REPO / "benchmarks" / "portal_bench.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(gets_per_client=2, posts_per_client=1, output=None)
    assert result["form_get"]["requests"] == result["baseline_health_get"]["requests"] == 40
    assert result["submit_post"]["requests"] == 20
    assert result["receipts_delivered"] == 20  # every POST recorded and got its receipt

"""Operator-facing pieces that need no server: the deployments' parameter schema, run names by
period, the status artifact's size at 10,000 bodies, and `kehoach tick` without any Prefect."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.definitions.loader import load_definitions
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot
from flows.deployments import DATE_PATTERN, deployment_set
from tests.conftest import REPO

FIXTURE_DEFS = REPO / "tests" / "collect" / "fixtures" / "defs"


def test_parameters_carry_vietnamese_titles_and_the_obligations_as_a_choice() -> None:
    defs = load_definitions(REPO / "definitions").definitions
    specs = {s.full_name: s for s in deployment_set(defs).specs}
    collect = specs["collect/annual-results-report"].parameter_schema["properties"]
    assert collect["obligation"]["enum"] == sorted(defs.obligations)
    assert collect["obligation"]["title"] == "Nghĩa vụ"
    assert collect["as_of"]["title"] == "Ngày chạy"
    assert {"format": "date", "type": "string", "pattern": DATE_PATTERN} in collect["as_of"][
        "anyOf"
    ]
    consolidation = specs["consolidation/annual-consolidation"].parameter_schema["properties"]
    assert consolidation["period"]["title"] == "Kỳ báo cáo"
    assert consolidation["obligation"]["enum"] == sorted(defs.obligations)
    notify = specs["notify-operators/notify-operators"].parameter_schema["properties"]
    assert notify["flow_run"]["title"] == "Lượt chạy cần báo"
    # The generated runner deployment carries the same schema to the server, enforced.
    from flows.deployments import runner_deployments

    (deployment,) = runner_deployments([specs["collect/annual-results-report"]])
    assert deployment.enforce_parameter_schema is True
    served = deployment._parameter_openapi_schema.model_dump()["properties"]
    assert served["obligation"]["enum"] == sorted(defs.obligations)


def test_runs_are_named_by_the_period_of_their_date(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.common import run_name_for
    from tasks import runtime

    monkeypatch.setenv("KEHOACH_DEFINITIONS", str(REPO / "definitions"))
    runtime.reset()
    try:
        # The press briefing is monthly: a day with no cycle open is still named by its month.
        assert run_name_for("press-briefing", dt.date(2026, 11, 26)) == "press-briefing · 2026-12"
        assert run_name_for("annual-results-report", dt.date(2026, 11, 25)) == (
            "annual-results-report · 2026"
        )
        assert run_name_for("khong-co", dt.date(2026, 11, 25)) == "khong-co · 2026-11-25"
    finally:
        runtime.reset()


def test_the_status_artifact_stays_small_at_ten_thousand_bodies() -> None:
    from tasks.status import OWING_LISTED, cycle_markdown
    from tasks.steps import TickEnv

    defs = load_definitions(FIXTURE_DEFS).definitions
    obligation = defs.obligations["quarterly-report"]
    today = dt.date(2026, 3, 20)
    states = ["open"] * 6 + ["submitted", "accepted", "waived", "returned"]
    assignments = tuple(
        AssignmentView(
            id=i,
            cycle_id=1,
            body_id=f"xa-{i:05d}",
            body_name=f"Ủy ban nhân dân xã số {i:05d} ({'Hòa An' * 3})",
            state=states[i % len(states)],
            due_on=dt.date(2026, 3, 18),
            requested_on=dt.date(2026, 3, 4),
            latest_version=0,
            last_submitted_at=None,
        )
        for i in range(10_000)
    )
    cycle = CycleView(
        1, obligation.id, "2026-Q1", dt.date(2025, 12, 15), dt.date(2026, 3, 14),
        dt.date(2026, 3, 18), dt.date(2026, 3, 4), dt.date(2026, 3, 25), None, "d", "open", 0,
        None, assignments=assignments,
    )  # fmt: skip
    env = TickEnv(defs, None, None, None, "example", today, dt.datetime.now(dt.UTC))
    snapshot = LedgerSnapshot(obligation.id, (cycle,), ())
    markdown = cycle_markdown(env, obligation, cycle, snapshot)
    size = len(markdown.encode("utf-8"))
    assert size < 100_000, size
    # Totals per group (bodies outside the obligation's groups count as "other bodies").
    assert "| **Tổng** | 10000 | 2000 | 7000 | 7000 | 1000 |" in markdown
    assert markdown.count("(quá hạn)") == OWING_LISTED
    assert "… và 6900 cơ quan khác." in markdown
    assert "`kehoach status --obligation quarterly-report --period 2026-Q1`" in markdown


def test_tick_without_any_prefect_server_refuses_and_records_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KEHOACH_"))}
    env.update(
        KEHOACH_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}",
        KEHOACH_DEFINITIONS=str(FIXTURE_DEFS),
        KEHOACH_VAR_DIR=str(tmp_path / "var"),
        KEHOACH_SECRET_KEY="operators-test-secret-key-of-32-bytes",
        PREFECT_HOME=str(tmp_path / "prefect-home"),  # no profile with an API URL
    )
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "tick", "--as-of", "2026-03-04"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "không thấy máy chủ Prefect" in result.stderr
    assert "--temporary-server" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ledger.db").exists()

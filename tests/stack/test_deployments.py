"""Deployments built from the definitions, the generated prefect.yaml, definitions snapshots and
the operators' failure letter: fast checks without a running stack."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

from cli.stack.prefect_yaml import render
from cli.stack.state import StackPaths, take_snapshot
from engine.definitions.loader import load_definitions
from flows.deployments import DEFAULT_CRON, DEFAULT_TIMEZONE, DIGEST_CRON, deployment_set
from flows.notify import letter_context, parse_run_id
from notifications.render import Renderer
from tests.conftest import REPO

FIXTURE_DEFS = REPO / "tests" / "collect" / "fixtures" / "defs"


def copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "defs"
    shutil.copytree(FIXTURE_DEFS, target)
    return target


def test_one_spec_per_obligation_tagged_and_scheduled_from_the_yaml() -> None:
    defs = load_definitions(FIXTURE_DEFS).definitions
    wanted = deployment_set(defs)
    assert wanted.skipped == []
    specs = {s.full_name: s for s in wanted.specs}
    assert set(specs) == {
        "collect/quarterly-report",
        "collect/yearly-summary",
        "notify-operators/notify-operators",
        "weekly-digest/weekly-digest",
    }
    quarterly = specs["collect/quarterly-report"]
    assert quarterly.tags == (
        "kehoach",
        "obligation:quarterly-report",
        "group:bao-cao",
        "clause:IV",
    )
    assert (quarterly.cron, quarterly.timezone) == (DEFAULT_CRON, DEFAULT_TIMEZONE)
    assert quarterly.parameters == {"obligation": "quarterly-report"}
    assert quarterly.entrypoint == "flows/collect.py:collect"
    assert quarterly.description.startswith("Báo cáo quý về truyền thông chính sách\n\n")
    assert specs["collect/yearly-summary"].tags[:3] == (
        "kehoach",
        "obligation:yearly-summary",
        "role:lead",
    )
    notify = specs["notify-operators/notify-operators"]
    # Not tagged `kehoach`: a failing notification must not trigger another one.
    assert notify.tags == ("kehoach-ops",) and notify.cron is None
    assert notify.entrypoint == "flows/notify.py:notify_operators"
    # The weekly digest runs after the collect runs' default time, so it lists what they opened.
    digest = specs["weekly-digest/weekly-digest"]
    assert digest.cron == DIGEST_CRON and digest.entrypoint == "flows/digest.py:weekly_digest"

    def hour_minute(cron: str) -> tuple[int, int]:
        minute, hour = cron.split()[:2]
        return int(hour), int(minute)

    assert hour_minute(DIGEST_CRON) > hour_minute(DEFAULT_CRON)


def test_intake_is_deployed_every_few_minutes_when_replies_are_taken(monkeypatch) -> None:
    defs = load_definitions(FIXTURE_DEFS).definitions
    assert "intake/intake" not in deployment_set(defs).names()
    monkeypatch.setenv("KEHOACH_REPLY_TO", "nop@tuyenquang.example")
    monkeypatch.setenv("KEHOACH_INTAKE_EVERY_MINUTES", "3")
    intake = {s.full_name: s for s in deployment_set(defs).specs}["intake/intake"]
    assert intake.cron == "*/3 * * * *" and intake.timezone == DEFAULT_TIMEZONE
    # Tagged like every run of ours, so a failed intake reaches the operators.
    assert "kehoach" in intake.tags
    assert intake.entrypoint == "flows/intake.py:intake" and intake.parameters == {}


def test_an_obligation_can_set_its_own_run_time(tmp_path: Path) -> None:
    defs_dir = copy_fixture(tmp_path)
    target = defs_dir / "obligations" / "quarterly-report.yaml"
    text = target.read_text(encoding="utf-8")
    target.write_text(
        text.replace(
            "    downstream: {obligation: yearly-summary, min_working_days: 0}\n",
            "    downstream: {obligation: yearly-summary, min_working_days: 0}\n"
            '    deployment: {cron: "15 6 * * 1-6", timezone: Asia/Bangkok}\n',
        ),
        encoding="utf-8",
    )
    spec = next(
        s
        for s in deployment_set(load_definitions(defs_dir).definitions).specs
        if s.name == "quarterly-report"
    )
    assert (spec.cron, spec.timezone) == ("15 6 * * 1-6", "Asia/Bangkok")

    target.write_text(
        text.replace(
            "    downstream: {obligation: yearly-summary, min_working_days: 0}\n",
            "    downstream: {obligation: yearly-summary, min_working_days: 0}\n"
            '    deployment: {cron: "0 7 * *", timezone: Hanoi}\n',
        ),
        encoding="utf-8",
    )
    problems = [str(p) for p in load_definitions(defs_dir).problems]
    assert any("quarterly-report.yaml:29:" in p and "cần đúng 5 trường" in p for p in problems)
    assert any("múi giờ không tồn tại: 'Hanoi'" in p for p in problems)


def test_prefect_yaml_lists_every_deployment_on_the_kehoach_pool() -> None:
    wanted = deployment_set(load_definitions(FIXTURE_DEFS).definitions)
    document = yaml.safe_load(render(wanted))
    assert document["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $KEHOACH_HOME }}"}}
    ]
    by_name = {d["name"]: d for d in document["deployments"]}
    assert list(by_name) == [s.name for s in wanted.specs]
    quarterly = by_name["quarterly-report"]
    assert quarterly["entrypoint"] == "flows/collect.py:collect"
    assert quarterly["schedules"] == [
        {"cron": DEFAULT_CRON, "timezone": DEFAULT_TIMEZONE, "active": True}
    ]
    assert quarterly["work_pool"]["name"] == "kehoach"
    assert by_name["notify-operators"]["schedules"] == []


def test_the_shipped_prefect_yaml_is_up_to_date_and_a_stale_one_is_caught(
    tmp_path: Path,
) -> None:
    """What CI runs: `kehoach deployments sync --check`."""
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    check = runner.invoke(app, ["deployments", "sync", "--check"])
    assert check.exit_code == 0, check.output
    stale = tmp_path / "prefect.yaml"
    stale.write_text((REPO / "prefect.yaml").read_text().replace("30 7", "30 8"))
    again = runner.invoke(app, ["deployments", "sync", "--check", "--output", str(stale)])
    assert again.exit_code == 1
    assert "đã cũ so với định nghĩa: chạy `kehoach deployments sync`" in again.output
    written = runner.invoke(app, ["deployments", "sync", "--output", str(stale)])
    assert written.exit_code == 0 and stale.read_text() == (REPO / "prefect.yaml").read_text()


def test_a_snapshot_is_taken_only_of_valid_definitions(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path / "var")
    paths.make()
    source = copy_fixture(tmp_path)
    good = take_snapshot(source, paths)
    assert good.path is not None and good.problems == []
    assert load_definitions(good.path).definitions.digest == good.result.definitions.digest
    target = source / "obligations" / "quarterly-report.yaml"
    target.write_text(target.read_text().replace("every: quarterly", "every: weekly"))
    broken = take_snapshot(source, paths)
    assert broken.path is None
    assert any(f"{target}:" in p and "'weekly'" in p for p in broken.problems)
    assert [d.name for d in paths.snapshots.iterdir()] == [good.path.name]


def test_the_failure_letter_names_the_run_its_error_and_where_to_look() -> None:
    from flows.notify import FailedRun

    run_id = str(uuid.uuid4())
    failed = FailedRun(
        id=run_id,
        name="quarterly-report · 2026-Q1",
        flow="collect",
        deployment="collect/quarterly-report",
        state_type="CRASHED",
        message="<b>SMTP</b> refused",
        started_at=dt.datetime(2026, 3, 4, 0, 30, tzinfo=dt.UTC),
        ended_at=dt.datetime(2026, 3, 4, 0, 31, tzinfo=dt.UTC),
        obligation="Báo cáo quý (quarterly-report)",
        url=f"http://127.0.0.1:4200/runs/flow-run/{run_id}",
    )
    letter = Renderer().render("run-failed", letter_context(failed, "Hệ thống theo dõi"))
    assert letter.subject == (
        "[Cần xử lý] Lượt chạy quarterly-report · 2026-Q1 gặp sự cố (tiến trình dừng đột ngột)"
    )
    assert "7 giờ 31, Thứ Tư, ngày 4 tháng 3 năm 2026" in letter.text
    assert "<b>SMTP</b> refused" in letter.text and "&lt;b&gt;SMTP" in letter.html
    assert failed.url in letter.text and failed.url in letter.html
    bare = FailedRun(run_id, "x", "collect", "", "FAILED", "", None, None, "", None)
    plain = Renderer().render("run-failed", letter_context(bare, "Hệ thống theo dõi"))
    assert "thất bại" in plain.subject and "(không có thông báo)" in plain.text


@pytest.mark.parametrize(
    "value", ["prefect.flow-run.{id}", "{id}", "  {id}\n", "prefect.flow-run.{ID}"]
)
def test_the_failed_run_is_found_from_the_event_resource(value: str) -> None:
    run_id = uuid.uuid4()
    text = value.format(id=run_id, ID=str(run_id).upper())
    assert parse_run_id(text) == run_id


def test_a_malformed_run_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="not a flow run id"):
        parse_run_id("prefect.flow-run.không-phải-mã")

"""Scale-out as docs/operations.md describes it: a Prefect server on PostgreSQL, the ledger on
PostgreSQL, the deployments from the generated prefect.yaml (`prefect deploy --all`) on the
process work pool `kehoach`, and two `prefect worker start --pool kehoach` processes.

A batch of racing flow runs goes to the pool; both workers take some, every assignment is in
the ledger, and every email reaches a real SMTP sink exactly once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from cli.stack.prefect_yaml import render
from engine.bodies import resolve_responsible, role_holder
from engine.definitions.loader import load_definitions
from engine.ledger.db import upgrade
from flows.deployments import deployment_set
from notifications.mailsink import list_messages, running_sink
from tests.conftest import PG_URL, REPO, free_port, postgres_reachable
from tests.stack.conftest import KEHOACH, PrefectApi, processes_with_env, wait_until

pytestmark = pytest.mark.postgres

FIXTURE_DEFS = REPO / "tests" / "collect" / "fixtures" / "defs"
# Runs that race for the same work: the quarterly report opens 2026-Q1 on 4/3/2026 and asks
# its three bodies; the yearly summary opens 2026 on 11/12/2026 and asks the lead department.
BATCH = [("quarterly-report", "2026-03-04")] * 4 + [("yearly-summary", "2026-12-11")] * 2


@contextlib.contextmanager
def fresh_database(prefix: str, extensions: tuple[str, ...] = ()) -> Iterator[str]:
    """CREATE DATABASE <prefix>_<random> on the test server; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.make_url(PG_URL).set(database=name)
    if extensions:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for extension in extensions:
                connection.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
        engine.dispose()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, process_group=0
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def run(command: list[str], env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


def test_two_workers_share_the_pool_without_duplicates_or_losses(tmp_path: Path) -> None:
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    with (
        fresh_database("kehoach_prefect", ("pg_trgm",)) as prefect_db,
        fresh_database("kehoach_ledger") as ledger_url,
        running_sink(tmp_path / "mail") as sink,
    ):
        port = free_port()
        marker = str(tmp_path / "var")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KEHOACH_"))}
        env.update(
            PREFECT_HOME=str(tmp_path / "prefect"),
            PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
            KEHOACH_HOME=str(REPO),
            KEHOACH_DEFINITIONS=str(FIXTURE_DEFS),
            KEHOACH_DATABASE_URL=ledger_url,
            KEHOACH_VAR_DIR=marker,
            KEHOACH_SECRET_KEY="scale-out-secret-key-of-32-bytes-or-more",
            KEHOACH_SMTP_HOST="127.0.0.1",
            KEHOACH_SMTP_PORT=str(sink.port),
            KEHOACH_MAIL_FROM="kehoach@tuyenquang.example",
        )
        server_env = {
            **env,
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.replace(
                "postgresql+psycopg", "postgresql+asyncpg"
            ),
        }
        processes = []
        try:
            server = start(
                [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)],
                server_env,
                tmp_path / "server.log",
            )
            processes.append(server)
            # While the server starts: the ledger's schema and prefect.yaml (what
            # `kehoach db upgrade` and `kehoach deployments sync` do; their CLIs are tested
            # elsewhere).
            upgrade(ledger_url)
            prefect_yaml = tmp_path / "prefect.yaml"
            prefect_yaml.write_text(
                render(deployment_set(load_definitions(FIXTURE_DEFS).definitions))
            )
            api = PrefectApi(env["PREFECT_API_URL"])

            def healthy() -> bool:
                assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
                with contextlib.suppress(httpx.HTTPError):
                    return httpx.get(f"{api.url}/health", timeout=2).status_code == 200
                return False

            wait_until(healthy, 120, "the Prefect server on PostgreSQL")
            prefect = [sys.executable, "-m", "prefect", "--no-prompt"]
            run([*prefect, "work-pool", "create", "kehoach", "--type", "process"], env)
            # Workers start polling the pool while the deployments are being created.
            worker_env = {**env, "PREFECT_WORKER_QUERY_SECONDS": "1"}
            for name in ("worker-a", "worker-b"):
                processes.append(
                    start(
                        [*prefect, "worker", "start", "--pool", "kehoach", "--name", name,
                         "--limit", "2"],
                        worker_env,
                        tmp_path / f"{name}.log",
                    )
                )  # fmt: skip
            run([*prefect, "deploy", "--all", "--prefect-file", str(prefect_yaml)], env)
            run([*KEHOACH, "deployments", "automation"], env)

            deployments = api.deployments()
            assert set(deployments) == {
                "collect/quarterly-report",
                "collect/yearly-summary",
                "notify-operators/notify-operators",
                "weekly-digest/weekly-digest",
            }
            assert {d["work_pool_name"] for d in deployments.values()} == {"kehoach"}
            automation = next(a for a in api.automations() if a["name"] == "kehoach-run-failed")
            notify = deployments["notify-operators/notify-operators"]["id"]
            assert automation["actions"][0]["deployment_id"] == notify

            runs = [
                api.run(deployments[f"collect/{name}"], {"obligation": name, "as_of": day})
                for name, day in BATCH
            ]
            finished = [api.wait_final(run_id, timeout=150) for run_id in runs]
            assert [r["state_type"] for r in finished] == ["COMPLETED"] * len(BATCH), [
                (r["name"], r["state"]["message"]) for r in finished
            ]
            workers = Counter(r["labels"].get("prefect.worker.name") for r in finished)
            assert set(workers) == {"worker-a", "worker-b"}, workers

            check_ledger_and_mail(ledger_url, sink.mail_dir)
        finally:
            for process in reversed(processes):
                stop(process)
        assert processes_with_env("KEHOACH_VAR_DIR", marker) == []


def check_ledger_and_mail(ledger_url: str, mail_dir: Path) -> None:
    defs = load_definitions(FIXTURE_DEFS).definitions
    quarterly = defs.obligations["quarterly-report"]
    expected = {
        ("quarterly-report", "2026-Q1", b.id)
        for b in resolve_responsible(defs, quarterly, dt.date(2026, 3, 4))
    }
    expected.add(("yearly-summary", "2026", role_holder(defs, "lead", dt.date(2026, 12, 11)).id))
    engine = sa.create_engine(ledger_url)
    with engine.connect() as connection:
        assignments = connection.execute(
            sa.text(
                "SELECT c.obligation_id, c.period_key, a.body_id, a.state FROM assignments a "
                "JOIN cycles c ON c.id = a.cycle_id"
            )
        ).all()
        outbox = connection.execute(
            sa.text("SELECT kind, body_id, state, message_id FROM outbox")
        ).all()
    engine.dispose()
    # No assignment lost, none doubled.
    assert sorted((o, p, b) for o, p, b, _ in assignments) == sorted(expected)
    assert {state for *_, state in assignments} == {"open"}
    # One request per assignment, each sent, each delivered exactly once.
    assert sorted(body for kind, body, *_ in outbox if kind == "request") == sorted(
        b for *_, b in expected
    )
    assert {state for _, _, state, _ in outbox} == {"sent"}
    delivered = Counter(m.message_id for m in list_messages(mail_dir))
    assert sorted(delivered) == sorted(m for *_, m in outbox)
    assert set(delivered.values()) == {1}, delivered

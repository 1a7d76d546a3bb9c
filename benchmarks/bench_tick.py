"""Benchmark: a day's `kehoach tick` for every shipped obligation, on a running Prefect server.

The day is 25/11/2026 on a fresh ledger with the shipped definitions: requests go out (the
annual results report and three others open that day; others catch up on cycles whose request
date has passed), so every step has work. The figure is the wall time of the `kehoach tick`
command (a new process, as cron or an operator runs it) against a local Prefect server started
here, each obligation still one flow run on that server; the run count is checked.

Baseline, measured in the same run on a second fresh ledger: the same steps (open, enqueue and
close, drain, status tables; the weekly digest after them) for the same obligations, called
without Prefect from a new process (`python benchmarks/bench_tick.py --plain DAY`).
Target: the tick under 10 s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
DAY = "2026-11-25"
TARGET_S = 10.0
MAIL_FROM = "kehoach@tuyenquang.example"
PYTHON = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(work: Path, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KEHOACH_"))}
    env.update(
        KEHOACH_DATABASE_URL=f"sqlite:///{work / 'ledger.db'}",
        KEHOACH_VAR_DIR=str(work / "var"),
        KEHOACH_SECRET_KEY="tick-benchmark-secret-key-of-32-bytes",
        KEHOACH_MAIL_FROM=MAIL_FROM,
        KEHOACH_DEFINITIONS=str(REPO / "definitions"),
        KEHOACH_SMTP_HOST="127.0.0.1",
        KEHOACH_SMTP_PORT=str(smtp_port),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=str(work / "prefect"),
    )
    return env


def kehoach(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "cli.main", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [PYTHON, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env={**env, "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.kill()
    raise RuntimeError("the Prefect server did not start")


def count_runs(api: str) -> int:
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}, timeout=30).json()
    return len([r for r in runs if r["state_type"] == "COMPLETED"])


def timed(env: dict[str, str], *args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the command, its result)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children that exited (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def plain(day: str) -> None:
    """The baseline: the collect steps for every active obligation, no Prefect."""
    from engine.plan import obligation_active
    from notifications.digest import queue_weekly_digests
    from tasks import runtime, steps
    from tasks.status import status_artifacts

    env = runtime.tick_env(dt.date.fromisoformat(day))
    for obligation in env.defs.obligations.values():
        if not obligation_active(obligation, env.today):
            continue
        outcome = steps.TickOutcome()
        steps.open_due_cycles(env, obligation, outcome)
        steps.enqueue_and_close(env, obligation, outcome)
        steps.drain_outbox(env.sessions, runtime.sender())
        status_artifacts(env, obligation)
    # As the tick: the weekly digest once, after every obligation (its own run, on Mondays).
    if queue_weekly_digests(
        env.defs, env.sessions, env.renderer, env.mail_domain, env.today, env.now
    ):
        steps.drain_outbox(env.sessions, runtime.sender())


def main() -> dict:
    from scale import CountingSink  # noqa: PLC0415 - the benchmarks directory is not a package

    with tempfile.TemporaryDirectory(prefix="kehoach-bench-tick-") as tmp, CountingSink() as sink:
        work = Path(tmp)
        port = free_port()
        tick_env = base_env(work / "tick", sink.port)
        base_env_ = base_env(work / "plain", sink.port)
        for env in (tick_env, base_env_):
            assert kehoach(env, "db", "upgrade").returncode == 0
        server = start_server(tick_env, port)
        api = f"http://127.0.0.1:{port}/api"
        try:
            tick_env["PREFECT_API_URL"] = api
            server_before = process_cpu(server.pid)
            tick_s, tick_cpu, tick = timed(
                tick_env, PYTHON, "-m", "cli.main", "tick", "--as-of", DAY
            )
            server_cpu = process_cpu(server.pid) - server_before
            if tick.returncode != 0:
                raise RuntimeError(f"kehoach tick failed:\n{tick.stderr[-3000:]}")
            runs = count_runs(api)
        finally:
            server.terminate()
            server.wait(timeout=60)
        tick_mail = sink.counts()[0]
        base_s, base_cpu, base = timed(base_env_, PYTHON, str(Path(__file__)), "--plain", DAY)
        if base.returncode != 0:
            raise RuntimeError(f"the baseline failed:\n{base.stderr[-3000:]}")
        base_mail = sink.counts()[0] - tick_mail
    obligations = sum(": mở " in line for line in tick.stdout.splitlines())
    result = {
        "benchmark": "day-tick",
        "day": DAY,
        "tick_s": round(tick_s, 2),
        "baseline_s": round(base_s, 2),
        "ratio": round(tick_s / base_s, 1),
        "tick_cpu_s": round(tick_cpu, 2),
        "server_cpu_s": round(server_cpu, 2),
        "baseline_cpu_s": round(base_cpu, 2),
        "load_average": os.getloadavg()[0],
        "flow_runs": runs,
        "obligations": obligations,
        "emails": tick_mail,
        "baseline_emails": base_mail,
        "target_s": TARGET_S,
        "met": tick_s < TARGET_S and runs >= obligations and tick_mail == base_mail,
        "figure": f"{tick_s:.1f} s, {runs} flow runs, {tick_mail} emails",
        "baseline": f"{base_s:.1f} s (same steps without Prefect, {base_mail} emails)",
        "target": f"< {TARGET_S:.0f} s, one run per obligation",
    }
    print(
        f"day tick {DAY}: {tick_s:.1f} s for {obligations} obligations ({runs} flow runs, "
        f"{tick_mail} emails; CPU: tick {tick_cpu:.1f} s, Prefect server {server_cpu:.1f} s); "
        f"baseline without Prefect {base_s:.1f} s (CPU {base_cpu:.1f} s, {base_mail} emails); "
        f"ratio {tick_s / base_s:.1f}; load average {os.getloadavg()[0]:.1f}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "day_tick.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--plain":
        sys.path.insert(0, str(REPO))
        plain(sys.argv[2])
        sys.exit(0)
    sys.path.insert(0, str(HERE))
    sys.exit(0 if main()["met"] else 1)

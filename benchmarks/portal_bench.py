"""Benchmark: the portal's form GET and submit POST at 20 concurrent clients on loopback.

A real uvicorn server (one process, as `kehoach portal` runs it) on a fresh SQLite ledger with
the shipped definitions: the annual results report opened for every responsible body on
1 December 2026. Each client plays one agency: it opens its own link, and for the POST phase
sends a new version of its answer with a small PDF every time (so every POST records a version,
stores the file, queues a receipt, and the portal's courier drains it to a local SMTP sink from
its child process, whose CPU time is reported beside the portal's).

Clients are closed loops (send, wait for the answer, send again) over keep-alive connections,
driven by a minimal asyncio HTTP client so that the load generator costs little CPU; the SMTP
sink runs in its own process. Latency at 20 clients is mostly queueing (about 20 / throughput),
so the server's CPU time per request is reported too: it moves far less with whatever else the
machine runs.

Baseline, measured in the same run against the same server: GET /health, which goes through
the same HTTP stack and middleware but touches neither the ledger nor a template.

Targets (issue 4): p95 under 50 ms for the form GET and under 150 ms for the POST on SQLite.
Not a test: it prints the figures and saves them in benchmarks/results/portal.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks" / "results" / "portal.json"
OBLIGATION = "annual-results-report"
AS_OF = dt.date(2026, 12, 1)
CLIENTS = 20
TARGET_P95_MS = {"form_get": 50.0, "submit_post": 150.0}
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" + b"%" + b"0" * 16_000 + b"\n%%EOF\n"
)
# The portal's limits stay on, raised so that what is measured is throughput, not refusals:
# the 20 clients share one loopback address (the default allows 60 answers per 10 minutes from
# an address) and each posts its link 30 times (default: 10 per link). Receipts are not folded
# (interval 0), so that every POST still costs a receipt email: the heaviest case.
BENCH_LIMITS = {
    "KEHOACH_PORTAL_ANSWERS_PER_ADDRESS": "100000",
    "KEHOACH_PORTAL_ANSWERS_PER_LINK": "10000",
    "KEHOACH_PORTAL_VERSIONS_PER_CYCLE": "10000",
    "KEHOACH_RECEIPT_INTERVAL_SECONDS": "0",
}


def serve(port: int) -> None:
    """The server side (a subprocess): the portal as `kehoach portal` builds it, with its clock
    set to AS_OF so the links of the benchmark's cycle are valid whatever today is."""
    import uvicorn

    from cli.portal_cmds import build_desk, deliver
    from portal.app import PortalConfig, create_app
    from portal.limits import RateLimits
    from tasks import runtime

    clock_start = time.time()
    moment = dt.datetime.combine(AS_OF, dt.time(2, 0), tzinfo=dt.UTC)

    def clock() -> dt.datetime:
        return moment + dt.timedelta(seconds=time.time() - clock_start)

    config = PortalConfig(
        desk=build_desk(None),
        secret=runtime.links().secret,
        deliver=deliver,
        clock=clock,
        # The limits run (and cost what they cost) at the figures of BENCH_LIMITS.
        limits=RateLimits.from_env(),
    )
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning")


def prepare(env: dict[str, str]) -> list[str]:
    """Open the cycle with the collect steps, send its requests, return one link per body."""
    from engine.ledger.db import upgrade
    from tasks import runtime, steps

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        upgrade(env["KEHOACH_DATABASE_URL"])
        runtime.reset()
        return _open_cycle(runtime, steps)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()


def _open_cycle(runtime, steps) -> list[str]:
    tick = runtime.tick_env(AS_OF)
    obligation = tick.defs.obligations[OBLIGATION]
    outcome = steps.TickOutcome()
    steps.open_due_cycles(tick, obligation, outcome)
    steps.enqueue_and_close(tick, obligation, outcome)
    steps.drain_outbox(runtime.sessions(), runtime.sender())
    snapshot = tick.snapshot(OBLIGATION)
    cycle = snapshot.open_cycles[0]
    links = [runtime.links().form_url(a.id, cycle.closes_on) for a in cycle.assignments]
    if len(links) < CLIENTS:
        raise SystemExit(f"only {len(links)} bodies in {OBLIGATION}; {CLIENTS} needed")
    return links


def answer(n: int) -> dict[str, str]:
    return {
        "so_tin_bai": str(10 + n),
        "so_cuoc_hop_bao": "4",
        "danh_gia": "Hoàn thành",
        "ket_qua_dat_duoc": f"Đăng {10 + n} tin bài về chính sách; tổ chức 4 cuộc họp báo.",
        "ton_tai_han_che": "Nhân lực còn kiêm nhiệm.",
        "nhiem_vu_de_xuat": "Tiếp tục tập huấn kỹ năng truyền thông chính sách.",
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(name: str, latencies: list[float], wall: float) -> dict[str, float]:
    ms = [x * 1000 for x in latencies]
    return {
        "requests": len(ms),
        "throughput_rps": round(len(ms) / wall, 1),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less CPU than the
    server it measures (httpx spends about a millisecond of Python per request)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def send(self, method: str, path: str, body: bytes = b"", kind: str = "") -> tuple:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if method == "POST":
            head += f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode("latin-1") + b"\r\n" + body)
        await self.writer.drain()
        headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(headers.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: *(\d+)", headers).group(1))
        return status, await self.reader.readexactly(length)


def multipart(csrf: str, n: int) -> tuple[bytes, str]:
    boundary = "kehoach-bench-boundary"
    parts = [("_csrf", csrf), *answer(n).items()]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in parts
    )
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="_files"; filename="bao-cao.pdf"'
            "\r\nContent-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def phase(port: int, paths: list[str], per_client: int, kind: str) -> dict:
    """`per_client` requests from each of CLIENTS concurrent clients, each on its own link."""
    latencies: list[float] = []
    errors: list[str] = []

    async def client(index: int) -> None:
        path = paths[index]
        async with Connection("127.0.0.1", port) as http:
            for n in range(per_client):
                if kind == "submit_post":
                    # A CSRF token is good for one answer: each POST gets its form first, as a
                    # person would (the GET is not timed).
                    _, page = await http.send("GET", path)
                    csrf = re.search(rb'name="_csrf" value="([^"]+)"', page).group(1).decode()
                    body, content_type = multipart(csrf, n)
                    start = time.perf_counter()
                    status, text = await http.send("POST", f"{path}/submit", body, content_type)
                    expected = 303
                else:
                    start = time.perf_counter()
                    status, text = await http.send("GET", path)
                    expected = 200
                latencies.append(time.perf_counter() - start)
                if status != expected:
                    errors.append(f"{status} {text[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{kind}: {len(errors)} failed requests, e.g. {errors[0]}")
    return summary(kind, latencies, wall)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), to report CPU per request: a figure
    that busy neighbours on a shared machine distort far less than latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The portal's child processes (its courier), from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def children_cpu(pid: int) -> float:
    total = 0.0
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(child)
    return total


def measured(
    server: subprocess.Popen, port: int, paths: list[str], n: int, kind: str, settle=None
) -> dict:
    """A phase's figures with the CPU per request of the portal and of its courier child
    (measured after `settle`, which waits for the courier to finish)."""
    before, before_children = cpu_seconds(server.pid), children_cpu(server.pid)
    figures = asyncio.run(phase(port, paths, n, kind))
    used = cpu_seconds(server.pid) - before
    if settle is not None:
        settle()
    used_children = children_cpu(server.pid) - before_children
    figures["server_cpu_ms_per_request"] = round(used * 1000 / figures["requests"], 2)
    figures["courier_cpu_ms_per_request"] = round(used_children * 1000 / figures["requests"], 2)
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base: str, server: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the portal exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the portal did not become ready")


@contextlib.contextmanager
def mail_sink(mail_dir: Path) -> Iterator[int]:
    """The SMTP sink in its own process, so that receiving receipts does not slow the clients."""
    port = free_port()
    script = (
        "import sys; from pathlib import Path; from notifications.mailsink import run_sink; "
        "run_sink(port=int(sys.argv[1]), mail_dir=Path(sys.argv[2]), http_port=None)"
    )
    sink = subprocess.Popen([sys.executable, "-c", script, str(port), str(mail_dir)], cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or sink.poll() is not None:
                    raise SystemExit("the mail sink did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        sink.terminate()
        sink.wait(30)


def delivered(mail_dir: Path) -> int:
    return len(list(mail_dir.glob("*.eml")))


def main(
    gets_per_client: int = 100, posts_per_client: int = 30, output: Path | None = RESULT
) -> dict:
    """Run the benchmark, print the figures, save them (unless `output` is None); the result."""
    with (
        tempfile.TemporaryDirectory(prefix="kehoach-portal-bench-") as tmp,
        mail_sink(Path(tmp) / "mail") as smtp_port,
    ):
        mail_dir = Path(tmp) / "mail"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "KEHOACH_DATABASE_URL": f"sqlite:///{tmp}/ledger.db",
            "KEHOACH_VAR_DIR": f"{tmp}/var",
            "KEHOACH_SECRET_KEY": "portal-benchmark-secret-key-of-32-bytes",
            "KEHOACH_DEFINITIONS": str(REPO / "definitions"),
            "KEHOACH_PORTAL_URL": base,
            "KEHOACH_MAIL_FROM": "kehoach@tuyenquang.example",
            "KEHOACH_SMTP_HOST": "127.0.0.1",
            "KEHOACH_SMTP_PORT": str(smtp_port),
            **BENCH_LIMITS,
        }
        paths = [link.removeprefix(base) for link in prepare(env)][:CLIENTS]
        requests_sent = delivered(mail_dir)
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve", str(port)],
            cwd=REPO,
            env={**os.environ, **env},
        )
        try:
            wait_ready(base, server)
            # Warm up each route (imports, template compilation, connection pools).
            asyncio.run(phase(port, ["/health"] * CLIENTS, 5, "baseline"))
            asyncio.run(phase(port, paths, 5, "form_get"))
            health = measured(server, port, ["/health"] * CLIENTS, gets_per_client, "baseline")
            form = measured(server, port, paths, gets_per_client, "form_get")
            # Every POST recorded a version and got its receipt (allow the courier to finish).
            expected = requests_sent + CLIENTS * posts_per_client

            def settle() -> None:
                deadline = time.monotonic() + 60
                while delivered(mail_dir) < expected and time.monotonic() < deadline:
                    time.sleep(0.1)

            post = measured(server, port, paths, posts_per_client, "submit_post", settle)
            receipts = delivered(mail_dir) - requests_sent
        finally:
            server.terminate()
            server.wait(30)
    result = {
        "benchmark": "portal",
        "database": "sqlite",
        "clients": CLIENTS,
        "server": "uvicorn, 1 process, loopback",
        # Latency depends on what else the machine runs: keep the context with the figures.
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "baseline_health_get": health,
        "form_get": form,
        "submit_post": post,
        "receipts_delivered": receipts,
        "target_p95_ms": TARGET_P95_MS,
        "met": {
            k: (form if k == "form_get" else post)["p95_ms"] < v for k, v in TARGET_P95_MS.items()
        },
    }
    for name, figures in (
        ("GET /health (baseline)", health),
        ("GET form", form),
        ("POST submit", post),
    ):
        print(
            f"{name:24} {figures['throughput_rps']:7.1f} req/s   p50 {figures['p50_ms']:6.1f} ms"
            f"   p95 {figures['p95_ms']:6.1f} ms   p99 {figures['p99_ms']:6.1f} ms"
            f"   server CPU {figures['server_cpu_ms_per_request']:5.2f} ms/req"
            f" (+ courier {figures['courier_cpu_ms_per_request']:4.2f})"
        )
    verdict = {k: "met" if v else "missed" for k, v in result["met"].items()}
    print(
        f"targets: GET p95 < {TARGET_P95_MS['form_get']:g} ms ({verdict['form_get']}), "
        f"POST p95 < {TARGET_P95_MS['submit_post']:g} ms ({verdict['submit_post']}); "
        f"receipts delivered: {receipts}/{CLIENTS * posts_per_client}"
    )
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        main()

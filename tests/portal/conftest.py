"""A live portal for tests: a real uvicorn server on loopback, a real ledger with a cycle opened
by the collect steps, the request letters delivered to the real SMTP sink, and a settable clock."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
DEFS = REPO / "tests" / "collect" / "fixtures" / "defs"
OBLIGATION = "quarterly-report"
PERIOD = "2026-Q1"
REQUEST_DAY = dt.date(2026, 3, 4)
# 10:00 in Vietnam the day after the requests went out; the Q1 cycle is due 18/03, closes 25/03.
START = dt.datetime(2026, 3, 5, 3, 0, tzinfo=dt.UTC)
OPERATOR = ("vanhanh", "mat-khau-van-hanh-thu")
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class Clock:
    now: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.now


class ServerThread:
    """uvicorn serving an app from a thread (no signal handlers off the main thread)."""

    def __init__(self, app, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@dataclass
class LivePortal:
    url: str
    app: object
    clock: Clock
    mail_dir: Path
    files_dir: Path
    links: dict[str, str] = field(default_factory=dict)  # body id → personal link (absolute)

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def path(self, body: str) -> str:
        return self.links[body].removeprefix(self.url)

    def wait_for_mail(self, predicate, timeout: float = 45.0) -> EmailMessage:
        return wait_for_mail(self.mail_dir, predicate, timeout)

    def courier_idle(self) -> None:
        assert self.app.state.portal.courier.wait_idle(45)


def wait_for_mail(mail_dir: Path, predicate, timeout: float = 45.0) -> EmailMessage:
    """The first message in the sink matching `predicate`, waiting for the portal's courier."""
    from notifications.mailsink import read_message

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")):
            message = read_message(path)
            if predicate(message):
                return message
        time.sleep(0.05)
    raise AssertionError("the expected email did not arrive in the sink")


def is_receipt(message: EmailMessage) -> bool:
    return str(message["Subject"]).startswith("[Xác nhận đã nhận]")


def link_in(message: EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:\d+/s/\S+", text).group(0)


def csrf_of(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def answer(so_tin_bai: str = "12", ket_qua: str = "Đã đăng 12 tin bài.", **extra: str) -> dict:
    return {"so_tin_bai": so_tin_bai, "ket_qua": ket_qua, **extra}


def post_form(client: httpx.Client, path: str, data: dict, files=None, csrf: str | None = None):
    """GET the form for its CSRF token (unless given), then POST the answer."""
    token = csrf if csrf is not None else csrf_of(client.get(path).text)
    return client.post(
        f"{path}/submit", data={"_csrf": token, **data}, files=files or [], follow_redirects=False
    )


def ledger_counts() -> dict[str, int]:
    """Rows that a refused request must not have added."""
    from engine.ledger.models import Attachment, Event, OutboxMessage, Submission
    from tasks import runtime

    with runtime.sessions()() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Submission, Attachment, Event, OutboxMessage)
        }


def stored_files(files_dir: Path) -> list[Path]:
    return sorted(p for p in files_dir.rglob("*") if p.is_file()) if files_dir.exists() else []


def assignment_state(body: str) -> tuple[str, int]:
    from engine.ledger.queries import status_rows
    from tasks import runtime

    with runtime.sessions()() as session:
        row = next(r for r in status_rows(session, OBLIGATION, PERIOD) if r.body_id == body)
    return row.state, row.latest_version


def build_portal(clock: Clock, *, operator: bool = True):
    from cli.portal_cmds import build_desk, deliver
    from portal.app import PortalConfig, create_app
    from portal.security import OperatorCredential
    from tasks import runtime

    config = PortalConfig(
        desk=build_desk(None),
        secret=runtime.links().secret,
        operator=OperatorCredential(*OPERATOR) if operator else None,
        deliver=deliver,
        clock=clock,
    )
    return create_app(config)


def open_cycle_and_send_requests(day: dt.date) -> None:
    """The collect steps of a tick (no Prefect): open the cycle, queue and send the requests."""
    from cli.portal_cmds import deliver
    from tasks import runtime, steps

    env = runtime.tick_env(day)
    obligation = env.defs.obligations[OBLIGATION]
    outcome = steps.TickOutcome()
    steps.open_due_cycles(env, obligation, outcome)
    steps.enqueue_and_close(env, obligation, outcome)
    deliver()


def request_links(mail_dir: Path) -> dict[str, str]:
    from notifications.mailsink import read_message

    by_address = {}
    for path in sorted(mail_dir.glob("*.eml")):
        message = read_message(path)
        if str(message["Subject"]).startswith("[Yêu cầu]"):
            by_address[message["To"].addresses[0].addr_spec] = link_in(message)
    return by_address


@pytest.fixture
def live_portal(kehoach_env, mail_sink, monkeypatch, tmp_path) -> Iterator[LivePortal]:
    """A cycle of the fixture definitions opened on 4/3/2026, its requests in the sink, and the
    portal serving their links on a free port."""
    from tasks import runtime

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("KEHOACH_PORTAL_URL", url)
    kehoach_env(DEFS)
    open_cycle_and_send_requests(REQUEST_DAY)
    defs = runtime.definitions()
    by_address = request_links(mail_sink.mail_dir)
    links = {
        body.id: by_address[body.mailboxes.to[0]]
        for body in defs.bodies.values()
        if body.mailboxes.to and body.mailboxes.to[0] in by_address
    }
    clock = Clock()
    app = build_portal(clock)
    with ServerThread(app, port):
        yield LivePortal(
            url=url,
            app=app,
            clock=clock,
            mail_dir=mail_sink.mail_dir,
            files_dir=app.state.portal.desk.files_dir,
            links=links,
        )

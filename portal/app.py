"""The portal's app factory: the agencies' forms, the operators' review pages, a health check.

The portal imports no Prefect and no task code: whoever builds it (the CLI, a test, the
benchmark) hands in the Desk where answers are received and a `deliver` callable that drains the
outbox, so the layers stay as they are (cli > tasks | portal > notifications > engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from engine.calendar import today_in_vietnam
from engine.ledger.checkpoints import checkpoint_in_background
from notifications.receipts import Desk
from portal import agency, operator
from portal.courier import Courier
from portal.limits import LoginThrottle, RateLimits, SlidingWindow
from portal.pages import STATIC, Pages
from portal.security import (
    OperatorCredential,
    SecurityHeaders,
    SpentTokens,
    csrf_token,
    csrf_valid,
    redact,
)

log = logging.getLogger("kehoach.portal")
RECORDING_AT_ONCE = 2
T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class PortalConfig:
    """What the portal needs from its builder."""

    desk: Desk
    secret: str = field(repr=False)
    operator: OperatorCredential | None = None
    # Drains the outbox; run in a background thread after a submission or a review.
    deliver: Callable[[], object] | None = None
    clock: Callable[[], dt.datetime] = field(default=utc_now)
    site_name: str = "Cổng tiếp nhận báo cáo"
    # The path prefix behind a reverse proxy, e.g. '/tiep-nhan'; links in pages start with it.
    base_path: str = ""
    limits: RateLimits = field(default_factory=RateLimits)


class Portal:
    """The running portal: configuration, pages, the courier and the clock."""

    def __init__(self, config: PortalConfig) -> None:
        self.config = config
        self.desk = config.desk
        self.secret = config.secret
        self.pages = Pages(config.site_name, config.base_path)
        self.courier = Courier(config.deliver)
        limits = self.limits = config.limits
        self.answers_by_link = SlidingWindow(limits.answers_per_link, limits.window_seconds)
        self.answers_by_address = SlidingWindow(limits.answers_per_address, limits.window_seconds)
        self.spent_forms = SpentTokens()
        self.logins = LoginThrottle(limits)
        # Answers are recorded in threads (see agency.submit): recording is CPU work under
        # one GIL plus short write transactions, and running twenty at once only makes them
        # jostle (in the benchmark some waited 3-5 s behind the others). Admitting a couple at a
        # time, in arrival order, keeps the throughput and bounds the wait.
        self.recording = asyncio.Semaphore(RECORDING_AT_ONCE)
        self.engine = config.desk.sessions.kw.get("bind")
        dialect = getattr(self.engine, "dialect", None)
        self.local_ledger = dialect is not None and dialect.name == "sqlite"

    async def in_ledger(
        self, function: Callable[..., T], *args: Any, thread: bool = False, **kwargs: Any
    ) -> T:
        """Run a request's ledger work (reading a page, recording an answer): on the event loop
        when the ledger is a local SQLite file, in a worker thread otherwise or when asked
        (`thread`, as recording an answer does: its commit waits for the disk).

        On SQLite a page's read is a few indexed queries on a local file (in WAL mode a reader
        never waits for a writer). It is CPU work under one GIL either way, and handing it to a
        thread cost more than the work: a thread switch each way, one more pooled connection per
        concurrent request. At 20 concurrent clients the form's server CPU fell from 2.3 to
        0.8 ms per request and its p95 from 70 to 16 ms. A database across the network may
        stall, so it keeps the threads.
        """
        if self.local_ledger and not thread:
            return function(*args, **kwargs)
        return await run_in_threadpool(function, *args, **kwargs)

    def now(self) -> dt.datetime:
        return self.config.clock()

    def today(self) -> dt.date:
        return today_in_vietnam(self.now())

    def form_token(self, scope: str) -> str:
        """A CSRF token for one rendering of a form, stamped with the portal's clock."""
        return csrf_token(self.secret, scope, self.now().timestamp())

    def form_token_valid(self, scope: str, token: str | None) -> bool:
        """Issued for `scope`, not too old, never used: and from now on used."""
        return csrf_valid(
            self.secret,
            scope,
            token,
            now=self.now().timestamp(),
            max_age=self.limits.csrf_max_age_seconds,
            spent=self.spent_forms,
        )

    def too_many(self, message: str, retry_after: float, back_url: str | None = None) -> Response:
        """The Vietnamese 429 page with Retry-After."""
        wait = max(int(retry_after + 0.999), 1)
        return self.pages.error(
            429,
            f"{message} Xin thử lại sau khoảng {_duration(wait)}.",
            headers={"Retry-After": str(wait)},
            back_url=back_url,
        )


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} giây"
    if seconds < 3600:
        return f"{(seconds + 59) // 60} phút"
    return f"{(seconds + 3599) // 3600} giờ"


def create_app(config: PortalConfig) -> FastAPI:
    """A FastAPI app serving the portal for `config`."""
    portal = Portal(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # A commit that checkpoints the WAL stalls every answer queued behind it.
        stop_checkpoints = (
            checkpoint_in_background(portal.engine) if isinstance(portal.engine, Engine) else None
        )
        yield
        portal.courier.close()
        if stop_checkpoints is not None:
            stop_checkpoints()

    app = FastAPI(
        title="kehoach portal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.portal = portal
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(agency.router)
    app.include_router(operator.router)

    # Handlers without I/O are async: they run on the event loop, not in the thread pool.
    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        """Liveness: the process answers (no database round trip)."""
        return JSONResponse({"status": "ok"})

    @app.get("/health/ready", include_in_schema=False)
    def ready() -> JSONResponse:
        """Readiness: the ledger answers a query."""
        from sqlalchemy import text

        try:
            with portal.desk.sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - reported as 503, not raised
            log.warning("ledger not reachable: %s", error)
            return JSONResponse({"status": "ledger unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Browsers ask for it on every first visit; an empty answer keeps their logs clean.
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return portal.pages.render("home.html")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        messages = {
            404: "Không có trang này.",
            405: "Địa chỉ này không nhận thao tác vừa thực hiện.",
        }
        message = messages.get(error.status_code) or "Yêu cầu không được chấp nhận."
        return portal.pages.error(error.status_code, message, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        return portal.pages.error(400, "Địa chỉ hoặc dữ liệu gửi lên không hợp lệ.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("portal error on %s %s", request.method, redact(request.url.path))
        return portal.pages.error(500, "Hệ thống gặp lỗi khi xử lý yêu cầu.")

    return app

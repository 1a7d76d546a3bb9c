"""Issue 13 against the live portal: each attack as the issue reproduced it, refused with a
Vietnamese 4xx page, nothing recorded, memory and time bounded.

The portal runs in this process (a uvicorn thread), so its memory is this process's: the peak
resident size is reset (/proc/self/clear_refs) before an attack and read (VmHWM) after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import threading
import time
import zipfile

import httpx
import pytest
from sqlalchemy import func, select

from tests.portal.conftest import (
    OPERATOR,
    answer,
    assignment_state,
    csrf_of,
    ledger_counts,
    post_form,
    stored_files,
)
from tests.portal.test_portal_refusals import assert_refusal_page, raw_post

MIB = 1024 * 1024
SQLITE = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)


@pytest.fixture
def unchanged(live_portal):
    before = ledger_counts(), stored_files(live_portal.files_dir)
    yield
    assert (ledger_counts(), stored_files(live_portal.files_dir)) == before


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith(field + ":"))
    return int(line.split()[1])


class PeakMemory:
    """How far this process's resident memory rose above where it was, while in the block."""

    def __enter__(self) -> PeakMemory:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current resident size
        self.start = rss_kib("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.rise_mib = (rss_kib("VmHWM") - self.start) / 1024


class HealthWatch:
    """Polls /health in a thread while an attack runs; records the slowest answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                if client.get("/health").status_code != 200:
                    self.failures += 1
                self.slowest = max(self.slowest, time.perf_counter() - started)
                time.sleep(0.02)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def bomb_docx() -> bytes:
    """The issue's bomb, scaled: a small '.docx' whose `mimetype` member is 32 MiB of zeros
    through bzip2, and whose document part is 64 MiB through deflate."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for name, method, size in (
            ("mimetype", zipfile.ZIP_BZIP2, 32 * MIB),
            ("word/document.xml", zipfile.ZIP_DEFLATED, 64 * MIB),
        ):
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            with archive.open(info, "w", force_zip64=True) as member:
                block = b"\0" * (4 * MIB)
                for _ in range(size // len(block)):
                    member.write(block)
    return buffer.getvalue()


@SQLITE
def test_an_archive_bomb_is_refused_in_bounded_memory(live_portal, unchanged) -> None:
    bomb = bomb_docx()
    assert len(bomb) < 200 * 1024
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        csrf = csrf_of(client.get(path).text)
        with HealthWatch(live_portal.url) as health, PeakMemory() as memory:
            started = time.perf_counter()
            response = post_form(
                client,
                path,
                answer(ket_qua="Giữ lại"),
                files=[("_files", ("bao-cao.docx", bomb, "application/octet-stream"))],
                csrf=csrf,
            )
            elapsed = time.perf_counter() - started
            time.sleep(0.2)  # a few more health checks after the answer
    assert_refusal_page(response, 422, "bao-cao.docx", "bất thường")
    assert ">Giữ lại</textarea>" in response.text
    assert memory.rise_mib < 40, f"the portal grew by {memory.rise_mib:.0f} MiB"
    assert elapsed < 5 and health.failures == 0 and health.slowest < 2.0


@SQLITE
def test_zip_uploads_are_inspected_off_the_event_loop(live_portal, monkeypatch) -> None:
    from tests.portal.test_portal_flow import recording_threads

    threads = recording_threads(monkeypatch)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    with live_portal.client() as client:
        posted = post_form(
            client,
            live_portal.path("so-noi-vu"),
            answer(),
            files=[("_files", ("bao-cao.docx", buffer.getvalue(), "application/zip"))],
        )
    assert posted.status_code == 303
    assert ["AnyIO worker" in name for name in threads] == [True]


def receipts_queued() -> int:
    from engine.ledger.models import OutboxMessage
    from tasks import runtime

    with runtime.sessions()() as session:
        return session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "receipt")
        )


@SQLITE
def test_one_link_cannot_flood(live_portal) -> None:
    """The issue's flood: 100 POSTs with one CSRF token. Now one version, then 403s and 429s;
    with a fresh token each time the link stops at its limit with a 429; one receipt email."""
    from portal.limits import SlidingWindow

    path = live_portal.path("so-noi-vu")
    limits = live_portal.app.state.portal.limits
    with live_portal.client() as client:
        csrf = csrf_of(client.get(path).text)
        statuses = [
            post_form(client, path, answer(so_tin_bai=str(n)), csrf=csrf).status_code
            for n in range(100)
        ]
        # Spent token (403) until the address reaches its own limit (429).
        per_address = limits.answers_per_address
        assert statuses == [303] + [403] * (per_address - 1) + [429] * (100 - per_address)
        assert assignment_state("so-noi-vu") == ("submitted", 1)
        # Next, fresh tokens from an address with room left: the link's own limit stops it.
        portal = live_portal.app.state.portal
        portal.answers_by_address = SlidingWindow(1000, limits.window_seconds)
        statuses = [
            post_form(client, path, answer(so_tin_bai=str(n))).status_code
            for n in range(100, 100 + limits.answers_per_link)
        ]
        assert statuses == [303] * (limits.answers_per_link - 1) + [429]
        refused = post_form(client, path, answer(so_tin_bai="7"))
    assert_refusal_page(refused, 429, "Gửi quá nhiều lần", "Xin thử lại sau khoảng")
    assert int(refused.headers["retry-after"]) > 0
    assert assignment_state("so-noi-vu") == ("submitted", limits.answers_per_link)
    # Receipts are coalesced: one letter for the whole burst, describing the newest version.
    live_portal.courier_idle()
    assert receipts_queued() == 1


@SQLITE
def test_per_address_limit_and_versions_cap(live_portal) -> None:
    from portal.limits import SlidingWindow

    portal = live_portal.app.state.portal
    portal.answers_by_address = SlidingWindow(4, 600)
    portal.limits = dataclasses.replace(portal.limits, versions_per_cycle=2)
    with live_portal.client() as client:
        for body in ("so-noi-vu", "so-tu-phap"):
            assert post_form(client, live_portal.path(body), answer()).status_code == 303
        path = live_portal.path("so-noi-vu")
        assert post_form(client, path, answer(so_tin_bai="9")).status_code == 303  # version 2
        before = ledger_counts()
        capped = post_form(client, path, answer(so_tin_bai="10"))
        assert_refusal_page(capped, 429, "số lần tối đa")
        other = post_form(client, live_portal.path("ubnd-son-duong"), answer())
        assert_refusal_page(other, 429, "cùng một địa chỉ mạng")
    assert ledger_counts() == before


@SQLITE
def test_a_rendered_form_expires(live_portal, unchanged) -> None:
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        csrf = csrf_of(client.get(path).text)
        max_age = live_portal.app.state.portal.limits.csrf_max_age_seconds
        live_portal.clock.now += dt.timedelta(seconds=max_age + 60)
        response = post_form(client, path, answer(), csrf=csrf)
    assert_refusal_page(response, 403, "mở lại đường liên kết")


@SQLITE
def test_operator_login_backs_off_after_failures(live_portal) -> None:
    from portal.limits import LoginThrottle

    portal = live_portal.app.state.portal
    # A first wait of 5 s (default 1 s) so that a slow machine sends its 50 guesses within it.
    limits = dataclasses.replace(portal.limits, login_backoff_seconds=5)
    portal.logins = LoginThrottle(limits)
    with live_portal.client() as client:
        wrong = [
            client.get("/operator", auth=(OPERATOR[0], f"doan-{n}")).status_code
            for n in range(limits.login_failures)
        ]
        assert wrong == [401] * limits.login_failures
        started = time.perf_counter()
        throttled = [
            client.get("/operator", auth=(OPERATOR[0], f"doan-them-{n}")) for n in range(50)
        ]
        per_guess = (time.perf_counter() - started) / 50
        # Even the right password waits: a guesser learns nothing during the back-off.
        right_too_soon = client.get("/operator", auth=OPERATOR)
        assert {r.status_code for r in throttled} == {429}
        assert_refusal_page(throttled[0], 429, "Đăng nhập sai quá nhiều lần")
        assert right_too_soon.status_code == 429
        assert per_guess < 0.05  # refused before any password work
        time.sleep(float(throttled[-1].headers["retry-after"]) + 0.1)
        assert client.get("/operator", auth=OPERATOR).status_code == 200
        # Another address is not held back by this one's failures.
        assert live_portal.app.state.portal.logins.wait("10.9.8.7") == 0


def test_a_short_plaintext_operator_password_is_refused_at_start(kehoach_env, tmp_path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO, free_port
    from tests.portal.conftest import DEFS

    env = {**os.environ, "KEHOACH_OPERATOR_PASSWORD": "pw", "KEHOACH_DEFINITIONS": str(DEFS)}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "portal", "--port", str(free_port())],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO,
    )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "KEHOACH_OPERATOR_PASSWORD quá ngắn" in result.stderr


DISGUISED = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"


@SQLITE
@pytest.mark.parametrize("name", ["bao-cao.html", "bao-cao.pdf.hta"])
def test_served_names_follow_the_content(live_portal, name: str) -> None:
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        posted = post_form(
            client, path, answer(), files=[("_files", (name, DISGUISED, "text/html"))]
        )
        assert posted.status_code == 303
        receipt = client.get(posted.headers["location"]).text
        assert "bao-cao.pdf" in receipt and name not in receipt.replace("bao-cao.pdf", "")
        assignment = path.split("/s/")[1].split(".")[0]
        digest = hashlib.sha256(DISGUISED).hexdigest()
        download = client.get(f"/operator/files/{assignment}/{digest}", auth=OPERATOR)
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="bao-cao.pdf"'
    assert download.headers["x-content-type-options"] == "nosniff"


@SQLITE
def test_macro_documents_are_refused(live_portal, unchanged) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.ms-word.document.macroEnabled.'
            'main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")
    with live_portal.client() as client:
        response = post_form(
            client,
            live_portal.path("so-noi-vu"),
            answer(),
            files=[("_files", ("bao-cao.docm", buffer.getvalue(), "application/zip"))],
        )
    assert_refusal_page(response, 422, "có chứa macro")


@SQLITE
def test_odd_digits_are_4xx_not_500(live_portal) -> None:
    path = live_portal.path("so-noi-vu")
    before = ledger_counts()
    with live_portal.client() as client:
        for url in (
            "/s/%C2%B2.1.x",
            "/s/1.20261221.%C3%A9",
            "/s/%C2%B2.20260325.abc/submit",
            f"{path}/receipt/%C2%B2",
            "/operator/assignments/%C2%B2",
        ):
            response = client.get(url, auth=OPERATOR)
            assert 400 <= response.status_code < 500, (url, response.status_code)
            assert '<html lang="vi">' in response.text and "Traceback" not in response.text
        assert ledger_counts() == before
        # '²' as the index of a file to keep is no index: ignored, the answer recorded.
        kept = post_form(client, path, answer(_keep="²"))
    assert kept.status_code == 303
    assert assignment_state("so-noi-vu") == ("submitted", 1)


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgresql"], indirect=True)
def test_nul_bytes_in_answers_are_refused(live_portal, unchanged, caplog) -> None:
    with live_portal.client() as client:
        response = post_form(
            client, live_portal.path("so-noi-vu"), answer(ket_qua="bí mật\x00của cơ quan")
        )
    assert_refusal_page(response, 422, "ký tự NUL")
    assert "bí mật" not in caplog.text


def test_sql_errors_do_not_log_parameters(ledger_url) -> None:
    """A statement that fails (here a NUL byte, as in the issue, or a bad cast) must not carry
    the agency's answer in its message: engines hide bound parameters."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from engine.ledger.db import make_engine

    engine = make_engine(ledger_url)
    try:
        with engine.connect() as connection, pytest.raises(SQLAlchemyError) as caught:
            connection.execute(text("SELECT CAST(:answer AS INTEGER) + nope"), {"answer": "bí mật"})
    finally:
        engine.dispose()
    assert "bí mật" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)


@SQLITE
def test_file_count_is_enforced_while_streaming(live_portal, unchanged) -> None:
    """The issue's 100,000 one-byte file parts: refused at the sixth, in bounded memory."""
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        csrf = csrf_of(client.get(path).text)
    boundary = "ranh-gioi-kehoach"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n{csrf}\r\n'
    ).encode()
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_files"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\nx\r\n"
    ).encode()
    body = head + part * 100_000 + f"--{boundary}--\r\n".encode()
    with PeakMemory() as memory:
        started = time.perf_counter()
        status, page = raw_post(
            live_portal.url,
            f"{path}/submit",
            {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(body)),
            },
            [body[i : i + 65536] for i in range(0, len(body), 65536)],
        )
        elapsed = time.perf_counter() - started
    assert status == 413 and "quá nhiều tệp".encode() in page
    assert memory.rise_mib < 30 + len(body) / MIB  # the body as this test holds it, no more
    assert elapsed < 3

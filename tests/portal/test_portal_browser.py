"""End to end in a real browser: Debian's chromium (driven by Playwright) opens the link of a
request email sent by a real collect run, answers on a phone-sized screen, uploads a PDF, sees
the receipt; `kehoach status` and the receipt email confirm it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.portal.conftest import (
    DEFS,
    OBLIGATION,
    REPO,
    REQUEST_DAY,
    Clock,
    ServerThread,
    build_portal,
    free_port,
    is_receipt,
    request_links,
    wait_for_mail,
)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium (Debian) is not installed"),
    pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


def status_json() -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "status", "--format", "json", "--as-of", "2026-03-05"],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_answer_the_email_in_a_browser(
    prefect_server, mail_sink, kehoach_env, monkeypatch, browser, tmp_path
) -> None:
    from flows.collect import collect

    port = free_port()
    monkeypatch.setenv("KEHOACH_PORTAL_URL", f"http://127.0.0.1:{port}")
    kehoach_env(DEFS)
    result = collect(obligation=OBLIGATION, as_of=REQUEST_DAY)
    assert result["sent"] == 3
    link = request_links(mail_sink.mail_dir)["van-thu@snv.tuyenquang.example"]
    assert link.startswith(f"http://127.0.0.1:{port}/s/")
    before = {r["body"]: r for r in status_json()}
    assert before["so-noi-vu"]["state"] == "open"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    # A small real PDF, printed by the same browser.
    page.set_content("<h1>Báo cáo quý I năm 2026</h1><p>Sở Nội vụ: 15 tin bài.</p>")
    pdf = tmp_path / "Báo cáo quý I.pdf"
    pdf.write_bytes(page.pdf())

    with ServerThread(build_portal(Clock()), port):
        page.goto(link)
        assert page.locator("h1").inner_text().startswith("Báo cáo về truyền thông chính sách")
        # The stylesheet loaded under the strict CSP: the header has its colour.
        header = page.locator("header.site").evaluate("e => getComputedStyle(e).backgroundColor")
        assert header == "rgb(30, 58, 138)"
        page.screenshot(path=SCREENSHOTS / "portal-form.png", full_page=True)

        # Sent without the required text: the error is shown inline, the number kept.
        page.fill("#f-so_tin_bai", "15")
        page.click("button[type=submit]")
        assert page.locator("#e-ket_qua").inner_text() == "bắt buộc (Kết quả đạt được)"
        assert page.input_value("#f-so_tin_bai") == "15"
        page.screenshot(path=SCREENSHOTS / "portal-form-errors.png", full_page=True)

        page.fill("#f-kinh_phi", "2.500.000,5")
        page.fill("#f-ket_qua", "Đăng 15 tin bài về chính sách mới;\ntổ chức 1 cuộc họp báo.")
        page.fill("#f-_who", "Nguyễn Thị Hoa, chuyên viên")
        page.set_input_files("#f-_files", str(pdf))
        page.click("button[type=submit]")
        page.wait_for_url("**/receipt/1")
        assert page.locator("h1").inner_text() == "Đã nhận báo cáo"
        body = page.locator("main").inner_text()
        assert "Báo cáo quý I.pdf" in body and "Nguyễn Thị Hoa" in body
        page.screenshot(path=SCREENSHOTS / "portal-receipt.png", full_page=True)
        context.close()
        # Sent by the portal's courier in the background, not at the next tick.
        receipt = wait_for_mail(mail_sink.mail_dir, is_receipt)
    # Nothing refused by the CSP, nothing missing; the one 422 is the page with the inline error.
    assert [p for p in problems if "status of 422" not in p] == []
    after = {r["body"]: r for r in status_json()}
    assert after["so-noi-vu"]["state"] == "submitted" and after["so-noi-vu"]["version"] == 1
    assert after["so-tu-phap"]["state"] == "open"
    assert receipt["To"].addresses[0].addr_spec == "van-thu@snv.tuyenquang.example"
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "Báo cáo quý I.pdf" in text and "Số tin bài đã đăng: 15" in text

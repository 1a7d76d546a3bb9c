"""Answering through the portal over real HTTP: the form from the definitions, the receipt page,
the receipt email through the outbox, resubmission on the latest version, and GETs that never
write. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

from tests.portal.conftest import (
    PDF,
    answer,
    assignment_state,
    csrf_of,
    is_receipt,
    ledger_counts,
    post_form,
    stored_files,
)


def test_form_is_generated_from_the_definition(live_portal) -> None:
    with live_portal.client() as client:
        page = client.get(live_portal.path("so-noi-vu"))
    assert page.status_code == 200
    html = page.text
    assert '<html lang="vi">' in html
    assert "Báo cáo về truyền thông chính sách quý I năm 2026" in html  # no "quý … quý"
    assert "Sở Nội vụ" in html and "ngày 18 tháng 3 năm 2026" in html  # the body, its due date
    # Typed inputs, required marks, every field of the definition.
    assert re.search(r'inputmode="numeric" id="f-so_tin_bai"[^>]*aria-required="true"', html)
    assert re.search(r'inputmode="decimal" id="f-kinh_phi"', html)
    assert re.search(r'<textarea id="f-ket_qua"[^>]*aria-required="true"', html)
    assert 'type="file"' in html and ".pdf" in html and "20 MB" in html
    assert "<script" not in html


def test_submit_receipt_page_and_email(live_portal) -> None:
    before = ledger_counts()
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        posted = post_form(
            client,
            path,
            answer(kinh_phi="1.500.000,5", _who="Trần Thị Bình, chuyên viên"),
            files=[("_files", ("Báo cáo quý I.pdf", PDF, "application/pdf"))],
        )
        assert posted.status_code == 303
        assert posted.headers["location"] == f"{path}/receipt/1"
        receipt = client.get(posted.headers["location"])
    assert receipt.status_code == 200
    assert "Đã nhận báo cáo" in receipt.text
    assert "Báo cáo quý I.pdf" in receipt.text and "Trần Thị Bình" in receipt.text
    assert "1.500.000,5" in receipt.text  # the amount as recorded, written the Vietnamese way
    assert assignment_state("so-noi-vu") == ("submitted", 1)
    after = ledger_counts()
    assert after["Submission"] == before["Submission"] + 1
    assert after["Attachment"] == before["Attachment"] + 1
    # The file is stored once, under its checksum.
    import hashlib

    digest = hashlib.sha256(PDF).hexdigest()
    assert stored_files(live_portal.files_dir) == [live_portal.files_dir / digest[:2] / digest]
    # The receipt email is sent by the portal's courier, without waiting for a tick.
    mail = live_portal.wait_for_mail(is_receipt)
    assert mail["To"].addresses[0].addr_spec == "van-thu@snv.tuyenquang.example"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Báo cáo quý I.pdf" in text and digest[:12] in text
    assert "Kết quả đạt được: Đã đăng 12 tin bài." in text


def test_resubmission_opens_on_the_latest_version(live_portal) -> None:
    path = live_portal.path("so-tu-phap")
    with live_portal.client() as client:
        first = post_form(
            client,
            path,
            answer(so_tin_bai="7", ket_qua="Bản đầu"),
            files=[("_files", ("bc.pdf", PDF, "application/pdf"))],
        )
        assert first.status_code == 303
        form = client.get(path).text
        assert 'value="7"' in form and ">Bản đầu</textarea>" in form
        assert "lần gửi thứ 1" in form
        assert 'name="_keep" value="0" checked' in form  # the file can be kept, not re-sent
        # Keep the old file, change a value: version 2 carries the kept file.
        second = post_form(
            client, path, answer(so_tin_bai="9", ket_qua="Bản sửa", _keep="0"), csrf=csrf_of(form)
        )
        assert second.status_code == 303 and second.headers["location"].endswith("/receipt/2")
        receipt = client.get(second.headers["location"]).text
        assert "bc.pdf" in receipt and "Bản sửa" in receipt
        form = client.get(path).text
        assert 'value="9"' in form and "lần gửi thứ 2" in form
        # The same answer again (a double click) records nothing new.
        again = post_form(client, path, answer(so_tin_bai="9", ket_qua="Bản sửa", _keep="0"))
        assert again.headers["location"].endswith("/receipt/2?same=1")
    assert assignment_state("so-tu-phap") == ("submitted", 2)
    # The old receipt stays readable and says it is not the latest.
    with live_portal.client() as client:
        old = client.get(f"{path}/receipt/1")
    assert old.status_code == 200 and "không phải lần gửi mới nhất" in old.text


def recording_threads(monkeypatch) -> list[str]:
    """The names of the threads that record answers from now on (the portal runs in-process)."""
    import threading

    from portal import agency

    threads: list[str] = []
    record = agency._record

    def watched(*args):
        threads.append(threading.current_thread().name)
        return record(*args)

    monkeypatch.setattr(agency, "_record", watched)
    return threads


def test_large_file_is_recorded_off_the_event_loop(live_portal, monkeypatch) -> None:
    """Every answer, a small one and one with a 5 MB attachment, is recorded in a worker thread
    (Portal.in_ledger), so its commit's fsync and the hashing do not hold up the event loop;
    the answer, the file and the receipt come out alike."""
    import hashlib

    threads = recording_threads(monkeypatch)
    with live_portal.client() as client:
        assert post_form(client, live_portal.path("ubnd-son-duong"), answer()).status_code == 303
    big = PDF + b"%" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        posted = post_form(
            client, path, answer(), files=[("_files", ("Phụ lục.pdf", big, "application/pdf"))]
        )
    assert posted.status_code == 303
    assert assignment_state("so-noi-vu") == ("submitted", 1)
    digest = hashlib.sha256(big).hexdigest()
    assert stored_files(live_portal.files_dir) == [live_portal.files_dir / digest[:2] / digest]
    mail = live_portal.wait_for_mail(
        lambda m: is_receipt(m) and "snv." in m["To"].addresses[0].addr_spec
    )
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Phụ lục.pdf" in text and digest[:12] in text
    in_thread = ["AnyIO worker" in name for name in threads]
    assert in_thread == [True, True]


def test_an_answer_waits_for_another_process_write_off_the_event_loop(
    live_portal, monkeypatch
) -> None:
    """While another process holds the ledger's write lock (a tick writing many rows), an answer
    is recorded in a worker thread: the form still opens meanwhile, the answer once it is free."""
    import fcntl
    import os
    import threading
    import time

    portal = live_portal.app.state.portal
    threads = recording_threads(monkeypatch)
    if not portal.local_ledger:
        # PostgreSQL has no lock file: its answers are always recorded in worker threads.
        with live_portal.client() as client:
            assert post_form(client, live_portal.path("so-noi-vu"), answer()).status_code == 303
        assert "AnyIO worker" in threads[0]
        return
    ledger = Path(portal.desk.sessions.kw["bind"].url.database)
    # Another open of the lock file conflicts with the portal's as another process's would.
    fd = os.open(f"{ledger}-writelock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    released = threading.Timer(1.0, fcntl.flock, (fd, fcntl.LOCK_UN))
    path = live_portal.path("so-noi-vu")
    try:
        with live_portal.client() as client:
            csrf = csrf_of(client.get(path).text)
            released.start()
            result = {}
            poster = threading.Thread(
                target=lambda: result.update(
                    posted=post_form(client, path, answer(), csrf=csrf).status_code
                )
            )
            began = time.monotonic()
            poster.start()
            time.sleep(0.3)
            with live_portal.client() as other:
                assert other.get(path).status_code == 200  # served while the answer waits
            assert time.monotonic() - began < 1.0
            poster.join(30)
    finally:
        released.cancel()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert result["posted"] == 303 and threads and "AnyIO worker" in threads[0]
    assert assignment_state("so-noi-vu") == ("submitted", 1)


def test_version_and_receipt_commit_together(live_portal, monkeypatch) -> None:
    """A receipt that cannot be queued (its template breaks) leaves no version either: the two
    commit in one transaction, so no answer is ever recorded without its receipt."""
    renderer = live_portal.app.state.portal.desk.renderer
    render = renderer.render

    def broken(kind, context):
        if kind == "receipt":
            raise RuntimeError("the receipt template broke")
        return render(kind, context)

    monkeypatch.setattr(renderer, "render", broken)
    before, state = ledger_counts(), assignment_state("so-noi-vu")
    with live_portal.client() as client:
        posted = post_form(client, live_portal.path("so-noi-vu"), answer())
    assert posted.status_code == 500 and "Hệ thống gặp lỗi" in posted.text
    assert ledger_counts() == before
    assert assignment_state("so-noi-vu") == state
    monkeypatch.setattr(renderer, "render", render)
    with live_portal.client() as client:
        posted = post_form(client, live_portal.path("so-noi-vu"), answer())
    assert posted.status_code == 303
    after = ledger_counts()
    assert after["Submission"] == before["Submission"] + 1
    assert after["OutboxMessage"] == before["OutboxMessage"] + 1


def test_get_changes_nothing(live_portal) -> None:
    """A mail scanner prefetching every link (and its submit and receipt URLs) writes nothing."""
    before = ledger_counts()
    with live_portal.client() as client:
        for body in live_portal.links:
            path = live_portal.path(body)
            for url in (path, f"{path}/submit", f"{path}/receipt/1", "/", "/health"):
                client.get(url)
                client.head(url)
    assert ledger_counts() == before
    assert stored_files(live_portal.files_dir) == []


def test_security_headers(live_portal) -> None:
    with live_portal.client() as client:
        page = client.get(live_portal.path("so-noi-vu"))
        css = client.get("/static/portal.css")
        missing = client.get("/khong-co")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"].startswith("no-store")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")
    assert missing.status_code == 404 and "Không tìm thấy trang" in missing.text
    assert missing.headers["content-security-policy"] == policy


def test_health(live_portal) -> None:
    with live_portal.client() as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/health/ready").json() == {"status": "ok"}

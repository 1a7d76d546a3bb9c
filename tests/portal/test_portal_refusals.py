"""Everything the portal must refuse, each with a clear Vietnamese 4xx page and nothing written:
no submission, attachment, event or email in the ledger, no file in the store."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from tests.portal.conftest import (
    PDF,
    answer,
    csrf_of,
    ledger_counts,
    post_form,
    stored_files,
)

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)


@pytest.fixture
def unchanged(live_portal):
    """Asserts, after the test, that the ledger and the file store are as they were before."""
    before = ledger_counts(), stored_files(live_portal.files_dir)
    yield
    assert (ledger_counts(), stored_files(live_portal.files_dir)) == before


def assert_refusal_page(response, status: int, *phrases: str) -> None:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in response.text
    assert f"Mã lỗi {status}" in response.text or status in (413, 422)
    for phrase in phrases:
        assert phrase in response.text
    assert "Traceback" not in response.text


def tampered(link: str, part: int, value: str) -> str:
    head, token = link.rsplit("/s/", 1)
    parts = token.split(".")
    parts[part] = value
    return "/s/" + ".".join(parts)


def test_forged_and_tampered_links(live_portal, unchanged) -> None:
    good = live_portal.path("so-noi-vu")
    other = live_portal.path("so-tu-phap")
    forged = [
        "/s/khong-phai-ma",
        "/s/1.20260325.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        tampered(good, 1, "20261231"),  # a later expiry, same signature
        tampered(good, 0, other.split("/s/")[1].split(".")[0]),  # another body's assignment
        "/s/" + "9" * 200,
    ]
    with live_portal.client() as client:
        csrf = csrf_of(client.get(good).text)
        for path in forged:
            assert_refusal_page(client.get(path), 403, "Không được phép truy cập")
            posted = client.post(f"{path}/submit", data={"_csrf": csrf, **answer()})
            assert_refusal_page(posted, 403)


def test_expired_link(live_portal, unchanged) -> None:
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        csrf = csrf_of(client.get(path).text)
        # The cycle closes on 25/03/2026 (due 18/03 plus 5 working days of grace).
        live_portal.clock.now = dt.datetime(2026, 3, 25, 16, 59, tzinfo=dt.UTC)  # 23:59 in Hà Nội
        assert client.get(path).status_code == 200
        live_portal.clock.now = dt.datetime(2026, 3, 25, 17, 0, tzinfo=dt.UTC)  # 26/03 00:00
        assert_refusal_page(client.get(path), 410, "hết hạn", "ngày 25 tháng 3 năm 2026")
        assert_refusal_page(post_form(client, path, answer(), csrf=csrf), 410)


def test_another_bodys_form_token_does_not_post_here(live_portal, unchanged) -> None:
    mine, theirs = live_portal.path("so-noi-vu"), live_portal.path("so-tu-phap")
    with live_portal.client() as client:
        their_csrf = csrf_of(client.get(theirs).text)
        response = post_form(client, mine, answer(), csrf=their_csrf)
        assert_refusal_page(response, 403, "mã xác thực")
        # Each link shows only its own body.
        page = client.get(theirs).text
        assert "Sở Tư pháp" in page and "Sở Nội vụ" not in page


def test_get_of_the_submit_url(live_portal, unchanged) -> None:
    with live_portal.client() as client:
        response = client.get(live_portal.path("so-noi-vu") + "/submit")
    assert_refusal_page(response, 405, "Gửi báo cáo")
    assert response.headers["allow"] == "POST"


def test_post_without_or_with_a_wrong_csrf_token(live_portal, unchanged) -> None:
    path = live_portal.path("so-noi-vu")
    pdf = [("_files", ("bc.pdf", PDF, "application/pdf"))]
    with live_portal.client() as client:
        assert_refusal_page(client.post(f"{path}/submit", data=answer(), files=pdf), 403)
        wrong = client.post(f"{path}/submit", data={"_csrf": "abc.def", **answer()}, files=pdf)
        assert_refusal_page(wrong, 403, "mã xác thực")
        # Urlencoded, without files: refused the same way.
        assert_refusal_page(client.post(f"{path}/submit", data=answer()), 403)
        # POST to the form's own URL is not a way around it.
        assert client.post(path, data=answer()).status_code == 405


def raw_post(url: str, path: str, head: dict[str, str], chunks) -> tuple[int, bytes]:
    """Send a request by hand (lying or chunked lengths), then read the status and the page."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in head.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what matters is what it answered
        response = b""
        try:
            while part := sock.recv(65536):
                response += part
        except ConnectionResetError:
            pass
    status = int(response.split(b" ", 2)[1])
    return status, response


def multipart(csrf: str, file_name: str, file_head: bytes) -> tuple[bytes, bytes, bytes]:
    boundary = "ranh-gioi-kehoach"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="so_tin_bai"\r\n\r\n12\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="_files"; '
        f'filename="{file_name}"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode() + file_head
    tail = f"\r\n--{boundary}--\r\n".encode()
    return boundary.encode(), head, tail


def test_oversized_uploads(live_portal, unchanged) -> None:
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        csrf = csrf_of(client.get(path).text)
        # A 21 MB file (the default limit is 20 MB): refused while streaming, the form shown
        # again with what was typed.
        big = PDF + b"0" * (21 * 1024 * 1024)
        response = client.post(
            f"{path}/submit",
            data={"_csrf": csrf, **answer(ket_qua="Giữ lại nội dung này")},
            files=[("_files", ("lon.pdf", big, "application/pdf"))],
        )
    assert_refusal_page(response, 413, "vượt quá dung lượng cho phép (20 MB)")
    assert ">Giữ lại nội dung này</textarea>" in response.text
    # That token is spent (single use); the form shown again carries the next one.
    csrf = csrf_of(response.text)

    # A declared length over the cap is refused before a byte of the body is read.
    boundary, head, tail = multipart(csrf, "a.pdf", PDF)
    status, page = raw_post(
        live_portal.url,
        f"{path}/submit",
        {
            "Content-Type": f"multipart/form-data; boundary={boundary.decode()}",
            "Content-Length": str(500 * 1024 * 1024),
        },
        [head],
    )
    assert status == 413 and "Dữ liệu gửi lên quá lớn".encode() in page

    # Chunked, with no length at all: counted as it streams, stopped past 20 MB.
    def chunked():
        yield b"%x\r\n%s\r\n" % (len(head), head)
        block = b"0" * (1024 * 1024)
        for _ in range(60):
            yield b"%x\r\n%s\r\n" % (len(block), block)
        yield b"%x\r\n%s\r\n0\r\n\r\n" % (len(tail), tail)

    status, page = raw_post(
        live_portal.url,
        f"{path}/submit",
        {
            "Content-Type": f"multipart/form-data; boundary={boundary.decode()}",
            "Transfer-Encoding": "chunked",
        },
        chunked(),
    )
    assert status == 413 and "vượt quá dung lượng cho phép".encode() in page


@pytest.mark.parametrize(
    "name, content",
    [
        ("bao-cao.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500),  # a Windows .exe
        ("bao-cao.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500),  # a Linux binary
        ("bao-cao.docx", b"PK\x03\x04" + b"\x00" * 100),  # a broken zip, not a document
        ("bao-cao.pdf", b"#!/bin/sh\nrm -rf /\n"),
    ],
)
def test_content_that_is_not_what_its_name_says(live_portal, unchanged, name, content) -> None:
    with live_portal.client() as client:
        response = post_form(
            client,
            live_portal.path("so-noi-vu"),
            answer(ket_qua="Nội dung giữ lại"),
            files=[("_files", (name, content, "application/pdf"))],
        )
    assert_refusal_page(response, 422, "không phải loại được chấp nhận", "kiểm tra nội dung tệp")
    assert ">Nội dung giữ lại</textarea>" in response.text


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.pdf", "..\\..\\windows\\boot.pdf", "/tmp/x.pdf", "a/../../b.pdf", ".."],
)
def test_path_traversal_file_names(live_portal, unchanged, tmp_path, name) -> None:
    with live_portal.client() as client:
        response = post_form(
            client,
            live_portal.path("so-noi-vu"),
            answer(),
            files=[("_files", (name, PDF, "application/pdf"))],
        )
    assert_refusal_page(response, 422, "Tên tệp")
    assert not (tmp_path / "etc").exists() and not (tmp_path / "b.pdf").exists()


def test_closed_cycle(live_portal) -> None:
    from engine.ledger.cycles import close_cycle, get_cycle
    from tasks import runtime

    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        csrf = csrf_of(client.get(path).text)
        with runtime.sessions()() as session:
            cycle = get_cycle(session, "quarterly-report", "2026-Q1")
        with runtime.sessions()() as session:
            close_cycle(session, cycle.id, dt.date(2026, 3, 5))
        closed = ledger_counts()  # the close wrote its own events; the portal must add none
        assert_refusal_page(client.get(path), 410, "đã đóng")
        assert_refusal_page(post_form(client, path, answer(), csrf=csrf), 410, "đã đóng")
    assert ledger_counts() == closed
    assert closed["Submission"] == 0 and stored_files(live_portal.files_dir) == []

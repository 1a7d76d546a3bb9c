"""Reviewing answers: `kehoach review accept|return` in a separate process, and the operator's
pages behind HTTP Basic with CSRF-protected buttons. Returning sends the 'please revise' letter
with the comment and a working link; the body resubmits on it; accepting settles the form."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from tests.portal.conftest import (
    OPERATOR,
    PDF,
    REPO,
    Clock,
    ServerThread,
    answer,
    assignment_state,
    build_portal,
    csrf_of,
    free_port,
    ledger_counts,
    link_in,
    post_form,
)


def kehoach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def is_returned_letter(message) -> bool:
    return str(message["Subject"]).startswith("[Đề nghị chỉnh sửa]")


def test_review_commands(live_portal) -> None:
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        assert post_form(client, path, answer(so_tin_bai="3")).status_code == 303
    # The receipt goes out through the portal's courier (its child process may still be
    # starting); the CLI's own drain below then has only the "please revise" letter to send.
    live_portal.courier_idle()

    comment = "Đề nghị bổ sung số liệu quý I theo từng tháng."
    done = kehoach(
        "review", "return", "quarterly-report", "2026-Q1", "so-noi-vu",
        "--comment", comment, "--as-of", "2026-03-05",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Đã trả lại bản 1" in done.stdout and "đã gửi 1 thư" in done.stdout
    assert assignment_state("so-noi-vu") == ("returned", 1)

    letter = live_portal.wait_for_mail(is_returned_letter)
    text = letter.get_body(preferencelist=("plain",)).get_content()
    assert comment in text and "lần gửi thứ 1" in text
    fresh = link_in(letter).removeprefix(live_portal.url)
    assert fresh != path  # each revision round has its own link
    with live_portal.client() as client:
        # The earlier link (perhaps leaked) stops, with a page saying a newer one was sent.
        before = ledger_counts()
        for stale in (
            client.get(path),
            client.get(f"{path}/receipt/1"),
            post_form(client, path, answer(so_tin_bai="99"), csrf="x.1.y"),
        ):
            assert stale.status_code == 410, stale.text[:300]
            assert "một đường liên kết mới đã được gửi" in stale.text
        assert ledger_counts() == before
        form = client.get(fresh)
        assert form.status_code == 200
        assert comment in form.text and 'value="3"' in form.text  # comment, latest values
        resent = post_form(client, fresh, answer(so_tin_bai="4"), csrf=csrf_of(form.text))
        assert resent.status_code == 303 and resent.headers["location"].endswith("/receipt/2")
    assert assignment_state("so-noi-vu") == ("resubmitted", 2)

    accepted = kehoach("review", "accept", "quarterly-report", "2026-Q1", "so-noi-vu")
    assert accepted.returncode == 0, accepted.stderr
    assert assignment_state("so-noi-vu") == ("accepted", 2)
    with live_portal.client() as client:
        settled = client.get(fresh)
        assert settled.status_code == 200 and "đã được cơ quan tiếp nhận chấp nhận" in settled.text
        assert "<form" not in settled.text
        before = ledger_counts()
        late = client.post(f"{fresh}/submit", data={"_csrf": csrf_of(form.text), **answer()})
        assert late.status_code == 409 and "chấp nhận" in late.text
        assert ledger_counts() == before


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_review_command_refusals(live_portal) -> None:
    nothing_yet = kehoach("review", "accept", "quarterly-report", "2026-Q1", "so-tu-phap")
    assert nothing_yet.returncode == 1
    assert "Không thể chấp nhận báo cáo" in nothing_yet.stderr
    assert "Traceback" not in nothing_yet.stderr
    unknown = kehoach(
        "review", "return", "quarterly-report", "2026-Q1", "khong-co", "--comment", "x"
    )
    assert unknown.returncode == 1 and "khong-co" in unknown.stderr
    no_comment = kehoach("review", "return", "quarterly-report", "2026-Q1", "so-tu-phap")
    assert no_comment.returncode == 2
    assert assignment_state("so-tu-phap") == ("open", 0)


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_operator_pages(live_portal) -> None:
    path = live_portal.path("ubnd-son-duong")
    assignment_id = path.split("/s/")[1].split(".")[0]
    detail_url = f"/operator/assignments/{assignment_id}"
    with live_portal.client() as client:
        posted = post_form(
            client, path, answer(), files=[("_files", ("bc.pdf", PDF, "application/pdf"))]
        )
        assert posted.status_code == 303

        anonymous = client.get("/operator")
        assert anonymous.status_code == 401 and "Cần đăng nhập" in anonymous.text
        assert anonymous.headers["www-authenticate"].startswith("Basic ")
        assert client.get("/operator", auth=(OPERATOR[0], "sai")).status_code == 401

        listing = client.get("/operator", auth=OPERATOR)
        assert listing.status_code == 200 and "Chờ xem xét (1)" in listing.text
        assert "Ủy ban nhân dân huyện Sơn Dương" in listing.text
        detail = client.get(detail_url, auth=OPERATOR)
        assert detail.status_code == 200 and "Lần gửi thứ 1" in detail.text
        assert "qua cổng tiếp nhận" in detail.text
        assert (
            client.get("/operator/assignments/99999999999999999999", auth=OPERATOR).status_code
            == 404
        )

        digest = hashlib.sha256(PDF).hexdigest()
        download = client.get(f"/operator/files/{assignment_id}/{digest}", auth=OPERATOR)
        assert download.content == PDF
        assert download.headers["content-disposition"].startswith("attachment")
        other = live_portal.path("so-noi-vu").split("/s/")[1].split(".")[0]
        assert client.get(f"/operator/files/{other}/{digest}", auth=OPERATOR).status_code == 404

        before = ledger_counts()
        forged = client.post(f"{detail_url}/return", data={"comment": "x"}, auth=OPERATOR)
        assert forged.status_code == 403
        empty = client.post(
            f"{detail_url}/return", data={"_csrf": csrf_of(detail.text), "comment": " "},
            auth=OPERATOR,
        )  # fmt: skip
        assert empty.status_code == 422 and "Cần ghi rõ lý do trả lại" in empty.text
        assert ledger_counts() == before

        # A token is spent once posted: the 422 page carries the next one, as a browser sees.
        returned = client.post(
            f"{detail_url}/return",
            data={"_csrf": csrf_of(empty.text), "comment": "Thiếu phụ lục số liệu."},
            auth=OPERATOR,
            follow_redirects=False,
        )
        assert returned.status_code == 303
        assert "Đã trả lại báo cáo" in client.get(returned.headers["location"], auth=OPERATOR).text
    assert assignment_state("ubnd-son-duong") == ("returned", 1)
    letter = live_portal.wait_for_mail(is_returned_letter)
    assert "Thiếu phụ lục số liệu." in letter.get_body(preferencelist=("plain",)).get_content()
    assert letter["To"].addresses[0].addr_spec == "van-thu@sonduong.tuyenquang.example"


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_operator_pages_are_off_without_a_password(live_portal) -> None:
    import httpx

    port = free_port()
    with ServerThread(build_portal(Clock(), operator=False), port):
        response = httpx.get(f"http://127.0.0.1:{port}/operator", auth=OPERATOR)
    assert response.status_code == 503 and "KEHOACH_OPERATOR_PASSWORD" in response.text

"""The development mail sink: storage, listing, the web page, and the foreground runner."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifications.mailsink import list_messages, running_sink, store_message

NAME = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{16}(-\d+)?\.eml$")
ROOT = Path(__file__).resolve().parents[2]


def raw_message(message_id: str, subject: str = "Thư thử nghiệm có dấu: Đôn đốc") -> bytes:
    mail = EmailMessage()
    mail["From"] = "kehoach@localhost"
    mail["To"] = "van-thu@so-tu-phap.tuyenquang.example"
    mail["Cc"] = "giam-doc@so-tu-phap.tuyenquang.example, vp@ubnd.tuyenquang.example"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    mail["Date"] = "Tue, 15 Dec 2026 14:05:00 +0700"
    mail.set_content("Kính gửi: Sở Tư pháp")
    mail.add_alternative("<p>Kính gửi: <b>Sở Tư pháp</b></p>", subtype="html")
    return mail.as_bytes()


def test_store_is_atomic_and_named_by_time_and_message_id(tmp_path: Path) -> None:
    data = raw_message("<a.1@kehoach.test>")
    first = store_message(tmp_path, data)
    second = store_message(tmp_path, data)  # a resend of the same Message-ID is kept too
    assert first != second and first.read_bytes() == data == second.read_bytes()
    digest = hashlib.sha256(b"<a.1@kehoach.test>").hexdigest()[:16]
    for path in (first, second):
        assert NAME.match(path.name) and digest in path.name
    assert sorted(os.listdir(tmp_path)) == sorted([first.name, second.name])  # no temp files


def test_list_messages_decodes_headers(tmp_path: Path) -> None:
    store_message(tmp_path, raw_message("<b.1@kehoach.test>"))
    [summary] = list_messages(tmp_path)
    assert summary.message_id == "<b.1@kehoach.test>"
    assert summary.subject == "Thư thử nghiệm có dấu: Đôn đốc"
    assert summary.sender == "kehoach@localhost"
    assert summary.to == ["van-thu@so-tu-phap.tuyenquang.example"]
    assert summary.cc == ["giam-doc@so-tu-phap.tuyenquang.example", "vp@ubnd.tuyenquang.example"]
    assert summary.date.isoformat() == "2026-12-15T14:05:00+07:00"
    assert list_messages(tmp_path / "chua-co") == []


def test_running_sink_binds_a_free_port_and_releases_it(tmp_path: Path) -> None:
    with running_sink(tmp_path) as sink:
        port = sink.port
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            assert conn.recv(1024).startswith(b"220")
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def fetch(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_web_page_lists_and_shows_messages_escaped(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script> Nhắc hạn"
    with running_sink(tmp_path, http_port=0) as sink:
        store_message(tmp_path, raw_message("<c.1@kehoach.test>", subject=evil))
        base = f"http://127.0.0.1:{sink.http_port}"
        status, index, headers = fetch(base + "/")
        assert status == 200 and "Hộp thư thử nghiệm" in index and "Thư đã nhận (1)" in index
        assert "<script>alert(1)</script>" not in index
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Nhắc hạn" in index
        assert "script-src" not in headers["Content-Security-Policy"]  # nothing may run

        name = sink.messages()[0].path.name
        status, page, _ = fetch(f"{base}/thu/{name}")
        assert status == 200
        assert "Nội dung dạng văn bản" in page and "Kính gửi: Sở Tư pháp" in page
        assert "&lt;c.1@kehoach.test&gt;" in page and "<script>" not in page
        assert f'<iframe sandbox="" title="Nội dung HTML" src="/html/{name}">' in page

        status, html, headers = fetch(f"{base}/html/{name}")
        assert status == 200 and "<b>Sở Tư pháp</b>" in html
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")

        for bad in ("/thu/../../etc/passwd", "/thu/khong-co.eml", "/eml/.incoming-x.tmp", "/x"):
            status, page, _ = fetch(base + bad)
            assert status == 404 and "Không tìm thấy thư" in page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_sink_serves_until_signalled(tmp_path: Path, make_message, stop_signal) -> None:
    from notifications.sender import Sender, SmtpSettings

    smtp_port, http_port = free_port(), free_port()
    code = (
        "from pathlib import Path; from notifications.mailsink import run_sink; "
        f"run_sink('127.0.0.1', {smtp_port}, Path({str(tmp_path)!r}), {http_port})"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port(smtp_port, process)
        wait_for_port(http_port, process)
        settings = SmtpSettings(smtp_host="127.0.0.1", smtp_port=smtp_port)
        [result] = Sender(settings).send_batch([make_message(1)])
        assert result.accepted
        assert "Thư đã nhận (1)" in fetch(f"http://127.0.0.1:{http_port}/")[1]
        process.send_signal(stop_signal)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert [m.message_id for m in list_messages(tmp_path)] == [make_message(1).message_id]


def test_unparseable_message_is_still_kept(tmp_path: Path) -> None:
    data = b"\xff\xfe not a mail at all \x00\r\n\r\n"
    path = store_message(tmp_path, data)
    assert path.read_bytes() == data
    assert hashlib.sha256(hashlib.sha256(data).hexdigest().encode()).hexdigest()[:16] in path.name

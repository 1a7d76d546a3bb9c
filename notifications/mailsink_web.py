"""The mail sink's web page: the list of received messages and a view of each one.

Plain stdlib http.server; every value is HTML-escaped, and a message's own HTML is shown in a
sandboxed iframe under a Content-Security-Policy that allows no script.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from notifications.mailsink import (
    MessageSummary,
    list_messages,
    message_body,
    read_message,
    summarize,
)
from notifications.vietnamese import format_date_short, format_time

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*\.eml$")
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'"
# A message's own HTML: inline styles and embedded images only, never script or remote loads.
_CSP_MESSAGE = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = (
    "body{font-family:Arial,Helvetica,sans-serif;margin:0;padding:16px;color:#111827;"
    "background:#f9fafb}h1{font-size:22px;margin:0 0 12px}h2{font-size:18px;margin:20px 0 8px}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "td,th{border:1px solid #e5e7eb;padding:6px 8px;text-align:left;vertical-align:top;"
    "font-size:14px}th{background:#f3f4f6}a{color:#1e40af}"
    "pre{white-space:pre-wrap;background:#fff;border:1px solid #e5e7eb;padding:10px;"
    "font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5}"
    "iframe{width:100%;height:70vh;border:1px solid #e5e7eb;background:#fff}"
    ".muted{color:#6b7280}"
)


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    ).encode()


def _when(summary: MessageSummary) -> str:
    if summary.date is None:
        return "—"
    return f"{format_time(summary.date)}, {format_date_short(summary.date)}"


def render_index(mail_dir: Path) -> bytes:
    summaries = list(reversed(list_messages(mail_dir)))
    rows = "".join(
        "<tr>"
        f"<td>{escape(_when(s))}</td>"
        f"<td>{escape(s.sender)}</td>"
        f"<td>{escape(', '.join(s.to))}</td>"
        f"<td>{escape(', '.join(s.cc))}</td>"
        f'<td><a href="/thu/{quote(s.path.name)}">{escape(s.subject or "(không có tiêu đề)")}'
        "</a></td></tr>"
        for s in summaries
    )
    table = (
        "<table><tr><th>Thời gian</th><th>Người gửi</th><th>Người nhận</th>"
        f"<th>Đồng gửi</th><th>Tiêu đề</th></tr>{rows}</table>"
        if summaries
        else '<p class="muted">Chưa có thư nào.</p>'
    )
    return _page(
        "Hộp thư thử nghiệm",
        f'<h1>Hộp thư thử nghiệm</h1><p class="muted">Thư mục lưu: {escape(str(mail_dir))}.'
        f" Thư mới nhất ở trên cùng.</p><h2>Thư đã nhận ({len(summaries)})</h2>{table}",
    )


def render_message(path: Path) -> bytes:
    summary = summarize(path)
    body = message_body(read_message(path))
    facts = [
        ("Mã thư (Message-ID)", summary.message_id),
        ("Người gửi", summary.sender),
        ("Người nhận", ", ".join(summary.to)),
        ("Đồng gửi", ", ".join(summary.cc)),
        ("Tiêu đề", summary.subject),
        ("Thời gian gửi", _when(summary)),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    text = (
        f"<pre>{escape(body.text)}</pre>"
        if body.text is not None
        else '<p class="muted">Không có phần văn bản.</p>'
    )
    html = (
        f'<iframe sandbox="" title="Nội dung HTML" src="/html/{quote(path.name)}"></iframe>'
        f'<p><a href="/html/{quote(path.name)}">Mở phần HTML trong thẻ riêng</a></p>'
        if body.html is not None
        else '<p class="muted">Không có phần HTML.</p>'
    )
    files = (
        "<ul>"
        + "".join(f"<li>{escape(name)} ({size} byte)</li>" for name, size in body.attachments)
        + "</ul>"
        if body.attachments
        else '<p class="muted">Không có tệp đính kèm.</p>'
    )
    return _page(
        summary.subject or "Thư",
        '<p><a href="/">← Danh sách thư</a></p>'
        f"<h1>{escape(summary.subject or '(không có tiêu đề)')}</h1><table>{table}</table>"
        f"<h2>Nội dung dạng văn bản</h2>{text}<h2>Nội dung HTML</h2>{html}"
        f"<h2>Tệp đính kèm</h2>{files}"
        f'<p><a href="/eml/{quote(path.name)}">Xem tệp .eml gốc</a></p>',
    )


class _Handler(BaseHTTPRequestHandler):
    mail_dir: Path

    def do_GET(self) -> None:
        route = unquote(urlsplit(self.path).path)
        try:
            page = self._route(route)
        except Exception:
            log.exception("mail sink page failed for %s", route)
            body = _page("Lỗi", "<h1>Không đọc được thư</h1><p>Xem nhật ký của hộp thư.</p>")
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, body)
            return
        if page is None:
            body = _page(
                "Không tìm thấy",
                '<h1>Không tìm thấy thư</h1><p><a href="/">← Danh sách thư</a></p>',
            )
            self._send(HTTPStatus.NOT_FOUND, body)
        else:
            self._send(HTTPStatus.OK, *page)

    def _route(self, route: str) -> tuple[bytes, str, str] | None:
        """(body, content type, CSP) for a known route, None for anything else."""
        html_type = "text/html; charset=utf-8"
        if route == "/":
            return render_index(self.mail_dir), html_type, _CSP
        prefix, _, name = route.lstrip("/").partition("/")
        path = self._message_path(name)
        if path is None:
            return None
        if prefix == "thu":
            return render_message(path), html_type, _CSP
        if prefix == "eml":
            return path.read_bytes(), "text/plain; charset=utf-8", _CSP
        if prefix == "html":
            html = message_body(read_message(path)).html
            return None if html is None else (html.encode(), html_type, _CSP_MESSAGE)
        return None

    def _message_path(self, name: str) -> Path | None:
        if not _NAME.match(name):
            return None
        path = self.mail_dir / name
        return path if path.is_file() else None

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        ctype: str = "text/html; charset=utf-8",
        csp: str = _CSP,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("mail sink page: " + format, *args)


def start_page(host: str, port: int, mail_dir: Path) -> ThreadingHTTPServer:
    """Serve the page in a daemon thread; call shutdown() and server_close() to stop it."""
    handler = type("MailSinkPage", (_Handler,), {"mail_dir": Path(mail_dir)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    serve = functools.partial(server.serve_forever, poll_interval=0.1)  # quick shutdown
    threading.Thread(target=serve, name="mailsink-page", daemon=True).start()
    return server

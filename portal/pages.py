"""HTML pages: jinja2 templates under portal/templates/, autoescaped, Vietnamese throughout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from notifications.vietnamese import FILTERS

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Cần đăng nhập",
    403: "Không được phép truy cập",
    404: "Không tìm thấy trang",
    405: "Thao tác không được hỗ trợ",
    409: "Không thể thực hiện",
    410: "Đường liên kết đã hết hiệu lực",
    413: "Dữ liệu gửi lên quá lớn",
    422: "Dữ liệu chưa hợp lệ",
    429: "Gửi quá nhiều lần",
    500: "Lỗi hệ thống",
    503: "Chức năng chưa sẵn sàng",
}
HINTS = {
    403: "Xin mở lại đúng đường liên kết trong thư gửi Quý cơ quan; không sửa địa chỉ trang.",
    404: "Xin kiểm tra lại địa chỉ, hoặc mở đường liên kết trong thư gửi Quý cơ quan.",
    405: "Biểu mẫu chỉ được gửi bằng nút “Gửi báo cáo” trên trang biểu mẫu.",
    410: "Nếu cần gửi bổ sung, xin liên hệ cơ quan tiếp nhận theo địa chỉ trong thư.",
    413: "Xin giảm dung lượng tệp (ví dụ nén hoặc chia nhỏ) rồi gửi lại.",
    429: "Hệ thống giới hạn số lần gửi để bảo vệ dữ liệu của Quý cơ quan.",
    500: "Xin thử lại sau ít phút; nếu vẫn lỗi, xin liên hệ cơ quan tiếp nhận.",
}


class Pages:
    """Compiled templates and the helpers every page uses."""

    def __init__(self, site_name: str, base: str = "") -> None:
        # The path prefix the portal is served under behind a reverse proxy ('' at the root).
        self.base = base.rstrip("/")
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters.update(FILTERS)
        self.env.globals["site_name"] = site_name
        self.env.globals["base"] = self.base

    def render(
        self,
        template: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=headers)

    def error(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        back_url: str | None = None,
    ) -> HTMLResponse:
        """The Vietnamese page for a refusal: a title from the status, the reason, a hint."""
        return self.render(
            "error.html",
            status=status,
            headers=headers,
            status_code=status,
            title=TITLES.get(status, "Không thể xử lý yêu cầu"),
            message=message,
            hint=HINTS.get(status, ""),
            back_url=back_url,
        )

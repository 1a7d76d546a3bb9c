"""Definition models for how letters speak: the issuing authority, who sends on its behalf, and
how each obligation is named and what verb it takes. Imported by engine.definitions.models (so
they are part of the same YAML files and JSON Schemas); they import nothing from it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The same pattern as models.ID_PATTERN (that module imports this one, not the reverse).
_Id = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Định danh: chữ thường, số, gạch nối.")
]
PERIOD_MARK = "{period}"


def period_text(value: str | None) -> str | None:
    """A name with at most one '{period}' mark and no other braces, spaces collapsed."""
    if value is None:
        return value
    if value.count(PERIOD_MARK) > 1:
        raise ValueError("chỉ được ghi '{period}' một lần")
    rest = value.replace(PERIOD_MARK, "")
    if "{" in rest or "}" in rest:
        raise ValueError("chỉ dùng dấu ngoặc nhọn trong '{period}' (chỗ ghi kỳ)")
    if not rest.strip():
        raise ValueError("tên không được để trống")
    return re.sub(r"\s+", " ", value.strip())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Party(_Strict):
    """A role or a body (exactly one)."""

    role: _Id | None = None
    body: _Id | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Party:
        if (self.role is None) == (self.body is None):
            raise ValueError("cần đúng một trong hai: 'role' hoặc 'body'")
        return self


class Sender(Party):
    """Who signs automatic letters, and for whom: a machine never signs as the authority itself."""

    on_behalf_of: Party | None = Field(
        default=None,
        description="Thư gửi thay mặt cơ quan này, ví dụ {role: ubnd-tinh}; bỏ trống: gửi với "
        "danh nghĩa chính cơ quan gửi.",
    )


class AuthorityLevel(StrEnum):
    province = "tỉnh"
    city = "thành phố"


class Authority(_Strict):
    """The level and name of the government the plan belongs to, as letters and documents say it."""

    level: AuthorityLevel = Field(
        description="Cấp chính quyền: 'tỉnh' hoặc 'thành phố' (thành phố trực thuộc trung ương)."
    )
    name: str = Field(min_length=1, description="Tên địa phương, ví dụ 'Cần Thơ', 'Huế'.")


class Wording(_Strict):
    """How letters name an obligation and the act it asks for."""

    name: str | None = Field(
        default=None,
        description="Tên dùng trong thư, không lặp lại kỳ; kỳ ('năm 2026', 'tháng 11 năm 2026') "
        "được thêm vào cuối, hoặc vào chỗ '{period}' nếu có, ví dụ 'Kế hoạch truyền thông chính "
        "sách {period} của sở, ban, ngành'. Bỏ trống: dùng 'title'.",
    )
    action: str = Field(
        default="gửi",
        min_length=1,
        description="Việc cơ quan phải làm, đứng trước tên: 'gửi' (báo cáo), 'tổ chức' (hội "
        "nghị), 'ban hành' (kế hoạch), 'cập nhật' (danh sách), 'cung cấp' (thông tin).",
    )
    result: str | None = Field(
        default=None,
        description="Tên của kết quả gửi về, khi khác tên việc, ví dụ 'kết quả Hội nghị giao ban "
        "báo chí {period}'. Bỏ trống: dùng 'name'.",
    )

    @field_validator("name", "result")
    @classmethod
    def _one_period_mark(cls, value: str | None) -> str | None:
        return period_text(value)

    @field_validator("action")
    @classmethod
    def _action(cls, value: str) -> str:
        return re.sub(r"\s+", " ", value.strip())

"""Definition models of plan.yaml: the plan, its legal bases and clauses."""

from __future__ import annotations

from pydantic import Field

from engine.definitions.basics import ClauseId, Id, Strict
from engine.definitions.letter_models import Authority, Sender


class LegalBasis(Strict):
    id: Id
    title: str = Field(
        description="Tên văn bản đầy đủ, ví dụ 'Chỉ thị số 07/CT-TTg ngày 21/3/2023'."
    )
    url: str | None = None


class Clause(Strict):
    id: ClauseId
    title: str
    text: str = Field(default="", description="Nội dung mục (trích kế hoạch).")
    requires_obligation: bool = Field(
        default=False,
        description="Mục giao việc: phải có ít nhất một nghĩa vụ trích dẫn mục này.",
    )
    children: list[Clause] = Field(default_factory=list)


class Plan(Strict):
    id: Id
    number: str = Field(description="Số, ký hiệu văn bản, ví dụ '125/KH-UBND'.")
    date: str = Field(
        pattern=r"^\d{4}-\d{2}(-\d{2})?$",
        description="Ngày ban hành (YYYY-MM-DD, hoặc YYYY-MM khi bản lưu không ghi ngày).",
    )
    issuer: Id = Field(description="Cơ quan ban hành (định danh cơ quan).")
    place: str = Field(description="Địa danh ghi trên văn bản, ví dụ 'Tuyên Quang'.")
    authority: Authority | None = Field(
        default=None,
        description="Cấp và tên chính quyền mà thư, văn bản nhắc tới ('của tỉnh', 'Ủy ban nhân "
        "dân tỉnh …'). Bỏ trống: suy ra từ tên cơ quan ban hành.",
    )
    sender: Sender | None = Field(
        default=None,
        description="Cơ quan gửi thư tự động thay mặt cơ quan ban hành, cho các nghĩa vụ mà cơ "
        "quan ban hành là nơi nhận (thư tự động không ký với danh nghĩa cơ quan ban hành).",
    )
    title: str
    description: str = ""
    legal_bases: list[LegalBasis] = Field(default_factory=list)
    clauses: list[Clause]


class PlanFile(Strict):
    plan: Plan

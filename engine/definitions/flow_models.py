"""Definition models of what a flow declares: a source's hand-off downstream, a
consolidation's report and a briefing's companions and minutes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from engine.definitions.basics import Id, Strict
from engine.definitions.ladder_models import Target
from engine.definitions.letter_models import period_text


class Completeness(Strict):
    rule: Literal["all", "at-least", "required"] = "all"
    count: int | None = Field(default=None, ge=1, description="Với 'at-least'.")
    bodies: list[Id] = Field(default_factory=list, description="Với 'required'.")
    late: Literal["amend", "ignore"] = Field(
        default="amend", description="Báo cáo nộp muộn: tạo bản sửa đổi có đánh số, hoặc bỏ qua."
    )

    @model_validator(mode="after")
    def _parameters(self) -> Completeness:
        if (self.rule == "at-least") != (self.count is not None):
            raise ValueError("'count' dùng với (và chỉ với) rule: at-least")
        if (self.rule == "required") != bool(self.bodies):
            raise ValueError("'bodies' dùng với (và chỉ với) rule: required")
        return self


class Downstream(Strict):
    obligation: Id
    completeness: Completeness = Field(default_factory=Completeness)
    hand_off: Literal["at-due", "at-close"] = Field(
        default="at-close",
        description="Khi bàn giao kết quả: 'at-due' ngay sau hạn nộp (với những gì đã nhận, báo "
        "cáo muộn tạo bản sửa đổi), 'at-close' khi kỳ đóng (sau thời gian gia hạn).",
    )
    min_working_days: int = Field(
        default=3,
        ge=0,
        le=60,
        description="Số ngày làm việc tối thiểu từ ngày bàn giao đến hạn của nghĩa vụ nhận; "
        "`kehoach validate` kiểm tra cho từng năm; 0: không kiểm tra.",
    )


class ReportSpec(Strict):
    """A consolidation's report: its summary line, who receives it and which own-form fields
    record it."""

    subject: str | None = Field(
        default=None,
        description="Trích yếu nội dung của văn bản (dòng in đậm dưới chữ BÁO CÁO), không kèm "
        "kỳ; kỳ được thêm vào cuối, hoặc vào chỗ '{period}', ví dụ 'Kết quả công tác truyền "
        "thông chính sách {period}'. Thư gửi dự thảo và văn bản gọi là 'Báo cáo' + trích yếu. "
        "Bỏ trống: dùng tên nghĩa vụ trong thư ('letter.name'), kèm cảnh báo.",
    )
    recipients: list[Target] = Field(
        default_factory=list,
        description="Nơi nhận báo cáo tổng hợp (vai trò hoặc cơ quan), theo thứ tự ghi ở "
        "'Nơi nhận'; bỏ trống: chỉ cơ quan nhận kết quả ('recipient').",
    )
    record: dict[
        Literal["number", "signed_on", "bodies_reported", "bodies_missing"],
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")],
    ] = Field(
        default_factory=dict,
        description="Trường biểu mẫu của chính nghĩa vụ tổng hợp được điền khi phê duyệt: "
        "number (số, ký hiệu), signed_on (ngày ký), bodies_reported, bodies_missing.",
    )
    totals: dict[str, str] = Field(
        default_factory=dict,
        description="Trường tổng của biểu mẫu tổng hợp ← trường số liệu của báo cáo nguồn "
        "được cộng, ví dụ tong_tin_bai: so_tin_bai.",
    )
    sections: dict[str, Literal["results", "shortcomings", "proposals"]] = Field(
        default_factory=dict,
        description="Trường văn bản của biểu mẫu tổng hợp trỏ tới mục của báo cáo: results "
        "(kết quả), shortcomings (tồn tại, hạn chế), proposals (nhiệm vụ, đề xuất).",
    )

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        return period_text(value)


MinutesFact = Literal[
    "held_on",
    "form_of",
    "chair",
    "attendees",
    "items",
    "questions",
    "answered",
    "conclusion",
    "open_questions",
]


class NoContent(Strict):
    """The item form's answer that means "nothing to bring this time"."""

    field: str = Field(description="Trường lựa chọn (type: choice) của biểu mẫu 'items'.")
    value: str = Field(description="Lựa chọn nghĩa là không có nội dung.")


class BriefingSpec(Strict):
    """A briefing's companions and how their fields and the minutes map onto its forms."""

    items: Id | None = Field(
        default=None, description="Nghĩa vụ các thành phần gửi nội dung trước hội nghị."
    )
    followups: Id | None = Field(
        default=None, description="Nghĩa vụ trả lời câu hỏi sau hội nghị (theo sự kiện)."
    )
    item_title: str | None = Field(
        default=None, description="Trường tiêu đề nội dung trong biểu mẫu của 'items'."
    )
    item_presenter: str | None = Field(
        default=None, description="Trường người trình bày trong biểu mẫu của 'items'."
    )
    item_none: NoContent | None = Field(
        default=None,
        description="Câu trả lời nghĩa là 'không có nội dung kỳ này' trong biểu mẫu của "
        "'items', ví dụ {field: co_noi_dung, value: Không có nội dung kỳ này}.",
    )
    minutes: dict[MinutesFact, Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = Field(
        default_factory=dict,
        description="Biên bản → trường biểu mẫu của hội nghị: held_on (ngày tổ chức, bắt "
        "buộc), form_of, chair, attendees, items, questions, answered, conclusion, "
        "open_questions.",
    )
    direction: str = Field(
        default="",
        description="Dòng chương trình về thông tin chỉ đạo, điều hành, ví dụ 'Thông tin về "
        "chỉ đạo, điều hành của UBND tỉnh, Chủ tịch UBND tỉnh'; bỏ trống: không có dòng này.",
    )
    recorder: str = Field(
        default="",
        description="Người nhập biên bản khi biểu mẫu để trống; bỏ trống: tên cơ quan chủ trì.",
    )

"""Definition models of an obligation's form: its fields and attachments."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from engine.definitions.basics import Strict


class FieldType(StrEnum):
    text = "text"
    long_text = "long-text"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    choice = "choice"
    file = "file"


class FormField(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    type: FieldType
    required: bool = False
    help: str = ""
    choices: list[str] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None
    sum_in_report: bool = Field(default=True, description="Số liệu được cộng khi tổng hợp.")
    section: Literal["results", "shortcomings", "proposals"] | None = Field(
        default=None,
        description="Với long-text: mục của báo cáo tổng hợp trích nội dung này (kết quả; tồn "
        "tại, hạn chế; nhiệm vụ, đề xuất). Bỏ trống: theo đầu mã trường (ket_qua…, ton_tai…, "
        "han_che…, kho_khan…, vuong_mac… ; nhiem_vu…, de_xuat…, kien_nghi…, phuong_huong…), "
        "còn lại vào mục kết quả.",
    )

    @model_validator(mode="after")
    def _choices(self) -> FormField:
        if (self.type == FieldType.choice) != bool(self.choices):
            raise ValueError("'choices' dùng với (và chỉ với) type: choice")
        if self.section is not None and self.type != FieldType.long_text:
            raise ValueError("'section' chỉ dùng với type: long-text")
        return self


class Attachments(Strict):
    types: list[Literal["pdf", "docx", "xlsx", "odt", "jpg", "png"]] = Field(
        default_factory=lambda: ["pdf", "docx", "xlsx", "odt", "jpg", "png"]
    )
    max_mb: float = Field(default=20, gt=0, le=200)
    max_files: int = Field(default=5, ge=0, le=50)


class Form(Strict):
    fields: list[FormField] = Field(min_length=1)
    attachments: Attachments = Field(default_factory=Attachments)

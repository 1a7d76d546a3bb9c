"""Definition models of bodies, groups and roles, and of the address book that replaces
bodies' mailboxes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from engine.definitions.basics import Email, Id, Strict, check_emails


class BodyKind(StrEnum):
    ubnd_tinh = "ubnd-tinh"
    van_phong = "van-phong"
    so = "so"
    ban_dang = "ban-dang"
    co_quan_bao_chi = "co-quan-bao-chi"
    cong_thong_tin = "cong-thong-tin"
    ubnd_huyen = "ubnd-huyen"
    ubnd_xa = "ubnd-xa"
    bo = "bo"
    cong_an = "cong-an"
    hoi = "hoi"
    khac = "khac"


class Mailboxes(Strict):
    to: list[Email] = Field(min_length=1, description="Hộp thư nhận yêu cầu (văn thư).")
    head: list[Email] = Field(default_factory=list, description="Thủ trưởng, nhận thư đôn đốc.")
    cc: list[Email] = Field(default_factory=list, description="Đồng gửi thường xuyên.")

    _emails = field_validator("to", "head", "cc")(check_emails)


class Spokesperson(Strict):
    name: str
    title: str
    phone: str | None = None
    email: Email | None = None
    valid_from: dt.date | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_emails([value])[0] if value else value


class Successor(Strict):
    """Who takes over a body's duties when it ends (a split lists several, a merge repeats one)."""

    body: Id | None = None
    group: Id | None = Field(default=None, description="Khi nhiệm vụ chuyển cho cả một nhóm.")
    roles: list[Id] = Field(default_factory=list, description="Vai trò được chuyển giao.")
    note: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> Successor:
        if (self.body is None) == (self.group is None):
            raise ValueError("cần đúng một trong hai: 'body' hoặc 'group'")
        return self


UnitCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{2,5}$",
        description="Mã đơn vị hành chính theo danh mục của Tổng cục Thống kê, ví dụ '02269'.",
    ),
]


def is_placeholder_address(address: str) -> bool:
    """An address under the reserved `.example` domain: seed data, not a real mailbox."""
    domain = address.rpartition("@")[2].strip().rstrip(".>").lower()
    return domain == "example" or domain.endswith(".example")


class Body(Strict):
    id: Id
    code: UnitCode | None = Field(
        default=None, description="Mã đơn vị hành chính (cấp xã: mã trong danh mục chính thức)."
    )
    name: str = Field(description="Tên đầy đủ tiếng Việt.")
    short_name: str
    aliases: list[str] = Field(default_factory=list, description="Tên khác (tên cũ).")
    kind: BodyKind
    groups: list[Id] = Field(default_factory=list)
    parent: Id | None = Field(
        default=None, description="Cơ quan chủ quản (dòng đầu tiêu đề văn bản)."
    )
    mailboxes: Mailboxes
    spokesperson: Spokesperson | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    successors: list[Successor] = Field(default_factory=list)

    def exists_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


class BodiesFile(Strict):
    bodies: list[Body]


class PlaceholderMailboxes(Strict):
    """Seed mailboxes for catalogue units the province has not given yet; `{id}` is the body id."""

    to: str = Field(description="Ví dụ 'van-thu@{id}.tuyenquang.example'.")
    head: str | None = Field(default=None, description="Ví dụ 'chu-tich@{id}.tuyenquang.example'.")
    cc: str | None = None

    @field_validator("to", "head", "cc")
    @classmethod
    def _placeholder(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if "{id}" not in value:
            raise ValueError(f"hộp thư mẫu {value!r} cần chứa '{{id}}' (định danh cơ quan)")
        address = value.replace("{id}", "co-quan")
        check_emails([address])
        if not is_placeholder_address(address):
            raise ValueError(
                f"hộp thư mẫu {value!r} phải thuộc tên miền dành riêng '.example': hộp thư thật"
                " của cơ quan được nhập bằng `kehoach bodies import`"
            )
        return value


class UnitCatalogue(Strict):
    """The group's members are the official catalogue's units of one province (GSO codes),
    written into `file` by `kehoach bodies communes`."""

    province: str = Field(
        pattern=r"^[0-9]{2}$", description="Mã tỉnh, thành phố trong danh mục, ví dụ '08'."
    )
    file: str = Field(
        pattern=r"^[a-z0-9][a-z0-9/_-]*\.yaml$",
        description="Tệp (đường dẫn trong thư mục định nghĩa) do lệnh ghi, ví dụ"
        " 'bodies/communes.yaml'.",
    )
    kind: BodyKind = Field(default=BodyKind.ubnd_xa, description="Loại cơ quan của các đơn vị.")
    valid_from: dt.date = Field(description="Ngày các đơn vị bắt đầu hoạt động.")
    parent: Id | None = Field(default=None, description="Cơ quan chủ quản của các đơn vị.")
    name_prefix: str = Field(
        default="Ủy ban nhân dân", description="Đứng trước tên đơn vị trong tên cơ quan."
    )
    short_prefix: str = Field(default="UBND", description="Đứng trước tên đơn vị trong tên gọn.")
    id_prefix: str = Field(
        default="ubnd-", pattern=r"^[a-z0-9-]*$", description="Đứng trước định danh sinh ra."
    )
    placeholder: PlaceholderMailboxes = Field(
        description="Hộp thư mẫu (.example) cho đơn vị chưa có hộp thư thật."
    )


class Group(Strict):
    id: Id
    name: str
    description: str = ""
    catalogue: UnitCatalogue | None = Field(
        default=None,
        description="Thành viên lấy từ danh mục đơn vị hành chính chính thức"
        " (lệnh `kehoach bodies communes`).",
    )


class RoleHolder(Strict):
    body: Id
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class Role(Strict):
    """A function held by one body at a time, e.g. the lead department; holders are dated."""

    id: Id
    name: str
    description: str = ""
    holders: list[RoleHolder] = Field(min_length=1)


class GroupsFile(Strict):
    groups: list[Group] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)


class AddressEntry(Strict):
    """Mailboxes that replace a body's own (the address book the province sends); a key left
    out keeps the body's value."""

    body: Id
    to: list[Email] | None = Field(default=None, min_length=1)
    head: list[Email] | None = None
    cc: list[Email] | None = None
    source: str = Field(default="", description="Nguồn, ví dụ 'danh-ba.xlsx, dòng 12'.")

    @field_validator("to", "head", "cc")
    @classmethod
    def _emails(cls, values: list[str] | None) -> list[str] | None:
        return values if values is None else check_emails(values)

    def apply(self, mailboxes: Mailboxes) -> Mailboxes:
        """The body's mailboxes with this entry's keys replacing its own."""
        return Mailboxes(
            to=self.to if self.to is not None else mailboxes.to,
            head=self.head if self.head is not None else mailboxes.head,
            cc=self.cc if self.cc is not None else mailboxes.cc,
        )


class AddressesFile(Strict):
    addresses: list[AddressEntry]

"""Definition models: the one source for the YAML loader and the generated JSON Schema.

Every model refuses unknown keys, so a typo in an administrator's YAML is an error with a line
number rather than a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.definitions.letter_models import Authority, Sender, Wording, period_text

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
Id = Annotated[str, Field(pattern=ID_PATTERN, description="Định danh: chữ thường, số, gạch nối.")]
# The plan's own numbering: Roman parts, then numbers, letters or Roman numerals (II.4.a).
CLAUSE_PATTERN = r"^[IVXLC]+(\.([0-9]+|[a-zđ]|[IVXLC]+))*$"
ClauseId = Annotated[
    str,
    Field(
        pattern=CLAUSE_PATTERN,
        description="Số hiệu mục của kế hoạch như kế hoạch ghi, ví dụ III.3, II.4.a, I.2.b.",
    ),
]
# Deliberately simple: the validator reports the exact address, and real relays reject the rest.
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
Email = Annotated[str, Field(description="Địa chỉ thư điện tử.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


def check_emails(values: list[str]) -> list[str]:
    for value in values:
        if not EMAIL_RE.match(value):
            raise ValueError(f"địa chỉ thư không hợp lệ: {value!r}")
    return values


# --- the plan -------------------------------------------------------------------------------


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


# --- bodies, groups, roles ------------------------------------------------------------------


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


# --- calendars ------------------------------------------------------------------------------


class NamedDay(Strict):
    date: dt.date
    name: str


class CalendarOverride(Strict):
    """A year's official schedule, which beats the `holidays` package's estimate."""

    year: int = Field(ge=2000, le=2100)
    source: str = Field(default="", description="Văn bản công bố lịch nghỉ chính thức.")
    days_off: list[NamedDay] = Field(default_factory=list, description="Ngày nghỉ thêm.")
    working_days: list[NamedDay] = Field(
        default_factory=list, description="Ngày làm bù hoặc ngày gói tính nghỉ nhưng vẫn làm việc."
    )


# --- obligations ----------------------------------------------------------------------------


class Offset(Strict):
    """A distance in working days or in calendar days (exactly one)."""

    working_days: int | None = None
    days: int | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Offset:
        if (self.working_days is None) == (self.days is None):
            raise ValueError("cần đúng một trong hai: 'working_days' hoặc 'days'")
        return self


class Cadence(StrEnum):
    once = "once"
    monthly = "monthly"
    quarterly = "quarterly"
    half_yearly = "half-yearly"
    # "6 tháng và năm": the first half-year, then the whole year in place of the second half.
    half_yearly_and_annual = "half-yearly-and-annual"
    annual = "annual"
    cron = "cron"
    event = "event"


class Schedule(Strict):
    every: Cadence = Field(
        description="Kỳ: once (một lần), monthly (hằng tháng), quarterly (hằng quý), "
        "half-yearly (6 tháng: 6 tháng đầu năm, 6 tháng cuối năm), half-yearly-and-annual "
        "(6 tháng và năm: báo cáo 6 tháng đầu năm và báo cáo năm, không có kỳ 6 tháng cuối "
        "năm), annual (hằng năm), cron, event (theo sự kiện)."
    )
    on: dt.date | None = Field(default=None, description="Với 'once': ngày mốc của kỳ duy nhất.")
    cron: str | None = Field(default=None, description="Với 'cron': biểu thức cron 5 trường.")
    event: Id | None = Field(default=None, description="Với 'event': tên sự kiện bên ngoài.")

    @model_validator(mode="after")
    def _parameters(self) -> Schedule:
        needs = {Cadence.once: "on", Cadence.cron: "cron", Cadence.event: "event"}
        for cadence, key in needs.items():
            given = getattr(self, key) is not None
            if self.every == cadence and not given:
                raise ValueError(f"lịch '{cadence.value}' cần khai báo '{key}'")
            if self.every != cadence and given:
                raise ValueError(f"'{key}' chỉ dùng với lịch '{cadence.value}'")
        return self


class Window(Strict):
    """The data cut-off window: Decree 09/2019 Art. 12 ('nd09', day 15) or calendar months."""

    name: Literal["nd09", "calendar", "custom"] = "nd09"
    cutoff_day: int | None = Field(
        default=None, ge=1, le=28, description="Với 'custom': kỳ bắt đầu từ ngày này của tháng."
    )

    @model_validator(mode="after")
    def _custom(self) -> Window:
        if (self.name == "custom") != (self.cutoff_day is not None):
            raise ValueError("'cutoff_day' dùng với (và chỉ với) name: custom")
        return self

    @property
    def start_day(self) -> int:
        return {"nd09": 15, "calendar": 1}.get(self.name, self.cutoff_day or 1)


class DueRule(Strict):
    """How the due date is computed; Civil Code Art. 148 then moves it past days off."""

    rule: Literal["day-of-month", "after-period-end", "before-period-end", "after-event"]
    day: int | None = Field(default=None, ge=1, le=31, description="Với 'day-of-month'.")
    month: int = Field(
        default=0,
        ge=-11,
        le=11,
        description="Với 'day-of-month': số tháng cộng thêm vào tháng cuối của kỳ "
        "(cách cũ; nên dùng 'in_month').",
    )
    in_month: int | None = Field(
        default=None,
        ge=1,
        le=12,
        description="Với 'day-of-month': tháng dương lịch của hạn, như kế hoạch viết "
        "('ngày 15 tháng 1 năm sau' là in_month: 1, year: next).",
    )
    year: Literal["same", "next"] = Field(
        default="same",
        description="Với 'in_month': năm của tháng cuối kỳ ('same') hoặc năm sau ('next').",
    )
    offset: Offset | None = Field(default=None, description="Với các quy tắc tương đối.")
    keep_in_month: bool = Field(
        default=True,
        description="Với lịch hằng tháng: hạn luôn nằm trong tháng của kỳ (mỗi tháng đúng một "
        "kỳ); khi kỳ nghỉ kéo đến cuối tháng, hạn lùi về ngày làm việc cuối cùng của tháng.",
    )

    @model_validator(mode="after")
    def _parameters(self) -> DueRule:
        if self.rule == "day-of-month" and (self.day is None or self.offset is not None):
            raise ValueError("'day-of-month' cần 'day' và không dùng 'offset'")
        if self.rule != "day-of-month" and (self.offset is None or self.day is not None):
            raise ValueError(f"'{self.rule}' cần 'offset' và không dùng 'day'")
        if self.in_month is not None and (self.month or self.rule != "day-of-month"):
            raise ValueError("'in_month' chỉ dùng với 'day-of-month' và không dùng cùng 'month'")
        if self.year != "same" and self.in_month is None:
            raise ValueError("'year' chỉ dùng cùng 'in_month'")
        return self

    def months_after(self, last_year: int, last_month: int) -> int:
        """Months from the period's last month to the due month (`month` or `in_month`)."""
        if self.in_month is None:
            return self.month
        year = last_year + (1 if self.year == "next" else 0)
        return (year * 12 + self.in_month) - (last_year * 12 + last_month)


class RequestRule(Strict):
    """When the request email goes out: a distance before the due date, or at a period edge."""

    before_due: Offset | None = None
    at: Literal["period-start", "period-end"] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RequestRule:
        if (self.before_due is None) == (self.at is None):
            raise ValueError("cần đúng một trong hai: 'before_due' hoặc 'at'")
        return self


class RungKind(StrEnum):
    reminder = "reminder"
    due_today = "due-today"
    overdue = "overdue"
    escalation = "escalation"


class Target(Strict):
    """A reference to a role, a body, or one of the assignee's own mailboxes."""

    role: Id | None = None
    body: Id | None = None
    mailbox: Literal["head", "cc"] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        if sum(x is not None for x in (self.role, self.body, self.mailbox)) != 1:
            raise ValueError("cần đúng một trong: 'role', 'body', 'mailbox'")
        return self


class Rung(Strict):
    id: Id
    kind: RungKind
    offset: Offset = Field(description="Khoảng cách từ hạn nộp (âm: trước hạn).")
    template: Id | None = Field(default=None, description="Mẫu thư riêng; mặc định theo 'kind'.")
    cc: list[Target] = Field(default_factory=list)
    escalate_to: list[Target] = Field(default_factory=list)


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


class Responsible(Strict):
    bodies: list[Id] = Field(default_factory=list)
    groups: list[Id] = Field(default_factory=list)
    roles: list[Id] = Field(default_factory=list)
    exclude: list[Id] = Field(default_factory=list, description="Cơ quan loại trừ.")

    @model_validator(mode="after")
    def _not_empty(self) -> Responsible:
        if not (self.bodies or self.groups or self.roles):
            raise ValueError("cần ít nhất một cơ quan, nhóm hoặc vai trò")
        return self


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


class LateStart(Strict):
    """What a cycle opened after its request date gets: never a deadline already passed."""

    min_working_days: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Kỳ mở muộn (sau ngày gửi yêu cầu) mà hạn theo quy tắc đã qua hoặc còn ít "
        "hơn số ngày làm việc này thì được hạn mới: ngày mở cộng số ngày làm việc này.",
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


class RunSchedule(Strict):
    """When the obligation's daily reconciliation run starts (its Prefect deployment schedule)."""

    cron: str = Field(
        default="30 7 * * *",
        description="Biểu thức cron 5 trường (phút giờ ngày tháng thứ); mặc định 7 giờ 30 "
        "mỗi ngày. Lượt chạy vào ngày nghỉ theo lịch pháp định kết thúc ngay, không gửi gì; "
        "ngày làm bù thứ Bảy vẫn chạy như ngày làm việc.",
    )
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="Múi giờ của biểu thức cron.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        # Imported here: engine.periods imports this module.
        from engine.periods import parse_cron

        parse_cron(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"múi giờ không tồn tại: {value!r}, ví dụ 'Asia/Ho_Chi_Minh'"
            raise ValueError(message) from None
        return value


class Obligation(Strict):
    id: Id
    title: str
    description: str = Field(description="Mô tả; nêu lý do chọn ngày khi kế hoạch không quy định.")
    clauses: list[ClauseId] = Field(min_length=1)
    legal_basis: list[Id] = Field(default_factory=list)
    responsible: Responsible
    recipient: Target = Field(description="Cơ quan nhận kết quả.")
    sender: Sender | None = Field(
        default=None,
        description="Cơ quan ký thư của nghĩa vụ này; bỏ trống: cơ quan nhận kết quả (hoặc "
        "plan.sender khi cơ quan nhận là cơ quan ban hành).",
    )
    letter: Wording = Field(
        default_factory=Wording, description="Cách thư gọi tên nghĩa vụ và việc phải làm."
    )
    schedule: Schedule
    window: Window = Field(default_factory=Window)
    request: RequestRule
    due: DueRule
    grace: Offset = Field(default_factory=lambda: Offset(working_days=5))
    late_start: LateStart = Field(default_factory=LateStart)
    ladder: list[Rung] = Field(default_factory=list)
    form: Form
    downstream: Downstream | None = None
    flow: Literal["collect", "press-briefing", "consolidation"] = "collect"
    report: ReportSpec | None = Field(
        default=None, description="Với flow: consolidation — nơi nhận và cách ghi báo cáo."
    )
    briefing: BriefingSpec | None = Field(
        default=None, description="Với flow: press-briefing — nghĩa vụ đi kèm và ánh xạ trường."
    )
    deployment: RunSchedule | None = Field(
        default=None,
        description="Giờ chạy tự động; bỏ trống: 7 giờ 30 mỗi ngày (giờ Việt Nam), ngày nghỉ không "
        "gửi gì.",
    )
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class ObligationsFile(Strict):
    obligations: list[Obligation]


class Definitions(BaseModel):
    """Everything loaded from a definitions directory, indexed by id."""

    model_config = ConfigDict(frozen=True)

    plan: Plan
    bodies: dict[str, Body]
    groups: dict[str, Group]
    roles: dict[str, Role]
    obligations: dict[str, Obligation]
    calendars: dict[int, CalendarOverride]
    templates: frozenset[str] = Field(
        default_factory=frozenset, description="Custom template ids found under templates/."
    )
    digest: str = Field(description="sha256 of the source files, recorded by every cycle.")


class CalendarFile(Strict):
    calendar: CalendarOverride


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

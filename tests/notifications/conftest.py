"""Fixtures for the notifications tests: realistic contexts, a renderer, a live mail sink."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from notifications.contexts import (
    Addressee,
    Answer,
    AttachmentRules,
    AuthorityRef,
    ClauseRef,
    ClosedSummaryContext,
    DigestContext,
    DigestItem,
    DueTodayContext,
    EscalationContext,
    FieldAsk,
    ObligationRef,
    OverdueContext,
    ReceiptContext,
    ReceivedFile,
    ReminderContext,
    RequestContext,
    ReturnedContext,
    Signature,
    Submitted,
)
from notifications.mailsink import RunningSink, running_sink
from notifications.render import Renderer
from notifications.sender import OutgoingMessage, Sender, SmtpSettings

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DUE = dt.date(2026, 12, 17)
FORM_URL = "https://kehoach.tuyenquang.example/f/2026/so-tu-phap/9f3c2a?lang=vi&x=1"

PLAN_REF = (
    "Kế hoạch số 125/KH-UBND ngày 15 tháng 6 năm 2023 của Ủy ban nhân dân tỉnh Tuyên Quang "
    "triển khai thực hiện Chỉ thị số 07/CT-TTg của Thủ tướng Chính phủ"
)
OBLIGATION = ObligationRef(
    title="Báo cáo kết quả công tác truyền thông chính sách",
    plan_ref=PLAN_REF,
    clauses=[ClauseRef(id="IV", title="Chế độ thông tin, báo cáo")],
    report_to="Sở Văn hóa, Thể thao và Du lịch",
    named="Báo cáo kết quả công tác truyền thông chính sách năm 2026",
    action="gửi",
    task="gửi Báo cáo kết quả công tác truyền thông chính sách năm 2026",
    result="Báo cáo kết quả công tác truyền thông chính sách năm 2026",
    duty=(
        "gửi Báo cáo kết quả công tác truyền thông chính sách năm 2026 về Sở Văn hóa, Thể thao"
        " và Du lịch"
    ),
    citation=f"{PLAN_REF} (mục IV)",
    authority=AuthorityRef("tỉnh", "Tuyên Quang", "Ủy ban nhân dân tỉnh Tuyên Quang"),
)
ADDRESSEE = Addressee(name="Sở Tư pháp tỉnh Tuyên Quang")
SIGNATURE = Signature(
    name="Sở Văn hóa, Thể thao và Du lịch tỉnh Tuyên Quang",
    contact_email="truyen-thong@svhttdl.tuyenquang.example",
    contact_phone="0207 3822 xxx",
)
COMMON = dict(
    addressee=ADDRESSEE,
    obligation=OBLIGATION,
    period_label="năm 2026",
    due_on=DUE,
    signature=SIGNATURE,
)


def sample_contexts() -> dict[str, object]:
    """One realistic context per built-in kind."""
    submitted = dt.datetime(2026, 12, 15, 14, 5, tzinfo=VN)
    return {
        "request": RequestContext(
            **COMMON,
            form_url=FORM_URL,
            fields=[
                FieldAsk(label="Số tin, bài truyền thông chính sách đã đăng", required=True),
                FieldAsk(
                    label="Khó khăn, vướng mắc và kiến nghị",
                    help="Nêu cụ thể nội dung cần Ủy ban nhân dân tỉnh chỉ đạo.",
                ),
            ],
            attachments=AttachmentRules(types=["pdf", "docx"], max_mb=20, max_files=5),
        ),
        "reminder": ReminderContext(**COMMON, form_url=FORM_URL, days_left=3),
        "due-today": DueTodayContext(**COMMON, form_url=FORM_URL, sent_on=DUE),
        "overdue": OverdueContext(**COMMON, form_url=FORM_URL, days_overdue=2),
        "escalation": EscalationContext(
            **COMMON,
            form_url=FORM_URL,
            days_overdue=7,
            requested_on=dt.date(2026, 11, 17),
            reminders_sent=3,
            cc=["Văn phòng Sở Tư pháp", "Văn phòng Ủy ban nhân dân tỉnh"],
        ),
        "receipt": ReceiptContext(
            **COMMON,
            submitted_at=submitted,
            version=2,
            on_time=True,
            answers=[
                Answer(label="Số tin, bài truyền thông chính sách đã đăng", value="1.245"),
                Answer(label="Khó khăn, vướng mắc và kiến nghị", value="Thiếu kinh phí."),
            ],
            attachments=[
                ReceivedFile(
                    name="bao-cao-truyen-thong-2026.pdf",
                    size=482_113,
                    sha256="3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
                )
            ],
        ),
        "returned": ReturnedContext(
            **COMMON,
            form_url=FORM_URL,
            version=1,
            operator_comment="Đề nghị bổ sung số liệu quý IV.\nGhi rõ nguồn kinh phí đã sử dụng.",
        ),
        "closed-summary": ClosedSummaryContext(
            **{**COMMON, "addressee": Addressee(name="Sở Văn hóa, Thể thao và Du lịch")},
            closed_on=dt.date(2026, 12, 24),
            on_time=[Submitted(body="Sở Tư pháp", submitted_at=submitted)],
            late=[
                Submitted(
                    body="Sở Nội vụ", submitted_at=dt.datetime(2026, 12, 21, 9, 30, tzinfo=VN)
                )
            ],
            missing=["Sở Tài chính", "Ủy ban nhân dân xã Lâm Bình"],
        ),
        "digest": DigestContext(
            addressee=Addressee(name="Sở Văn hóa, Thể thao và Du lịch"),
            signature=SIGNATURE,
            as_of=dt.date(2026, 12, 21),
            items=[
                DigestItem(
                    body="Sở Ngoại vụ",
                    obligation="Báo cáo kết quả công tác truyền thông chính sách năm 2026",
                    period_label="năm 2026",
                    due_on=dt.date(2027, 1, 5),
                ),
                DigestItem(
                    body="Sở Tài chính",
                    obligation="Báo cáo kết quả công tác truyền thông chính sách năm 2026",
                    period_label="năm 2026",
                    due_on=DUE,
                    days_overdue=2,
                ),
                DigestItem(
                    body="Ủy ban nhân dân xã Lâm Bình",
                    obligation="Danh sách người phát ngôn quý IV năm 2026",
                    period_label="quý IV năm 2026",
                    due_on=dt.date(2026, 12, 10),
                    days_overdue=7,
                    state="trả lại để chỉnh sửa",
                ),
            ],
        ),
    }


@pytest.fixture
def contexts() -> dict[str, object]:
    return sample_contexts()


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def sink(mail_dir: Path):
    with running_sink(mail_dir) as running:
        yield running


class SleepLog(list):
    """Records the back-off delays instead of sleeping, so retry tests stay fast."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


def sender_for(port: int, sleeps: SleepLog | None = None, retries: int = 2) -> Sender:
    settings = SmtpSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5)
    return Sender(
        settings, retries=retries, backoff=0.1, sleep=sleeps if sleeps is not None else SleepLog()
    )


@pytest.fixture
def make_sender(sleeps: SleepLog):
    def make(target: RunningSink | int, retries: int = 2) -> Sender:
        port = target if isinstance(target, int) else target.port
        return sender_for(port, sleeps, retries)

    return make


@pytest.fixture
def make_message(renderer: Renderer, contexts: dict[str, object]):
    """A rendered request email with a fixed Message-ID, addressed under .example."""

    def make(
        n: int,
        to: list[str] | None = None,
        cc: list[str] | None = None,
        kind: str = "request",
        attachments: list[Path] | None = None,
    ) -> OutgoingMessage:
        rendered = renderer.render(kind, contexts[kind])
        return OutgoingMessage(
            message_id=f"<{kind}.{n}.2026@kehoach.tuyenquang.example>",
            to=to or [f"van-thu-{n}@so-tu-phap.tuyenquang.example"],
            cc=cc or [],
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            attachments=attachments,
        )

    return make

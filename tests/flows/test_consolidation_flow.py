"""The year-end consolidation end to end: the annual report's cycle closes, the hand-off starts
the consolidation deployment, the run drafts, is suspended for approval, is returned once and
then approved through the same REST call the Prefect UI makes, emails UBND tỉnh and the ministry
with the report attached and archives it; a late report then yields an amended version."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import select

from tests.flows.conftest import (
    attachments,
    deploy,
    flow_run,
    input_schema,
    mails,
    resume,
    text_of,
    work,
)

pytestmark = pytest.mark.slow
UPSTREAM = "annual-report"
APPROVER = "Trần Thị B, Phó Giám đốc Sở Văn hóa, Thể thao và Du lịch"


def submit(body: str, day: dt.date, so_tin_bai: int, kinh_phi: str, *, late: bool = False):
    from notifications.receipts import find_assignment
    from notifications.receipts import submit as record
    from tasks import runtime

    desk = runtime.desk()
    record(
        desk,
        find_assignment(desk, UPSTREAM, "2026", body),
        {
            "so_tin_bai": so_tin_bai,
            "kinh_phi": kinh_phi,
            "danh_gia": "Hoàn thành",
            "ket_qua_dat_duoc": f"{body}: đăng {so_tin_bai} tin bài về chính sách mới.",
            "ton_tai_han_che": "Cán bộ làm truyền thông còn kiêm nhiệm.",
            "nhiem_vu_de_xuat": "Đề nghị bố trí kinh phí năm 2027.",
        },
        [],
        channel="portal",
        who=body,
        today=day,
        now=dt.datetime.combine(day, dt.time(3, 0), tzinfo=dt.UTC),
        allow_late=late,
    )


def docx_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"{hashlib.sha256(data).hexdigest()[:8]}.docx"
    path.write_bytes(data)
    document = Document(str(path))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def waiting_run(handed: str, executed: list[str]) -> str:
    """The run that waits for approval: the handed-off run itself, or, when the hand-off linked
    it as a subflow (which Prefect cannot suspend), the detached run it continued in."""
    assert executed[0] == handed
    state = flow_run(handed)["state"]["type"]
    if state == "PAUSED":
        return handed
    assert state == "COMPLETED" and len(executed) == 2, (state, executed)
    return executed[1]


def state_of(run_id: str) -> str:
    return flow_run(run_id)["state"]["type"]


def pauses(run_id: str) -> int:
    return len(flow_run(run_id)["empirical_policy"].get("pause_keys") or [])


def by_subject(mail_dir, prefix: str) -> list:
    return [m for m in mails(mail_dir) if str(m["Subject"]).startswith(prefix)]


APPROVAL = {
    "quyet_dinh": "Phê duyệt, gửi báo cáo",
    "y_kien": "",
    "so_van_ban": "125",
    "ngay_ky": "2026-12-22",
    "nguoi_ky": "Trần Thị B",
    "ky_thay": True,
    "nguoi_duyet": APPROVER,
}


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_handoff_wait_approve_send_then_amend(flows_env, tmp_path) -> None:
    from engine.ledger.models import ArchivedFile, Assignment, Cycle, Event
    from flows.collect import collect
    from flows.consolidation import consolidation
    from tasks import runtime

    sink = flows_env
    collect(obligation=UPSTREAM, as_of=dt.date(2026, 12, 2))
    submit("so-tu-phap", dt.date(2026, 12, 10), 12, "1500000")
    submit("so-noi-vu", dt.date(2026, 12, 15), 30, "2500000,5")

    deployment = deploy(consolidation, "annual-consolidation")
    # 21/12: the cycle (due 16/12, grace 2 working days) closes and is handed off.
    handed = collect(obligation=UPSTREAM, as_of=dt.date(2026, 12, 21))["handed_off"]
    assert len(handed) == 1
    run_id = waiting_run(handed[0], work(consolidation, deployment))
    run = flow_run(run_id)
    assert state_of(run_id) == "PAUSED" and pauses(run_id) == 1
    assert run["state"]["message"].startswith("Chờ "), run["state"]
    assert "phê duyệt dự thảo lần 1" in run["state"]["message"]
    assert run["deployment_id"] == deployment
    assert run["parameters"] == {
        "obligation": "annual-consolidation",
        "period": "2026",
        "handoff_version": 0,
    }
    # The UI renders this schema as the approval form: Vietnamese titles.
    schema = input_schema(run_id)
    assert schema["properties"]["quyet_dinh"]["title"] == "Quyết định"
    assert schema["properties"]["nguoi_duyet"]["title"].startswith("Người phê duyệt")
    (draft,) = by_subject(sink.mail_dir, "[Dự thảo]")
    assert draft["To"] == "van-thu@svhttdl.tuyenquang.example"
    files = attachments(draft)
    assert set(files) == {
        "bao-cao-tong-hop-2026-v1-du-thao.docx",
        "bao-cao-tong-hop-2026-v1-du-thao.xlsx",
    }
    text = docx_text(files["bao-cao-tong-hop-2026-v1-du-thao.docx"], tmp_path)
    assert "DỰ THẢO" in text and "Số: …/BC-SVHTTDL" in text
    assert "Sở Y tế tỉnh Tuyên Quang" in text  # named among those that did not report
    # Nothing was sent to the recipients while the run waits.
    assert not by_subject(sink.mail_dir, "Báo cáo kết quả")

    # Returned with a comment: the draft is reopened as round 2 and the run waits again.
    returned = {
        **APPROVAL,
        "quyet_dinh": "Trả lại, chỉnh sửa dự thảo",
        "y_kien": "Đề nghị rà soát số liệu kinh phí.",
    }
    resume(run_id, returned)
    assert work(consolidation, deployment) == [run_id]
    assert state_of(run_id) == "PAUSED" and pauses(run_id) == 2
    drafts = by_subject(sink.mail_dir, "[Dự thảo]")
    assert len(drafts) == 2
    assert "Đề nghị rà soát số liệu kinh phí." in text_of(drafts[-1])

    resume(run_id, APPROVAL)
    assert work(consolidation, deployment) == [run_id]
    assert state_of(run_id) == "COMPLETED"

    sent = by_subject(sink.mail_dir, "Báo cáo kết quả công tác truyền thông chính sách")
    assert sorted(m["To"] for m in sent) == [
        "van-thu@bvhttdl.example",
        "van-thu@ubnd.tuyenquang.example",
    ]
    report = attachments(sent[0])
    assert set(report) == {"bao-cao-tong-hop-2026-v1.docx", "bao-cao-tong-hop-2026-v1.xlsx"}
    signed = docx_text(report["bao-cao-tong-hop-2026-v1.docx"], tmp_path)
    assert "Số: 125/BC-SVHTTDL" in signed and "KT. GIÁM ĐỐC" in signed
    assert "Trần Thị B" in signed and "DỰ THẢO" not in signed
    assert "Tuyên Quang, ngày 22 tháng 12 năm 2026" in signed
    # Only two drafts and two reports: replaying the rounds after each resume sent nothing twice.
    assert len(mails(sink.mail_dir)) == len({m["Message-ID"] for m in mails(sink.mail_dir)})

    with runtime.sessions()() as session:
        archived = session.scalars(
            select(ArchivedFile).where(ArchivedFile.kind.like("report-v1-%"))
        ).all()
        assert {a.kind for a in archived} == {"report-v1-docx", "report-v1-xlsx", "report-v1-png"}
        for item in archived:
            assert hashlib.sha256(Path(item.path).read_bytes()).hexdigest() == item.sha256
        docx_row = next(a for a in archived if a.kind == "report-v1-docx")
        assert Path(docx_row.path).read_bytes() == report["bao-cao-tong-hop-2026-v1.docx"]
        notes = session.scalars(select(Event).where(Event.kind == "consolidation-returned")).all()
        assert [e.data["comment"] for e in notes] == ["Đề nghị rà soát số liệu kinh phí."]
        lead = session.execute(
            select(Assignment.state)
            .join(Cycle, Cycle.id == Assignment.cycle_id)
            .where(Cycle.obligation_id == "annual-consolidation", Cycle.period_key == "2026")
        ).scalar_one()
        assert lead == "submitted"

    # A late report after the close re-opens the hand-off: version 2, amended and numbered.
    submit("so-y-te", dt.date(2026, 12, 23), 8, "700000", late=True)
    handed = collect(obligation=UPSTREAM, as_of=dt.date(2026, 12, 23))["handed_off"]
    assert len(handed) == 1
    amended_run = waiting_run(handed[0], work(consolidation, deployment))
    assert amended_run != run_id
    assert flow_run(amended_run)["parameters"]["handoff_version"] == 1
    assert state_of(amended_run) == "PAUSED"
    resume(amended_run, {**APPROVAL, "so_van_ban": "131", "ngay_ky": "2026-12-24"})
    work(consolidation, deployment)
    assert state_of(amended_run) == "COMPLETED"

    amended = [m for m in mails(sink.mail_dir) if "bao-cao-tong-hop-2026-v2.docx" in attachments(m)]
    assert sorted(m["To"] for m in amended) == [
        "van-thu@bvhttdl.example",
        "van-thu@ubnd.tuyenquang.example",
    ]
    assert "bản sửa đổi, bổ sung lần 1" in text_of(amended[0])
    text = docx_text(attachments(amended[0])["bao-cao-tong-hop-2026-v2.docx"], tmp_path)
    assert "(Bản sửa đổi, bổ sung lần 1)" in text and "Số: 131/BC-SVHTTDL" in text
    assert "Đã nhận báo cáo của 3/3 cơ quan" in text
    assert "50" in text  # 12 + 30 + 8 tin bài

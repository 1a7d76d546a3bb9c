"""The operator's page lists what the reply intake could not settle alone: mails waiting for
triage, answers by email that lack required fields, and bodies whose address bounces."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from pathlib import Path

from tests.intake.conftest import dsn, plain_mail, reply
from tests.portal.conftest import OPERATOR

SNV = "van-thu@snv.tuyenquang.example"
STP = "van-thu@stp.tuyenquang.example"


def _letter_to(mail_dir: Path, address: str):
    for path in sorted(mail_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if address in str(message["To"]):
            return message
    raise AssertionError(f"no letter to {address}")


def test_operator_page_shows_triage_incomplete_answers_and_bounces(live_portal) -> None:
    from notifications.intake import IntakeRules, process
    from tasks import runtime

    desk = runtime.desk()
    rules = IntakeRules(secret=desk.links.secret)
    now = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
    mails = [
        plain_mail("ai-do@la.example", "Xin thông tin", "Cho hỏi về kế hoạch."),
        reply(
            _letter_to(live_portal.mail_dir, SNV),
            sender=SNV,
            text="Gửi báo cáo, số liệu sẽ bổ sung sau.",
            to="nop@tuyenquang.example",
        ),
        dsn(_letter_to(live_portal.mail_dir, STP), STP),
    ]
    states = [process(desk, raw, rules, today=now.date(), now=now).state for raw in mails]
    assert states == ["triage", "recorded", "bounce"]

    with live_portal.client() as client:
        page = client.get("/operator", auth=OPERATOR)
    assert page.status_code == 200
    assert "Thư đến chờ phân loại (1)" in page.text and "Xin thông tin" in page.text
    assert "Báo cáo qua thư còn thiếu nội dung (1)" in page.text
    assert "Số tin bài đã đăng" in page.text
    assert "Không gửi được thư tới cơ quan (1)" in page.text and "Sở Tư pháp" in page.text

"""The reply path end to end: a request goes out with a Reply-To token, the agency replies with a
PDF (appended to a real Dovecot), `kehoach intake` records the version, sends the receipt in the
thread, moves the mail out of the inbox, and `status` changes."""

from __future__ import annotations

import hashlib

from tests.intake.conftest import INTAKE_MAILBOX, PDF, reply, with_pdf


def test_request_invites_a_reply_with_a_signed_plus_address(world):
    letter = world.request_to("van-thu@stp.tuyenquang.example")
    reply_to = str(letter["Reply-To"])
    local, domain = reply_to.split("@")
    assert domain == INTAKE_MAILBOX.split("@")[1]
    assert local.startswith("nop+kh")
    text = letter.get_body(("plain",)).get_content()
    assert "trả lời thư này" in text
    assert local.split("+")[1] in text  # the reference survives a client that drops headers
    assert "Vui lòng không trả lời trực tiếp" not in text


def test_reply_with_pdf_is_recorded_with_a_threaded_receipt(world):
    letter = world.request_to("van-thu@stp.tuyenquang.example")
    raw = reply(
        letter,
        sender="van-thu@stp.tuyenquang.example",
        text="Kính gửi Sở.\nSố tin bài đã đăng: 12\nKết quả đạt được: Hoàn thành kế hoạch quý.",
        files=with_pdf(),
    )
    world.append(raw)
    assert world.status()["so-tu-phap"] == ("open", 0)

    output = world.intake()

    assert "1 ghi nhận báo cáo" in output
    assert world.status()["so-tu-phap"] == ("submitted", 1)
    # The mail left the inbox, for the processed folder, only after the ledger had it.
    assert world.folder("INBOX") == []
    reply_id = next(e.message_id for e in world.inbox())
    assert world.folder("kehoach-da-xu-ly") == [reply_id]
    [entry] = world.inbox()
    assert entry.state == "recorded" and entry.missing_fields == []
    assert entry.reply_text.startswith("Kính gửi Sở.")
    assert "đã viết" not in entry.reply_text and ">" not in entry.reply_text
    # The version: channel email, fields read from the reply, the PDF stored by checksum.
    from engine.ledger.results import submission_history
    from tasks import runtime

    with runtime.sessions()() as session:
        [version] = submission_history(session, entry.assignment_id)
    assert version.channel == "email"
    assert version.fields["so_tin_bai"] == 12
    assert [(a.file_name, a.sha256) for a in version.attachments] == [
        ("bao-cao-quy-1.pdf", hashlib.sha256(PDF).hexdigest())
    ]
    # The receipt answers in the agency's thread.
    [receipt] = world.receipts()
    assert receipt["In-Reply-To"] == reply_id
    assert reply_id in receipt["References"]
    assert "van-thu@stp.tuyenquang.example" in str(receipt["To"])
    assert "lần gửi thứ 1" in receipt.get_body(("plain",)).get_content()


def test_reply_without_a_required_field_is_recorded_as_incomplete(world):
    letter = world.request_to("van-thu@snv.tuyenquang.example")
    raw = reply(
        letter,
        sender="van-thu@snv.tuyenquang.example",
        text="Gửi báo cáo quý I theo tệp đính kèm.",
        files=with_pdf(),
        client="outlook",
    )
    world.append(raw)
    world.intake()

    assert world.status()["so-noi-vu"] == ("submitted", 1)
    [entry] = world.inbox()
    assert entry.missing_fields == ["Số tin bài đã đăng"]
    assert "thiếu" in entry.reason
    assert entry.reply_text == "Gửi báo cáo quý I theo tệp đính kèm."
    [receipt] = world.receipts()
    body = receipt.get_body(("plain",)).get_content()
    assert "chưa có các nội dung bắt buộc sau: Số tin bài đã đăng" in body
    assert "https://baocao.tuyenquang.example/s/" in body
    listed = world.cli("inbox", "--all", "--format", "json")
    assert '"missing_fields": [\n   "Số tin bài đã đăng"' in listed.output

"""Reading replies without a server: quote stripping on Vietnamese Gmail and Outlook headers,
reply tokens, fields written as 'Label: value' lines, delivery reports and robots."""

from __future__ import annotations

import pytest

from engine.definitions.models import Form
from engine.replies import AUTO_REPLY, BOUNCE, fields_from_text, own_text, parse
from engine.tokens import TokenError, find_reply_tokens, reply_address, sign_reply, verify_reply

FORM = Form.model_validate(
    {
        "fields": [
            {"id": "so_tin_bai", "label": "Số tin bài đã đăng", "type": "integer"},
            {"id": "ket_qua", "label": "Kết quả đạt được", "type": "long-text"},
        ]
    }
)


@pytest.mark.parametrize(
    "quoted",
    [
        # Gmail in Vietnamese, the header wrapped over two lines as Gmail does past 76 chars.
        "Vào Th 3, 24 thg 3, 2026 lúc 08:30 Hệ thống theo dõi kế hoạch <\n"
        "kehoach@tuyenquang.example> đã viết:\n\n> Kính gửi: Sở Tư pháp\n> Đề nghị …\n",
        # Outlook in Vietnamese.
        "________________________________\nTừ: Hệ thống theo dõi kế hoạch "
        "<kehoach@tuyenquang.example>\nĐã gửi: Thứ Ba, 24 tháng 3, 2026 8:30 SA\n"
        "Đến: van-thu@stp.tuyenquang.example\nChủ đề: Đề nghị báo cáo\n\nKính gửi: Sở Tư pháp\n",
        # Thunderbird in Vietnamese.
        "Vào 23/03/2026 08:30, Hệ thống theo dõi kế hoạch đã viết:\n> Kính gửi: Sở Tư pháp\n",
    ],
)
def test_quoted_letter_is_removed_from_the_reply(quoted: str) -> None:
    text = "Kính gửi Sở.\nSố tin bài đã đăng: 12\n\nTrân trọng,\nVăn thư\n\n" + quoted
    assert own_text(text) == "Kính gửi Sở.\nSố tin bài đã đăng: 12\n\nTrân trọng,\nVăn thư"


def test_reply_token_survives_lower_casing_and_refuses_tampering() -> None:
    token = sign_reply(42, "khoa")
    assert verify_reply(token.upper(), "khoa") == 42
    with pytest.raises(TokenError):
        verify_reply(token, "khoa-khac")
    with pytest.raises(TokenError):
        verify_reply(token.replace("kh42", "kh43"), "khoa")
    address = reply_address("nop@tuyenquang.example", 42, "khoa")
    assert address == f"nop+{token}@tuyenquang.example"
    assert find_reply_tokens(f"Re: Báo cáo [{token.upper()}]") == [token]


def test_fields_are_read_from_label_lines_and_ids() -> None:
    text = "Số tin bài đã đăng: 12\n- ket_qua: Hoàn thành\nGhi chú: không phải trường"
    assert fields_from_text(FORM, text) == {"so_tin_bai": "12", "ket_qua": "Hoàn thành"}


def test_robots_and_reports_are_told_apart_from_answers() -> None:
    auto = (
        b"From: a@b.example\r\nSubject: =?utf-8?q?Tr=E1=BA=A3_l=E1=BB=9Di_t=E1=BB=B1_"
        b"=C4=91=E1=BB=99ng?=\r\nMessage-ID: <1@b.example>\r\n\r\nOut\r\n"
    )
    assert parse(auto).kind == AUTO_REPLY
    report = (
        b"From: MAILER-DAEMON@mx.example\r\nMessage-ID: <2@mx.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
    mail = parse(report)
    assert mail.kind == BOUNCE and mail.bounce.failed == ["x@y.example"]
    nameless = parse(b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n")
    assert nameless.message_id.startswith("<") and nameless.message_id.endswith("@khong-co-id>")

"""engine.mime_parts builds the very tree the standard parser builds: same headers, payloads,
preamble, epilogue and defects, for the usual shapes and for the odd ones it hands over."""

from __future__ import annotations

import email
from email.message import EmailMessage, Message

import pytest

from engine.mime_parts import message_from
from tests.intake.conftest import PDF, dsn


def _tree(message: Message) -> list[tuple]:
    return [
        (
            part.get_content_type(),
            part.items(),
            None if part.is_multipart() else part.get_payload(),
            None if part.is_multipart() else part.get_payload(decode=True),
            part.preamble,
            part.epilogue,
            [type(d).__name__ for d in part.defects],
        )
        for part in message.walk()
    ]


def _reply_with_files(alternative: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Văn thư <van-thu@stp.tuyenquang.example>"
    message["To"] = "nop@tuyenquang.example"
    message["Subject"] = "Re: [Đề nghị] Báo cáo quý"
    message["Message-ID"] = "<a1@stp.tuyenquang.example>"
    message.set_content("Số tin bài đã đăng: 12\nKết quả đạt được: Hoàn thành.\n")
    if alternative:
        message.add_alternative("<p>Số tin bài đã đăng: 12</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="bao-cao.pdf")
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="so-lieu.csv")
    return message


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


MULTIPART = (
    b"From: a@b.example\r\nMessage-ID: <m@b.example>\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
)
CASES = {
    "reply with files, CRLF": _crlf(_reply_with_files().as_bytes()),
    "reply with files, LF": _reply_with_files().as_bytes().replace(b"\r\n", b"\n"),
    "alternative inside mixed": _crlf(_reply_with_files(alternative=True).as_bytes()),
    "plain text": b"From: a@b.example\r\nSubject: x\r\n\r\nS\xe1\xbb\x91 li\xe1\xbb\x87u\r\n",
    "8bit body": MULTIPART
    + b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    b"\r\nS\xe1\xbb\x91 tin b\xc3\xa0i: 3\r\n--XX--\r\n",
    "preamble, repeated boundary, epilogue": MULTIPART
    + b"This is a multi-part message.\r\n--XX\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
    b"one\r\n\r\n--XX \r\nContent-Type: text/plain\r\n\r\ntwo\r\n--XX--\r\nthe end\r\n",
    "closing line at the very end": MULTIPART
    + b"--XX\r\nContent-Type: text/plain\r\n\r\nonly\r\n--XX--",
    "nested epilogue": MULTIPART
    + b'--XX\r\nContent-Type: multipart/alternative; boundary="YY"\r\n\r\n'
    b"--YY\r\nContent-Type: text/plain\r\n\r\nhi\r\n--YY--\r\nafter\r\n"
    b"--XX\r\nContent-Type: text/plain\r\n\r\nbye\r\n--XX--\r\n",
    "boundary lookalikes": MULTIPART
    + b"--XX\r\nContent-Type: text/plain\r\n\r\n--XXY\r\n --XX\r\n--XX-- more\r\n--XX---\r\n"
    b"--XX\t\r\nContent-Type: text/plain\r\n\r\nb\r\n--XX--\t \r\n",
    # Shapes handed to the standard parser.
    "no closing boundary": MULTIPART + b"--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
    "no start boundary": MULTIPART + b"just text\r\n",
    "bare CR line ends": b"From: a@b.example\rSubject: x\r\rbody\r",
    "header line without colon": b"From: a@b.example\r\nnot a header\r\nmore\r\n",
    "no body at all": b"From: a@b.example\r\nSubject: x\r\n",
    "empty part": MULTIPART + b"--XX\r\nContent-Type: text/plain\r\n\r\n\r\n--XX--\r\n",
    "part without headers": MULTIPART + b"--XX\r\n\r\nbare\r\n--XX--\r\n",
    "base64 multipart": MULTIPART.replace(
        b"\r\n\r\n", b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    + b"--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XX--\r\n",
    "delivery report": dsn(_reply_with_files(), "van-thu@stp.tuyenquang.example"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_same_tree_as_the_standard_parser(name: str) -> None:
    raw = CASES[name]
    assert _tree(message_from(raw)) == _tree(email.message_from_bytes(raw))


def test_the_pdf_comes_back_byte_for_byte() -> None:
    raw = _crlf(_reply_with_files().as_bytes())
    files = [p.get_payload(decode=True) for p in message_from(raw).walk() if p.get_filename()]
    assert files[0] == PDF
    assert len(files) == 2 and files[1].replace(b"\r\n", b"\n") == b"a,b\n1,2\n"

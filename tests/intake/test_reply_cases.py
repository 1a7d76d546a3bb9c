"""What a reply can be, and what each leaves in the ledger: token-only replies, forged senders,
closed cycles, refused files, delivery reports, out-of-office robots, unrelated mail."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import func, select

from tests.intake.conftest import dsn, plain_mail, reply, tick, with_pdf

STP = "van-thu@stp.tuyenquang.example"
SNV = "van-thu@snv.tuyenquang.example"
SON_DUONG = "van-thu@sonduong.tuyenquang.example"


def _outbox_count(kind: str | None = None) -> int:
    from engine.ledger.models import OutboxMessage
    from tasks import runtime

    query = select(func.count()).select_from(OutboxMessage)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    with runtime.sessions()() as session:
        return session.scalar(query)


def test_reply_whose_client_dropped_the_thread_headers_matches_by_token(world):
    letter = world.request_to(STP)
    raw = reply(
        letter,
        sender=STP,
        text="Số tin bài đã đăng: 4",
        files=with_pdf(),
        client="thunderbird",
        keep_threading=False,
    )
    world.append(raw)
    world.intake()
    assert world.status()["so-tu-phap"] == ("submitted", 1)
    [entry] = world.inbox()
    assert entry.state == "recorded" and entry.reply_text == "Số tin bài đã đăng: 4"


def test_token_quoted_in_the_letter_is_enough_when_the_address_lost_it(world):
    letter = world.request_to(SNV)
    # A client that neither threads nor keeps the plus-address: only the quoted letter remains.
    raw = reply(
        letter,
        sender=SNV,
        text="Số tin bài đã đăng: 7",
        keep_threading=False,
        to="nop@tuyenquang.example",
        subject="Báo cáo quý I",
    )
    world.append(raw)
    world.intake()
    assert world.status()["so-noi-vu"] == ("submitted", 1)


def test_forged_sender_goes_to_triage_and_records_nothing(world):
    letter = world.request_to(STP)
    world.append(reply(letter, sender="ke-mao-danh@evil.example", text="Số tin bài đã đăng: 99"))
    output = world.intake()
    assert world.status()["so-tu-phap"] == ("open", 0)
    [entry] = world.inbox()
    assert entry.state == "triage"
    assert "ke-mao-danh@evil.example không phải hộp thư đã khai báo của Sở Tư pháp" in entry.reason
    assert entry.reason in output
    assert world.folder("kehoach-can-phan-loai") == [entry.message_id]
    assert _outbox_count("receipt") == 0


def test_tampered_token_goes_to_triage(world):
    letter = world.request_to(STP)
    good = str(letter["Reply-To"])
    local, domain = good.split("@")
    # Same assignment number, one hex digit of the signature changed.
    forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"
    raw = reply(letter, sender=STP, text="x", keep_threading=False, to=forged, subject="Báo cáo")
    world.append(raw)
    world.intake()
    [entry] = world.inbox()
    assert entry.state == "triage" and "sai chữ ký" in entry.reason
    assert world.status()["so-tu-phap"] == ("open", 0)


def test_reply_after_the_close_is_late_and_reopens_the_hand_off(world):
    from engine.ledger.models import Cycle, Event
    from tasks import runtime

    letter = world.request_to(SON_DUONG)
    tick("2026-04-30")  # past due and grace: the cycle closes, the body is closed-missing
    assert world.status()["ubnd-son-duong"] == ("closed-missing", 0)
    world.append(reply(letter, sender=SON_DUONG, text="Số tin bài đã đăng: 3", files=with_pdf()))
    world.intake("2026-05-04")
    assert world.status()["ubnd-son-duong"] == ("submitted", 1)
    with runtime.sessions()() as session:
        cycle = session.scalar(select(Cycle))
        reopened = session.scalars(select(Event).where(Event.kind == "handoff-reopened")).all()
        late = session.scalars(select(Event).where(Event.kind == "submission-recorded")).one()
    assert cycle.state == "closed" and cycle.handoff_version == 1 and len(reopened) == 1
    assert late.data["late"] is True and late.data["channel"] == "email"
    [receipt] = world.receipts()
    assert "sau thời hạn" in receipt.get_body(("plain",)).get_content()


def test_executable_renamed_pdf_is_refused_into_triage(world):
    letter = world.request_to(STP)
    exe = b"MZ\x90\x00\x03" + b"\x00" * 4000 + b"This program cannot be run in DOS mode"
    world.append(
        reply(
            letter,
            sender=STP,
            text="Số tin bài đã đăng: 5",
            files=[("bao-cao.pdf", exe, "application/pdf")],
        )
    )
    world.intake()
    [entry] = world.inbox()
    assert entry.state == "triage"
    assert "bao-cao.pdf" in entry.reason and "không phải loại được chấp nhận" in entry.reason
    assert world.status()["so-tu-phap"] == ("open", 0)
    assert _outbox_count("receipt") == 0


def test_archive_bomb_is_refused_without_being_inflated(world):
    # 200 MB of zeros in a 200 KB archive, inside an archive, named like a Word document.
    inner = io.BytesIO()
    with (
        zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as entry,
    ):
        for _ in range(200):
            entry.write(b"\0" * (1024 * 1024))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for n in range(10):
            archive.writestr(f"bomb-{n}.zip", inner.getvalue())
    bomb = outer.getvalue()
    assert len(bomb) < 3 * 1024 * 1024
    letter = world.request_to(SNV)
    world.append(
        reply(
            letter,
            sender=SNV,
            text="Số tin bài đã đăng: 5",
            files=[("bao-cao.docx", bomb, "application/octet-stream")],
        )
    )
    world.intake()
    [entry] = world.inbox()
    assert entry.state == "triage" and "bao-cao.docx" in entry.reason
    assert world.status()["so-noi-vu"] == ("open", 0)


def test_delivery_report_marks_the_address_and_stops_the_chase(world):
    letter = world.request_to(STP)
    world.append(dsn(letter, STP))
    output = world.intake()
    [entry] = world.inbox()
    assert entry.state == "bounce"
    assert "Sở Tư pháp" in entry.reason and STP in entry.reason
    assert "Sở Tư pháp" in output
    from engine.ledger.addresses import failing_addresses
    from tasks import runtime

    with runtime.sessions()() as session:
        [failing] = failing_addresses(session)
    assert (failing.body_id, failing.address, failing.source) == ("so-tu-phap", STP, "dsn")
    from notifications.operators import alerts_sent

    # The operators are told once, and a second report of the same bounce tells nobody again.
    world.append(dsn(letter, STP))
    world.intake()
    with runtime.sessions()() as session:
        told = alerts_sent(session, "bounce")
    assert len(told) == 1 and STP in told[0]["subject"]
    before = len(world.letters())
    tick("2026-03-16")  # the reminder rung: the others are chased, the dead address is not
    new = world.letters()[before:]
    assert new, "the reminder rung sent nothing at all"
    assert all(STP not in str(m["To"]) + str(m.get("Cc", "")) for m in new)
    assert any(SNV in str(m["To"]) for m in new)
    assert world.status()["so-tu-phap"] == ("open", 0)
    assert _outbox_count("receipt") == 0


def test_out_of_office_is_logged_never_answered_never_counted(world):
    world.append(
        plain_mail(
            STP,
            "Trả lời tự động: Đề nghị báo cáo",
            "Tôi đang đi công tác đến hết ngày 30/3.",
            Auto_Submitted="auto-replied",
            X_Autoreply="yes",
        )
    )
    world.append(
        plain_mail(SNV, "Vắng mặt", "Tôi nghỉ phép.", Precedence="auto_reply"),
    )
    sent_before = _outbox_count()
    world.intake()
    assert {e.state for e in world.inbox()} == {"auto-reply"}
    assert _outbox_count() == sent_before
    assert world.status()["so-tu-phap"] == ("open", 0)
    assert world.folder("INBOX") == []


def test_unrelated_mail_waits_in_triage_until_an_operator_assigns_it(world):
    world.append(
        plain_mail(
            SON_DUONG,
            "Báo cáo truyền thông quý I",
            "Kính gửi Sở, huyện gửi báo cáo.\nSố tin bài đã đăng: 21",
        )
    )
    world.append(plain_mail("quang-cao@spam.example", "Khuyến mãi", "Mua ngay"))
    world.intake()
    listed = world.cli("inbox")
    assert listed.exit_code == 0 and "Báo cáo truyền thông quý I" in listed.output
    assert "chờ phân loại" in listed.output
    entries = {e.from_addr: e for e in world.inbox()}
    report, spam = entries[SON_DUONG], entries["quang-cao@spam.example"]
    assert world.status()["ubnd-son-duong"] == ("open", 0)

    wrong = world.cli(
        "inbox",
        "assign",
        str(report.id),
        "quarterly-report",
        "2026-Q9",
        "x",
        "--who",
        "Nguyễn Thị B",
    )
    assert wrong.exit_code == 1 and "Traceback" not in wrong.output

    done = world.cli(
        "inbox",
        "assign",
        str(report.id),
        "quarterly-report",
        "2026-Q1",
        "ubnd-son-duong",
        "--who",
        "Nguyễn Thị B",
        "--as-of",
        "2026-03-24",
    )
    assert done.exit_code == 0, done.output
    assert world.status()["ubnd-son-duong"] == ("submitted", 1)
    again = world.cli(
        "inbox",
        "assign",
        str(report.id),
        "quarterly-report",
        "2026-Q1",
        "ubnd-son-duong",
        "--who",
        "Nguyễn Thị B",
    )
    assert again.exit_code == 1 and "không còn chờ phân loại" in again.output
    dismissed = world.cli(
        "inbox", "dismiss", str(spam.id), "--reason", "Thư quảng cáo", "--who", "Nguyễn Thị B"
    )
    assert dismissed.exit_code == 0, dismissed.output
    entries = {e.from_addr: e for e in world.inbox()}
    assert entries[SON_DUONG].state == "assigned"
    assert entries[SON_DUONG].handled_by == "Nguyễn Thị B"
    assert entries["quang-cao@spam.example"].state == "dismissed"
    assert entries["quang-cao@spam.example"].reason == "Thư quảng cáo"
    assert len(world.receipts()) == 1
    assert world.cli("inbox").output.strip() == "Không có thư chờ phân loại."


def test_the_same_mail_appended_twice_is_one_version_and_one_receipt(world):
    letter = world.request_to(STP)
    raw = reply(letter, sender=STP, text="Số tin bài đã đăng: 8", files=with_pdf())
    world.append(raw)
    world.append(raw)
    world.intake()
    world.append(raw)  # delivered again later
    world.intake()
    assert world.status()["so-tu-phap"] == ("submitted", 1)
    assert len(world.inbox()) == 1
    assert len(world.receipts()) == 1
    assert world.folder("INBOX") == []
    assert len(world.folder("kehoach-da-xu-ly")) == 3

"""Every letter of the simulated 2026, read as an agency reads it: the lint over all of them,
the golden example of each kind, and the revision request (which a simulation never sends)."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter

import pytest

from notifications.compose import obligation_ref, signature
from notifications.contexts import Addressee, ReturnedContext, Signature
from notifications.render import Renderer
from tests.simulate.letters import GOLDEN, GOLDEN_CHOICES, Letter, golden_examples, letters_of, lint

UPDATE = os.environ.get("KEHOACH_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def letters(year_2026) -> list[Letter]:
    return letters_of(year_2026.run)


def test_every_letter_of_the_year_reads_right(year_2026, letters) -> None:
    defs = year_2026.run.defs
    problems = {}
    for letter in letters:
        found = lint(letter, defs)
        if found:
            problems[f"{letter.day} {letter.kind} {letter.obligation_id} {letter.to}"] = found
    assert not problems, "\n".join(f"{k}: {v}" for k, v in list(problems.items())[:20])
    # The lint saw every kind the year sends, not an empty list.
    kinds = Counter(letter.kind for letter in letters)
    assert {"request", "reminder", "due-today", "overdue", "escalation"} <= set(kinds)
    assert {"receipt", "closed-summary", "digest"} <= set(kinds)


def test_the_lint_catches_what_it_is_for(year_2026, letters) -> None:
    """Each rule fails on a letter broken the way the old templates broke it."""
    defs = year_2026.run.defs
    sample = next(x for x in letters if x.kind == "escalation")
    day = sample.day
    broken = {
        "Kính gửi: Thủ trưởng Thủ trưởng Sở Tư pháp": "twice in a row",
        "Báo cáo kết quả công tác truyền thông chính sách hằng năm năm 2026": "twice in a row",
        "Thực hiện Kế hoạch số /KH-UBND của Ủy ban nhân dân tỉnh": "empty citation",
        "Đồng gửi: van-thu@so-tu-phap.tuyenquang.example": "mailboxes",
        "Hạn: {{ due_on }}": "leftover",
        f"hôm nay, Thứ Bảy, ngày {(day - dt.timedelta(2)).day} tháng {day.month} năm "
        f"{day.year}, là ngày cuối cùng": "hôm nay",
    }
    for line, expected in broken.items():
        letter = Letter(day, "x", None, (), "Tiêu đề", f"Kính gửi: X\n\n{line}\n")
        assert any(expected in p for p in lint(letter, defs)), line
    issuer = defs.bodies[defs.plan.issuer].name
    signed = Letter(day, "x", None, (), "Tiêu đề", f"Nội dung.\n\nTrân trọng./.\n\n{issuer}\n")
    assert lint(signed, defs)
    assert lint(sample, defs) == []


def _returned_example(defs) -> Letter:
    """The revision request as notifications.revisions builds it, for a fixed assignment."""
    obligation = defs.obligations["annual-results-report"]
    today = dt.date(2026, 12, 14)
    context = ReturnedContext(
        addressee=Addressee(defs.bodies["so-y-te"].name),
        obligation=obligation_ref(defs, obligation, today, "năm 2026"),
        period_label="năm 2026",
        due_on=dt.date(2026, 12, 16),
        signature=signature(defs, obligation, today),
        form_url="http://127.0.0.1:8080/s/golden",
        version=1,
        operator_comment="Đề nghị bổ sung số liệu kinh phí đã sử dụng trong năm.",
    )
    rendered = Renderer().render("returned", context)
    return Letter(today, "returned", obligation.id, (), rendered.subject, rendered.text)


def _document_letters(defs) -> dict[str, Letter]:
    """The letters of the briefing and consolidation flows (the simulation sends none of them),
    with the contexts those flows build, for the shipped plan's bodies."""
    from reports.letters import renderer

    office = defs.bodies["van-phong-ubnd-tinh"]
    lead = defs.bodies["so-vhttdl"]
    question = {
        "text": "Tiến độ giải phóng mặt bằng dự án đường cao tốc?",
        "asked_by": "Báo Tuyên Quang",
        "body_name": defs.bodies["so-xay-dung"].name,
        "due_on": dt.date(2026, 11, 30),
    }
    item = {
        "title": "Kết quả chuyển đổi số năm 2026",
        "body_name": lead.name,
        "presenter": "Phó Giám đốc Sở",
        "sections": [("Thông tin, kết quả nổi bật", "Đã đưa 95% thủ tục lên môi trường số.")],
    }
    contexts = {
        "press-invitation": {
            "addressee": Addressee(lead.name),
            "signature": Signature(office.name, office.mailboxes.to[0]),
            "title": "Hội nghị giao ban báo chí tháng 11 năm 2026",
            "briefing_on": dt.date(2026, 11, 24),
            "agenda": [("Khai mạc, giới thiệu thành phần", "Lãnh đạo chủ trì")],
            "items": [item],
            "files": ["giao-ban-bao-chi-2026-11.docx"],
        },
        "press-followup": {
            "addressee": Addressee(defs.bodies["so-xay-dung"].name),
            "signature": Signature(office.name),
            "title": "Hội nghị giao ban báo chí tháng 11 năm 2026",
            "held_on": dt.date(2026, 11, 24),
            "questions": [question],
            "coordinator": False,
            "due_on": dt.date(2026, 11, 30),
            "form_url": "http://127.0.0.1:8080/s/golden",
        },
        "report-draft": {
            "addressee": Addressee(lead.name),
            "signature": Signature("Hệ thống theo dõi kế hoạch"),
            "title": "Báo cáo kết quả công tác truyền thông chính sách năm 2026",
            "round": 1,
            "comment": "",
            "reported": 40,
            "expected": 42,
            "missing": [defs.bodies["so-tu-phap"].name],
            "files": ["bao-cao-2026.docx", "so-lieu-2026.xlsx"],
            "review_url": "http://127.0.0.1:4200/runs/golden",
            "send_to": [defs.bodies["ubnd-tinh"].name],
        },
        "report-sent": {
            "addressee": Addressee(defs.bodies["ubnd-tinh"].name),
            "signature": Signature(lead.name, lead.mailboxes.to[0]),
            "title": "Báo cáo kết quả công tác truyền thông chính sách năm 2026",
            "number": "215/BC-SVHTTDL",
            "signed_on": dt.date(2026, 12, 28),
            "version": 1,
            "reported": 40,
            "expected": 42,
            "files": ["bao-cao-2026.docx", "so-lieu-2026.xlsx"],
        },
    }
    found = {}
    for kind, context in contexts.items():
        rendered = renderer().render(kind, context)
        found[kind] = Letter(dt.date(2026, 11, 24), kind, None, (), rendered.subject, rendered.text)
    return found


def test_golden_letters(year_2026, letters) -> None:
    """One letter of each kind, compared word for word with tests/golden/letters/."""
    examples = golden_examples(letters)
    examples["returned"] = _returned_example(year_2026.run.defs)
    documents = _document_letters(year_2026.run.defs)
    assert set(examples) == {name for name, _, _ in GOLDEN_CHOICES} | {"returned"}
    examples.update(documents)
    for name, letter in examples.items():
        assert lint(letter, year_2026.run.defs) == [], name
    changed = []
    for name, letter in sorted(examples.items()):
        path = GOLDEN / f"{name}.txt"
        text = letter.golden_text()
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(name)
    stale = {p.stem for p in GOLDEN.glob("*.txt")} - set(examples)
    if UPDATE:
        for name in stale:
            (GOLDEN / f"{name}.txt").unlink()
        return
    assert not stale, f"golden letters nobody renders any more: {sorted(stale)}"
    assert not changed, (
        f"letters differ from tests/golden/letters/: {changed}; if the change is intended, "
        "run `make golden` and review the diff"
    )

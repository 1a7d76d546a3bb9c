"""What `validate` says about how letters will read: names that repeat their period, letters
that would be signed as the issuing authority, an authority that contradicts the issuer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.definitions.loader import load_definitions

ARR = "obligations/annual-results-report.yaml"
CONSOLIDATED = "obligations/consolidated-report.yaml"


def problems(directory: Path) -> list[str]:
    return [str(p) for p in load_definitions(directory).problems]


def test_a_name_that_repeats_its_period_is_refused_at_its_line(
    definitions_copy: Path, edit: Callable
) -> None:
    edit(
        definitions_copy / ARR,
        "      name: Báo cáo kết quả thực hiện Kế hoạch\n",
        "      name: Báo cáo kết quả thực hiện Kế hoạch hằng năm\n",
    )
    found = problems(definitions_copy)
    assert len(found) == 1, found
    assert f"{ARR}:" in found[0] and "'năm' lặp lại liền nhau" in found[0]
    assert "hằng năm năm 2026" in found[0]


def test_a_cadence_word_inside_the_name_needs_a_period_mark(
    definitions_copy: Path, edit: Callable
) -> None:
    path = definitions_copy / ARR
    edit(
        path,
        "      name: Báo cáo kết quả thực hiện Kế hoạch\n",
        "      name: Kế hoạch truyền thông năm của sở\n",
    )
    found = problems(definitions_copy)
    assert len(found) == 1 and "có 'năm'" in found[0], found
    # With the mark, the period goes where it belongs and the name is accepted.
    edit(path, "Kế hoạch truyền thông năm của sở", '"Kế hoạch truyền thông {period} của sở"')
    assert problems(definitions_copy) == []


def test_a_period_mark_twice_or_a_stray_brace_is_refused(
    definitions_copy: Path, edit: Callable
) -> None:
    edit(
        definitions_copy / ARR,
        "      name: Báo cáo kết quả thực hiện Kế hoạch\n",
        '      name: "Báo cáo {period} {period}"\n      result: "kết quả {kỳ}"\n',
    )
    found = problems(definitions_copy)
    assert any("'{period}' một lần" in p for p in found), found
    assert any("dấu ngoặc nhọn" in p for p in found), found


def test_a_letter_signed_as_the_issuing_authority_is_refused(
    definitions_copy: Path, edit: Callable
) -> None:
    path = definitions_copy / CONSOLIDATED
    edit(path, "    sender: {role: co-quan-dau-moi, on_behalf_of: {body: ubnd-tinh}}\n", "")
    found = problems(definitions_copy)
    assert len(found) == 1, found
    assert f"{CONSOLIDATED}:8:5:" in found[0]  # the recipient line
    assert "ký với danh nghĩa Ủy ban nhân dân tỉnh Tuyên Quang" in found[0]
    # A plan-wide sender covers it; a sender that is the authority itself does not.
    edit(
        definitions_copy / "plan.yaml",
        "  place: Tuyên Quang\n",
        "  place: Tuyên Quang\n"
        "  sender: {role: co-quan-dau-moi, on_behalf_of: {body: ubnd-tinh}}\n",
    )
    assert problems(definitions_copy) == []
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "    sender: {body: ubnd-tinh}\n", encoding="utf-8")
    found = problems(definitions_copy)
    assert len(found) == 1 and "không ký với danh nghĩa" in found[0], found


def test_unknown_sender_references_are_reported(definitions_copy: Path, edit: Callable) -> None:
    edit(
        definitions_copy / CONSOLIDATED,
        "on_behalf_of: {body: ubnd-tinh}",
        "on_behalf_of: {body: ubnd-tinh-cu}",
    )
    found = problems(definitions_copy)
    assert len(found) == 1 and "cơ quan 'ubnd-tinh-cu' không tồn tại" in found[0], found


def test_the_authority_must_match_the_issuer(definitions_copy: Path, edit: Callable) -> None:
    plan = definitions_copy / "plan.yaml"
    edit(
        plan,
        "  place: Tuyên Quang\n",
        "  place: Tuyên Quang\n  authority: {level: tỉnh, name: Tuyên Quang}\n",
    )
    assert problems(definitions_copy) == []
    edit(plan, "{level: tỉnh, name: Tuyên Quang}", "{level: thành phố, name: Tuyên Quang}")
    found = problems(definitions_copy)
    assert len(found) == 1 and "plan.yaml:" in found[0], found
    assert "'thành phố Tuyên Quang' không khớp" in found[0]
    edit(plan, "{level: thành phố, name: Tuyên Quang}", "{level: huyện, name: Tuyên Quang}")
    assert any("authority" in p or "huyện" in p for p in problems(definitions_copy))


def test_the_shipped_plan_declares_its_letters() -> None:
    repo = Path(__file__).resolve().parents[2]
    defs = load_definitions(repo / "definitions").definitions
    assert defs.plan.authority is not None and defs.plan.authority.level.value == "tỉnh"
    assert defs.plan.sender is not None and defs.plan.sender.on_behalf_of is not None
    briefing = defs.obligations["press-briefing"]
    assert briefing.letter.action == "tổ chức"
    labels = [f.label for o in defs.obligations.values() for f in o.form.fields]
    assert not [label for label in labels if "số ký hiệu" in label]

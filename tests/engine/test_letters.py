"""The plan-dependent phrases of letters, composed from declarations (engine.letters)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import letters
from engine.definitions.letter_models import Sender, Wording
from engine.definitions.loader import load_definitions

REPO = Path(__file__).resolve().parents[2]
ON = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def defs():
    return load_definitions(REPO / "definitions").definitions


def _with_plan(defs, **changes):
    return defs.model_copy(update={"plan": defs.plan.model_copy(update=changes)})


def test_the_citation_reads_without_a_number_or_a_day(defs) -> None:
    # The shipped plan: "Số: /KH-UBND", "ngày tháng 6 năm 2023".
    citation = letters.plan_citation(defs)
    assert citation.startswith(
        "Kế hoạch của Ủy ban nhân dân tỉnh Tuyên Quang (ban hành tháng 6 năm 2023) triển khai"
        " thực hiện Chỉ thị số 07/CT-TTg"
    )
    assert "số /" not in citation and "/KH-UBND" not in citation


def test_the_citation_with_a_number_and_a_signing_day(defs) -> None:
    numbered = _with_plan(defs, number="125/KH-UBND", date="2023-06-15")
    assert letters.plan_citation(numbered).startswith(
        "Kế hoạch số 125/KH-UBND ngày 15 tháng 6 năm 2023 của Ủy ban nhân dân tỉnh Tuyên Quang"
        " triển khai thực hiện"
    )
    number_only = _with_plan(defs, number="125/KH-UBND")
    assert letters.plan_citation(number_only).startswith(
        "Kế hoạch số 125/KH-UBND của Ủy ban nhân dân tỉnh Tuyên Quang triển khai"
    )
    day_only = _with_plan(defs, date="2023-06-15")
    assert letters.plan_citation(day_only).startswith(
        "Kế hoạch ngày 15 tháng 6 năm 2023 của Ủy ban nhân dân tỉnh Tuyên Quang triển khai"
    )


def test_clauses_are_cited_once_by_their_deepest_number(defs) -> None:
    assert letters.clause_citation(defs, ["III.2"]) == "mục III.2"
    assert (
        letters.clause_citation(defs, ["III.2", "III.3", "III.3.1", "II.2"])
        == "các mục III.2, III.3.1 và II.2"
    )


def test_names_take_their_period_where_it_belongs(defs) -> None:
    briefing = letters.naming(defs.obligations["press-briefing"], "tháng 11 năm 2026")
    assert briefing.named == "Hội nghị giao ban báo chí tháng 11 năm 2026"
    assert briefing.task == "tổ chức Hội nghị giao ban báo chí tháng 11 năm 2026"
    assert briefing.result == "kết quả Hội nghị giao ban báo chí tháng 11 năm 2026"
    assert letters.duty(briefing, "UBND", declared_result=True) == (
        "tổ chức Hội nghị giao ban báo chí tháng 11 năm 2026 và gửi kết quả về UBND"
    )
    consolidation = letters.naming(defs.obligations["annual-consolidation"], "năm 2026")
    assert (
        consolidation.named == "Báo cáo tổng hợp kết quả truyền thông chính sách năm 2026 của tỉnh"
    )
    plan = letters.naming(defs.obligations["communication-plan-departments"], "năm 2026")
    assert letters.duty(plan, "Sở X", declared_result=False) == (
        "ban hành Kế hoạch truyền thông chính sách năm 2026 và gửi về Sở X"
    )
    report = letters.naming(defs.obligations["annual-results-report"], "năm 2026")
    assert letters.duty(report, "Sở X", declared_result=False) == (
        "gửi Báo cáo kết quả công tác truyền thông chính sách năm 2026 về Sở X"
    )
    for obligation in defs.obligations.values():
        words = letters.naming(obligation, "năm 2026")
        assert letters.repeated_words(words.task) == [], words.task


def test_repeated_words_and_cadence_words() -> None:
    assert letters.repeated_words("Kính gửi: Thủ trưởng Thủ trưởng Sở") == ["thủ trưởng"]
    assert letters.repeated_words("hằng tháng tháng 11 năm 2026") == ["tháng"]
    # Two compounds sharing a syllable, and a label beside its value, are not doubled words.
    assert letters.repeated_words("Số vấn đề đề nghị; cơ quan quan tâm") == []
    assert letters.repeated_words("Mức độ hoàn thành: Hoàn thành") == []
    assert letters.cadence_words("Kế hoạch năm của sở") == ["năm"]
    assert letters.cadence_words("Báo cáo 6 tháng đầu năm 2026") == []
    assert letters.cadence_words("Kế hoạch {period} của sở") == []


def test_who_signs(defs) -> None:
    # Recipient is the lead department: it signs.
    report = letters.sender_of(defs, defs.obligations["annual-results-report"], ON)
    assert report.role == "lead" and report.on_behalf_of is None
    # Recipient is the People's Committee: the plan's sender writes on its behalf.
    inspection = letters.sender_of(defs, defs.obligations["press-law-inspection"], ON)
    assert inspection == defs.plan.sender
    assert letters.party_body(defs, inspection, ON).id == "van-phong-ubnd-tinh"
    # An obligation's own sender wins.
    briefing = letters.sender_of(defs, defs.obligations["press-briefing"], ON)
    assert briefing.role == "lead" and briefing.on_behalf_of.role == "ubnd-tinh"


def test_the_authority_is_declared_or_read_from_the_issuer(defs) -> None:
    names = letters.authority(defs)
    assert (names.level, names.name, names.body) == (
        "tỉnh",
        "Tuyên Quang",
        "Ủy ban nhân dân tỉnh Tuyên Quang",
    )
    undeclared = _with_plan(defs, authority=None)
    assert letters.authority(undeclared).level == "tỉnh"
    city = letters.derived_authority("Ủy ban nhân dân thành phố Huế", "Huế")
    assert (city.level.value, city.name) == ("thành phố", "Huế")


def test_wording_and_sender_models_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="một lần"):
        Wording(name="Báo cáo {period} {period}")
    with pytest.raises(ValueError, match="đúng một"):
        Sender(role="lead", body="so-tu-phap")
    assert Wording(name="  Báo cáo   năm  ").name == "Báo cáo năm"

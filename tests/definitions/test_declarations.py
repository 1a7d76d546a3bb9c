"""What a plan declares instead of what the engine used to guess, and the warnings over valid
definitions: each wrong declaration is reported at its own key (path:line:col)."""

from __future__ import annotations

import datetime as dt
import shutil
import unicodedata
from pathlib import Path

import pytest

from engine.calendar import LegalCalendar
from engine.definitions.loader import load_definitions
from engine.names import fold, same_name
from engine.periods import period_for_key
from engine.schedule import cycle_dates

SECOND = Path(__file__).parents[1] / "second_plan" / "definitions"


@pytest.fixture
def second(tmp_path: Path) -> Path:
    target = tmp_path / "definitions"
    shutil.copytree(SECOND, target)
    return target


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if fragment in line)


def problems(directory: Path) -> list[str]:
    return [str(p) for p in load_definitions(directory).problems]


def test_unknown_report_recipient_is_reported_at_its_key(second: Path) -> None:
    path = second / "obligations" / "tong-hop-6-thang.yaml"
    replace(path, "{role: bo-quan-ly}", "{role: bo-chu-quan}")
    found = problems(second)
    line = line_of(path, "recipients:")
    assert any(
        p.startswith(f"{path}:{line}:") and "vai trò 'bo-chu-quan' không tồn tại" in p
        for p in found
    ), found


def test_briefing_companion_and_minutes_fields_are_checked(second: Path) -> None:
    path = second / "obligations" / "hop-bao.yaml"
    replace(path, "items: noi-dung-hop-bao", "items: hop-bao-thang-items")
    replace(path, "held_on: ngay_hop", "held_on: ngay_to_chuc")
    found = problems(second)
    assert any(
        f":{line_of(path, 'items: hop-bao-thang-items')}:" in p
        and "nghĩa vụ 'hop-bao-thang-items' không tồn tại" in p
        for p in found
    ), found
    assert any(
        f":{line_of(path, 'minutes:')}:" in p and "không có trường 'ngay_to_chuc'" in p
        for p in found
    ), found


def test_minutes_field_of_the_wrong_type_is_refused(second: Path) -> None:
    path = second / "obligations" / "hop-bao.yaml"
    replace(path, "questions: so_cau_hoi", "questions: ket_luan_hop")
    found = problems(second)
    assert any("trường 'ket_luan_hop'" in p and "cần integer hoặc decimal" in p for p in found)


def test_a_source_the_consolidation_cannot_take_is_refused_at_its_downstream(
    second: Path,
) -> None:
    # A quarterly report cannot feed a "6 tháng và năm" consolidation: its periods end in
    # between.
    path = second / "obligations" / "bao-cao-6-thang.yaml"
    replace(path, "schedule: {every: half-yearly-and-annual}", "schedule: {every: quarterly}")
    found = problems(second)
    line = line_of(path, "obligation: tong-hop-6-thang")
    assert any(
        p.startswith(f"{path}:{line}:") and "kỳ 'quarterly' của 'bao-cao-6-thang' không khớp" in p
        for p in found
    ), found


def test_lettered_and_roman_clause_ids_are_accepted_others_refused(second: Path) -> None:
    assert problems(second) == []
    path = second / "plan.yaml"
    replace(path, "id: II.1.a", "id: II.1.aa")
    found = problems(second)
    assert any(f"{path}:{line_of(path, 'II.1.aa')}:" in p for p in found), found


def test_due_month_written_as_the_calendar_month() -> None:
    defs = load_definitions(SECOND).definitions
    obligation = defs.obligations["danh-sach-phat-ngon"]
    period = period_for_key(obligation.schedule, obligation.window, "2026")
    dates = cycle_dates(obligation, period, LegalCalendar(defs.calendars))
    assert dates.due_on == dt.date(2027, 1, 15)
    assert "tháng 1 năm sau" in dates.due_steps[0]


def test_a_due_month_counted_from_the_last_month_is_a_warning(second: Path) -> None:
    path = second / "obligations" / "hop-bao.yaml"
    replace(
        path,
        "due: {rule: day-of-month, day: 15, in_month: 1, year: next}",
        "due: {rule: day-of-month, day: 15, month: 1}",
    )
    result = load_definitions(second)
    assert result.problems == []
    warnings = [str(w) for w in result.warnings]
    line = line_of(path, "month: 1}")
    assert any(
        w.startswith(f"{path}:{line}:")
        and "cảnh báo: 'month: 1' tính từ tháng cuối của kỳ" in w
        and "15/01/2026" in w
        for w in warnings
    ), warnings


def test_place_spelled_two_ways_is_a_warning_with_both(second: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Sở Tư pháp thành phố Cần Thơ")
    replace(second / "bodies.yaml", "name: Sở Tư pháp thành phố Cần Thơ", f"name: {decomposed}")
    result = load_definitions(second)
    assert result.problems == []
    warnings = [str(w) for w in result.warnings]
    assert any("cảnh báo: tên cơ quan ghi địa danh" in w and "'Cần Thơ'" in w for w in warnings)


def test_names_fold_dashes_spaces_and_unicode_forms() -> None:
    assert same_name("Bà Rịa – Vũng Tàu", "Bà Rịa - Vũng Tàu")
    assert same_name("Bà Rịa-Vũng Tàu", "Bà Rịa  —  Vũng Tàu")
    assert same_name(unicodedata.normalize("NFD", "Tiền Giang"), "Tiền Giang")
    assert not same_name("Bà Rịa - Vũng Tàu", "Bà Rịa Vũng Tàu")
    assert fold(" Hà   Nội ") == "Hà Nội"


def test_header_and_symbol_survive_an_en_dash_in_the_place(second: Path) -> None:
    from reports import issuers

    replace(second / "plan.yaml", "place: Cần Thơ", "place: Bà Rịa - Vũng Tàu")
    replace(
        second / "bodies.yaml",
        "name: Sở Tư pháp thành phố Cần Thơ",
        "name: Sở Tư pháp tỉnh Bà Rịa – Vũng Tàu",
    )
    result = load_definitions(second)
    assert result.problems == []
    assert any(
        "'Bà Rịa – Vũng Tàu'" in str(w) and "'Bà Rịa - Vũng Tàu'" in str(w) for w in result.warnings
    )
    body = result.definitions.bodies["so-tp"]
    assert issuers.symbol(result.definitions, body) == "STP"
    assert issuers.header_names(result.definitions, body)[1] == "SỞ TƯ PHÁP"


def test_item_none_must_be_a_choice_of_the_items_form(second: Path) -> None:
    path = second / "obligations" / "hop-bao.yaml"
    replace(
        path,
        "      item_presenter: nguoi_phat_bieu\n",
        "      item_presenter: nguoi_phat_bieu\n"
        "      item_none: {field: ten_noi_dung, value: Không}\n",
    )
    found = problems(second)
    line = line_of(path, "item_none:")
    assert any(
        f":{line}:" in p and "trường 'ten_noi_dung' của 'noi-dung-hop-bao' có kiểu text" in p
        for p in found
    ), found


def test_a_mailbox_is_not_a_report_recipient(second: Path) -> None:
    path = second / "obligations" / "tong-hop-6-thang.yaml"
    replace(path, "{role: bo-quan-ly}", "{mailbox: head}")
    found = problems(second)
    assert any("nơi nhận báo cáo là 'role' hoặc 'body'" in p for p in found), found


def test_declared_section_files_a_text_under_its_heading() -> None:
    from engine.definitions.models import Completeness
    from reports.consolidate import Consolidation

    source = load_definitions(SECOND).definitions.obligations["bao-cao-6-thang"]
    consolidation = Consolidation(source, None, (), (), (), {}, Completeness(), True)
    outline = {heading: [f.id for f in fields] for heading, fields in consolidation.outline()}
    # gop_y_de_nghi declares `section: proposals` (its id has no known stem); ket_qua_noi_bat
    # goes by its id stem.
    assert outline == {
        "Kết quả đạt được": ["ket_qua_noi_bat"],
        "Tồn tại, hạn chế và nguyên nhân": [],
        "Nhiệm vụ và đề xuất": ["gop_y_de_nghi"],
    }


def test_a_due_date_more_than_a_period_after_its_period_is_a_warning(second: Path) -> None:
    path = second / "obligations" / "bao-cao-6-thang.yaml"
    replace(
        path,
        "due: {rule: after-period-end, offset: {working_days: 5}}",
        "due: {rule: day-of-month, day: 15, in_month: 3, year: next}",
    )
    # Its hand-off now leaves the consolidation no working days: not what this test is about.
    text = path.read_text(encoding="utf-8")
    gap = "completeness: {rule: all, late: amend}"
    path.write_text(text.replace(gap, gap + "\n      min_working_days: 0"), encoding="utf-8")
    result = load_definitions(second)
    assert result.problems == []
    warnings = [str(w) for w in result.warnings]
    assert any(
        "cảnh báo: hạn 15/03/2026 của kỳ 6 tháng đầu năm 2025 muộn hơn một kỳ" in w
        for w in warnings
    ), warnings


def test_report_subject_is_declared_and_checked(second: Path) -> None:
    path = second / "obligations" / "tong-hop-6-thang.yaml"
    subject = "subject: Công tác bảo đảm quyền tiếp cận thông tin {period} trên địa bàn thành phố"
    replace(path, subject, "subject: Kết quả hằng năm về tiếp cận thông tin")
    found = problems(second)
    line = line_of(path, "subject:")
    assert any(p.startswith(f"{path}:{line}:") and "trích yếu có 'hằng năm'" in p for p in found), (
        found
    )
    replace(path, "subject: Kết quả hằng năm về tiếp cận thông tin", "subject: '{period} {period}'")
    found = problems(second)
    assert any(f"{path}:{line}:" in p and "chỉ được ghi '{period}' một lần" in p for p in found)


def test_a_consolidation_without_a_subject_is_a_warning_naming_the_line(second: Path) -> None:
    path = second / "obligations" / "tong-hop-6-thang.yaml"
    subject = "subject: Công tác bảo đảm quyền tiếp cận thông tin {period} trên địa bàn thành phố"
    replace(path, f"      {subject}\n", "")
    result = load_definitions(second)
    assert result.problems == []
    warnings = [str(w) for w in result.warnings]
    assert any(
        w.startswith(f"{path}:{line_of(path, 'report:')}:")
        and "chưa khai báo trích yếu" in w
        and "Báo cáo tổng hợp năm 2026 về tiếp cận thông tin" in w
        for w in warnings
    ), warnings


def test_a_half_yearly_source_cannot_feed_the_year_of_half_year_and_year(second: Path) -> None:
    # Its second half is six months of data: the consolidation's year cycle needs twelve.
    path = second / "obligations" / "bao-cao-6-thang.yaml"
    replace(path, "every: half-yearly-and-annual", "every: half-yearly")
    found = problems(second)
    line = line_of(path, "obligation: tong-hop-6-thang")
    assert any(
        p.startswith(f"{path}:{line}:")
        and "kỳ 'half-yearly' của 'bao-cao-6-thang' không khớp" in p
        and "kỳ thứ hai của lịch 6 tháng và năm là cả năm" in p
        for p in found
    ), found


def test_half_year_and_year_consolidates_its_own_cadence_and_annual_sources() -> None:
    from engine.definitions.declarations import can_consolidate
    from engine.definitions.models import Cadence

    both = Cadence.half_yearly_and_annual
    assert can_consolidate(both, both)
    assert can_consolidate(Cadence.annual, both)
    assert can_consolidate(both, Cadence.half_yearly)  # the year feeds the second half
    assert can_consolidate(both, Cadence.quarterly)
    assert not can_consolidate(Cadence.half_yearly, both)
    assert not can_consolidate(both, Cadence.annual)  # its first half ends mid-year
    assert not can_consolidate(Cadence.quarterly, both)

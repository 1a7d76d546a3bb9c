"""Pure rules of the briefing and the documents: symbols, minutes, the Decree 09/2017 minimum."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.calendar import LegalCalendar
from engine.definitions.loader import load_definitions
from reports.issuers import header_names, number_line, place_date
from reports.minutes import Minutes, Question, follow_ups, quarterly_minimum

REPO = Path(__file__).resolve().parents[2]
DEFS = load_definitions(REPO / "definitions").definitions


def test_symbols_and_header_lines_are_derived_from_the_bodies() -> None:
    def line(body: str) -> str:
        return number_line(DEFS, DEFS.bodies[body], "BC", "7")

    assert line("so-vhttdl") == "Số: 7/BC-SVHTTDL"
    assert line("so-tttt") == "Số: 7/BC-STTTT"
    assert line("so-gddt") == "Số: 7/BC-SGDĐT"
    assert line("van-phong-ubnd-tinh") == "Số: 7/BC-VPUBND"
    assert number_line(DEFS, DEFS.bodies["so-tu-phap"], "KH") == "Số: …/KH-STP"
    assert header_names(DEFS, DEFS.bodies["van-phong-ubnd-tinh"]) == (
        "UBND TỈNH TUYÊN QUANG",
        "VĂN PHÒNG",
    )
    # Decree 30/2020: days 01–09 and months 01–02 with a leading zero.
    assert place_date(DEFS, dt.date(2026, 3, 5)) == "Tuyên Quang, ngày 05 tháng 3 năm 2026"
    assert place_date(DEFS, dt.date(2026, 2, 15)) == "Tuyên Quang, ngày 15 tháng 02 năm 2026"


def test_follow_ups_group_questions_by_body_due_at_the_earliest_working_day() -> None:
    def q(body: str, due: dt.date, answered: bool = False) -> Question:
        return Question("Câu hỏi", "Báo Tuyên Quang", body, body, due, answered)

    minutes = Minutes(
        held_on=dt.date(2026, 3, 23),
        form_of="Trực tiếp",
        chair="Phó Chủ tịch UBND tỉnh",
        attendees=(),
        others="",
        questions=(
            q("so-tu-phap", dt.date(2026, 4, 4)),  # a Saturday: moved to Monday 06/04
            q("so-tu-phap", dt.date(2026, 4, 10)),
            q("so-y-te", dt.date(2026, 3, 30), answered=True),
        ),
        conclusion="",
        recorded_by="",
    )
    (only,) = follow_ups(minutes, LegalCalendar(DEFS.calendars))
    assert (only.body_id, only.due_on, len(only.questions)) == (
        "so-tu-phap",
        dt.date(2026, 4, 6),
        2,
    )


def test_decree_09_2017_minimum_is_checked_quarter_by_quarter() -> None:
    held = [dt.date(2026, 1, 22), dt.date(2026, 2, 24), dt.date(2026, 7, 23)]
    checks = quarterly_minimum(held, 2026, dt.date(2026, 8, 3))
    assert [(c.quarter, c.held, c.status) for c in checks] == [
        (1, 2, "Đạt"),
        (2, 0, "Chưa đạt"),
        (3, 1, "Đạt"),
    ]
    assert quarterly_minimum([], 2026, dt.date(2026, 2, 1))[0].status == "Đang diễn ra"


def test_the_briefing_is_named_as_each_plan_declares_it(tmp_path: Path) -> None:
    """The pack's title (and the follow-up letters', minutes form's) is the briefing's declared
    letter.name with its period: the shipped wording unchanged, the second plan's its own."""
    from engine.bodies import resolve_responsible
    from engine.ledger import make_engine
    from engine.ledger import session_factory as factory
    from engine.ledger.db import upgrade
    from reports.briefing import briefing_setup, collect_pack
    from reports.briefing_pack import pack_title

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgrade(url)
    sessions = factory(make_engine(url))
    second = Path(__file__).parents[1] / "second_plan" / "definitions"
    titles = []
    for directory in (REPO / "definitions", second):
        defs = load_definitions(directory).definitions
        briefing = next(o for o in defs.obligations.values() if o.flow == "press-briefing")
        setup = briefing_setup(defs, briefing.id)
        day = dt.date(2026, 3, 23)
        host = resolve_responsible(defs, briefing, day)[0]
        with sessions() as session:
            pack = collect_pack(defs, session, setup, "2026-03", "tháng 3 năm 2026", day, host)
        titles.append(pack_title(pack))
    assert titles == [
        "Hội nghị giao ban báo chí tháng 3 năm 2026",
        "Họp báo định kỳ tháng 3 năm 2026 của thành phố",
    ]

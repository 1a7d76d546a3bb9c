"""Dates a province would check: one briefing in every month, runs and letters on the legal
calendar, late starts with a deadline still ahead, a year-end chain with time to consolidate,
and rungs that never go back (issue 12 items 1–4, issue 11 item 7)."""

from __future__ import annotations

import collections
import datetime as dt
import shutil
from pathlib import Path

import pytest

from engine.calendar import LegalCalendar
from engine.decisions import decide, openings
from engine.definitions.date_checks import handoff_date
from engine.definitions.loader import load_definitions
from engine.explain import explain_lines
from engine.ledger.outbox import outbox_key
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot, OutboxView
from engine.periods import period_for_key, periods_between
from engine.plan import planned_actions
from engine.schedule import cycle_dates, cycle_window
from engine.settings import REPO_ROOT

SHIPPED = REPO_ROOT / "definitions"


@pytest.fixture(scope="module")
def defs():
    result = load_definitions(SHIPPED)
    assert result.definitions is not None, result.problems
    return result.definitions


@pytest.fixture(scope="module")
def cal(defs) -> LegalCalendar:
    return LegalCalendar(defs.calendars)


@pytest.fixture
def shipped_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "definitions"
    shutil.copytree(SHIPPED, target)
    monkeypatch.chdir(tmp_path)  # problems are then reported as definitions/…
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


# --- 12.1 one meeting in every month ------------------------------------------------------


def test_the_plan_has_one_briefing_due_in_every_month_and_nothing_on_a_day_off(defs, cal):
    actions = planned_actions(defs, dt.date(2026, 1, 1), dt.date(2030, 12, 31), "press-briefing")
    due = collections.Counter(a.date.strftime("%Y-%m") for a in actions if a.action == "due")
    months = {f"{y}-{m:02d}" for y in range(2026, 2031) for m in range(1, 13)}
    assert set(due) == months and set(due.values()) == {1}
    assert [a for a in actions if not cal.is_working_day(a.date)] == []


def test_february_2026_moves_earlier_out_of_tet_and_explain_says_why(defs, cal):
    briefing = defs.obligations["press-briefing"]
    period = period_for_key(briefing.schedule, briefing.window, "2026-02")
    # 6 working days after Saturday 14/02 skip Tết (16–20/02): Monday 02/03, in March.
    assert cycle_dates(briefing, period, cal).due_on == dt.date(2026, 2, 27)
    assert cycle_window(briefing, period, cal)[1] == dt.date(2026, 2, 27)
    lines = "\n".join(explain_lines(defs, briefing, "2026-02"))
    assert "Ngày 02/03/2026 nằm ngoài tháng 2/2026" in lines
    assert "Tết Nguyên đán" in lines and "ngày làm việc cuối cùng của tháng" in lines
    # March keeps its own date: one briefing each, not two in March.
    march = period_for_key(briefing.schedule, briefing.window, "2026-03")
    assert cycle_dates(briefing, march, cal).due_on == dt.date(2026, 3, 23)


def test_validate_finds_a_month_without_its_cycle(shipped_copy: Path):
    path = shipped_copy / "obligations" / "press-briefing.yaml"
    edit(path, "keep_in_month: true", "keep_in_month: false")
    problems = [str(p) for p in load_definitions(shipped_copy).problems]
    assert len(problems) == 1, problems
    assert problems[0].startswith("definitions/obligations/press-briefing.yaml:")
    assert "tháng 2/2026 không có kỳ nào" in problems[0]
    assert "tháng 3/2026 có 2 kỳ (2026-02, 2026-03)" in problems[0]


# --- 12.2 runs on the legal calendar -------------------------------------------------------


def test_august_2026_letters_go_out_on_their_own_days_saturday_included(defs):
    actions = planned_actions(defs, dt.date(2026, 8, 1), dt.date(2026, 9, 30), "press-briefing")
    august = {a.action: a.date for a in actions if a.period == "2026-08"}
    assert august["due-today"] == dt.date(2026, 8, 22)  # the make-up Saturday
    assert august["overdue"] == dt.date(2026, 8, 25)


def test_a_run_schedule_that_skips_make_up_saturdays_is_refused(shipped_copy: Path):
    path = shipped_copy / "obligations" / "portal-figures.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n    deployment: {cron: '30 7 * * 1-5'}\n", "utf-8")
    problems = [str(p) for p in load_definitions(shipped_copy).problems]
    assert len(problems) == 1, problems
    assert "portal-figures.yaml:" in problems[0]
    assert "bỏ sót 4 ngày làm việc" in problems[0]
    assert "thứ Bảy 10/01/2026, thứ Bảy 22/08/2026" in problems[0]


# --- 12.3 late starts ----------------------------------------------------------------------


def test_a_cycle_opened_after_its_deadline_gets_a_new_one_by_rule(defs, cal):
    briefing = defs.obligations["press-briefing"]
    november = period_for_key(briefing.schedule, briefing.window, "2026-11")
    empty = LedgerSnapshot("press-briefing", (), ())
    today = dt.date(2026, 11, 25)  # the rule's deadline was Monday 23/11
    [opening] = openings(defs, cal, briefing, empty, [november], today)
    assert opening.rule_due_on == dt.date(2026, 11, 23)
    assert opening.due_on > today
    assert cal.working_days_between(today, opening.due_on) == briefing.late_start.min_working_days
    assert all(due == opening.due_on for _b, _n, due in opening.bodies)
    assert opening.closes_on > opening.due_on
    assert "đã qua (23/11/2026)" in opening.due_note
    # Opened on its request date, nothing changes.
    [normal] = openings(defs, cal, briefing, empty, [november], opening.dates.request_on)
    assert normal.rule_due_on is None and normal.due_on == dt.date(2026, 11, 23)


def test_a_late_start_with_too_few_days_left_also_moves(defs, cal):
    briefing = defs.obligations["press-briefing"]
    november = period_for_key(briefing.schedule, briefing.window, "2026-11")
    empty = LedgerSnapshot("press-briefing", (), ())
    today = dt.date(2026, 11, 20)  # one working day before 23/11 (a Friday)
    [opening] = openings(defs, cal, briefing, empty, [november], today)
    assert opening.rule_due_on == dt.date(2026, 11, 23)
    assert "chỉ còn 1 ngày làm việc" in opening.due_note


# --- 12.4 the year-end chain ---------------------------------------------------------------


def test_the_2026_consolidation_starts_with_the_declared_working_days(defs, cal):
    reports = defs.obligations["annual-results-report"]
    consolidation = defs.obligations[reports.downstream.obligation]
    period = period_for_key(reports.schedule, reports.window, "2026")
    _request, due_on, closes_on = cycle_window(reports, period, cal)
    start = handoff_date(reports, due_on, closes_on, cal)
    deadline = cycle_window(consolidation, period, cal)[1]
    assert (due_on, start, deadline) == (
        dt.date(2026, 12, 16),
        dt.date(2026, 12, 17),
        dt.date(2026, 12, 22),
    )
    assert cal.working_days_between(start, deadline) >= reports.downstream.min_working_days == 3


def test_a_hand_off_at_the_close_is_too_late_and_validate_says_which_year(shipped_copy: Path):
    path = shipped_copy / "obligations" / "annual-results-report.yaml"
    edit(path, "      hand_off: at-due\n", "      hand_off: at-close\n")
    problems = [str(p) for p in load_definitions(shipped_copy).problems]
    assert len(problems) == 1, problems
    assert problems[0].startswith("definitions/obligations/annual-results-report.yaml:")
    assert "năm 2023, kỳ 2023: bàn giao cho 'annual-consolidation'" in problems[0]
    assert "cần ít nhất 3" in problems[0]


# --- 11.7 dates never go back (the decision) -----------------------------------------------


def _cycle(due: dt.date, requested: dt.date, sent: list[tuple[str, str]]) -> LedgerSnapshot:
    assignment = AssignmentView(
        1, 7, "van-phong-ubnd", "Văn phòng UBND tỉnh", "open", due, requested, 0, None
    )
    cycle = CycleView(
        7,
        "press-briefing",
        "2026-08",
        dt.date(2026, 7, 15),
        dt.date(2026, 8, 14),
        due,
        requested,
        dt.date(2026, 9, 4),
        None,
        "d",
        "open",
        0,
        None,
        assignments=(assignment,),
    )
    rows = [
        OutboxView(
            outbox_key(7, "van-phong-ubnd", None, "request"),
            7,
            "van-phong-ubnd",
            "request",
            None,
            "sent",
        )
    ]
    rows += [
        OutboxView(outbox_key(7, "van-phong-ubnd", r, k), 7, "van-phong-ubnd", k, r, "sent")
        for r, k in sent
    ]
    return LedgerSnapshot("press-briefing", (cycle,), tuple(rows))


def _kinds(defs, cal, snapshot, day):
    briefing = defs.obligations["press-briefing"]
    return [(m.rung, m.kind) for m in decide(defs, cal, briefing, snapshot, day).messages]


def test_due_today_goes_out_on_the_due_day_and_as_an_overdue_notice_after_it(defs, cal):
    due = dt.date(2026, 8, 22)  # Saturday, a make-up working day
    snapshot = _cycle(due, dt.date(2026, 8, 12), [("nhac-truoc-han", "reminder")])
    assert _kinds(defs, cal, snapshot, due) == [("den-han", "due-today")]
    # Missed on its day (the old Monday–Friday schedule): never "hôm nay" for Saturday.
    assert _kinds(defs, cal, snapshot, dt.date(2026, 8, 24)) == [("den-han", "overdue")]


def test_no_softer_rung_after_a_firmer_one_and_none_on_the_request_day(defs, cal):
    due = dt.date(2026, 8, 22)
    escalated = _cycle(due, dt.date(2026, 8, 12), [("don-doc", "escalation")])
    # A tick back in time (forced) finds the reminder "reached": not sent, dates never go back.
    assert _kinds(defs, cal, escalated, dt.date(2026, 8, 19)) == []
    assert _kinds(defs, cal, escalated, dt.date(2026, 8, 25)) == []
    # Requested today (a late start), a second tick the same day sends no rung.
    late = _cycle(due, dt.date(2026, 8, 24), [])
    assert _kinds(defs, cal, late, dt.date(2026, 8, 24)) == []
    # Nor rungs dated before the request the next day: only what is reached after it.
    assert _kinds(defs, cal, late, dt.date(2026, 8, 25)) == [("qua-han", "overdue")]


def test_every_monthly_obligation_is_checked_for_years_ahead(defs, cal):
    monthly = [o for o in defs.obligations.values() if o.schedule.every.value == "monthly"]
    assert monthly
    for obligation in monthly:
        periods = periods_between(
            obligation.schedule, obligation.window, dt.date(2026, 1, 1), dt.date(2031, 12, 31)
        )
        due = collections.Counter(
            (d.year, d.month) for d in (cycle_window(obligation, p, cal)[1] for p in periods)
        )
        inside = [m for m in due if (2026, 2) <= m <= (2031, 11)]
        assert all(due[m] == 1 for m in inside), (obligation.id, due)


def test_explain_reads_a_late_start_from_the_ledger_in_plain_words():
    from engine.explain import recorded_lines

    lines = recorded_lines(
        dt.date(2026, 11, 25), dt.date(2026, 11, 30), dt.date(2026, 11, 23), "Kỳ được mở muộn."
    )
    assert lines[1] == (
        "Sổ theo dõi: kỳ đã mở ngày 25 tháng 11 năm 2026; hạn đang áp dụng là Thứ Hai, "
        "ngày 30 tháng 11 năm 2026 (hạn theo quy tắc: ngày 23 tháng 11 năm 2026)."
    )
    assert lines[2] == "Lý do: Kỳ được mở muộn."
    assert recorded_lines(dt.date(2026, 11, 11), dt.date(2026, 11, 23), None, None) == []

"""The assignment state machine: submissions, versions, reviews, late reports after the close."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from engine.ledger import (
    Assignment,
    AttachmentInfo,
    Cycle,
    CycleClosed,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Submission,
    accept,
    close_cycle,
    is_overdue,
    list_events,
    record_submission,
    return_for_revision,
    submission_history,
    waive,
)

from .conftest import CLOSES, DUE, NOW, TODAY

LATER = NOW + dt.timedelta(days=1)
REPORT = AttachmentInfo("bao-cao-quy-1.pdf", "application/pdf", 48_213, "f" * 64)


@pytest.fixture
def ids(session, opened) -> dict[str, int]:
    opened(
        [
            ("so-tu-phap", "Sở Tư pháp", DUE),
            ("so-noi-vu", "Sở Nội vụ", DUE),
            ("ubnd-na-hang", "UBND huyện Na Hang", DUE + dt.timedelta(days=5)),
        ]
    )
    return {a.body_id: a.id for a in session.scalars(select(Assignment))}


def _state(session, assignment_id: int) -> str:
    return session.scalar(select(Assignment.state).where(Assignment.id == assignment_id))


def _submit(session, assignment_id, fields, *, today=TODAY, now=NOW, **kwargs):
    return record_submission(
        session, assignment_id, fields, [], "portal", "Nguyễn Văn A", now, today, **kwargs
    )


def test_the_full_happy_path_keeps_every_version(session, ids):
    a = ids["so-tu-phap"]
    first = record_submission(
        session, a, {"so_tin_bai": 12}, [REPORT], "portal", "Nguyễn Văn A", NOW, TODAY
    )
    assert (first.version, first.state, first.late, first.created) == (1, "submitted", False, True)
    second = _submit(session, a, {"so_tin_bai": 13}, now=LATER)
    assert (second.version, second.state) == (2, "submitted")
    return_for_revision(session, a, "Bổ sung số liệu tháng 3.", who="Sở VHTTDL", now=LATER)
    assert _state(session, a) == "returned"
    third = _submit(session, a, {"so_tin_bai": 15}, now=LATER)
    assert (third.version, third.state) == (3, "resubmitted")
    accepted = accept(session, a, who="Sở VHTTDL", now=LATER)
    assert accepted.state == "accepted"

    history = submission_history(session, a)
    assert [(s.version, s.fields["so_tin_bai"]) for s in history] == [(1, 12), (2, 13), (3, 15)]
    assert history[0].attachments == (REPORT,)
    assert history[0].submitted_at == NOW and history[0].submitted_at.tzinfo is not None
    kinds = [e.kind for e in list_events(session, body_id="so-tu-phap")]
    assert kinds == [
        "assignment-opened",
        "submission-recorded",
        "submission-recorded",
        "assignment-returned",
        "submission-recorded",
        "assignment-accepted",
    ]
    returned = list_events(session, kind="assignment-returned")[0]
    assert returned.data == {
        "from_state": "submitted",
        "comment": "Bổ sung số liệu tháng 3.",
        "by": "Sở VHTTDL",
    }


def test_repeating_a_review_changes_nothing(session, ids):
    a = ids["so-tu-phap"]
    _submit(session, a, {"x": 1})
    accept(session, a, now=NOW)
    events = len(list_events(session))
    assert accept(session, a, now=LATER).state == "accepted"
    assert len(list_events(session)) == events


def test_a_repeated_identical_submission_is_recorded_once(session, ids):
    a = ids["so-noi-vu"]
    first = _submit(session, a, {"x": 1, "ghi_chu": "Đủ"})
    retry = _submit(session, a, {"ghi_chu": "Đủ", "x": 1}, now=LATER)
    assert (retry.created, retry.version, retry.submission_id) == (False, 1, first.submission_id)
    changed = _submit(session, a, {"x": 2, "ghi_chu": "Đủ"}, now=LATER)
    assert (changed.created, changed.version) == (True, 2)


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        ([], lambda s, a: accept(s, a), "Không thể chấp nhận báo cáo: báo cáo của Sở Tư pháp"),
        ([], lambda s, a: return_for_revision(s, a, "Sai mẫu."), "đang chờ nộp"),
        (["submit"], lambda s, a: waive(s, a, "Lý do."), "đã nộp"),
        (["submit", "accept"], lambda s, a: _submit(s, a, {"x": 9}), "đã được chấp nhận"),
        (["waive"], lambda s, a: _submit(s, a, {"x": 9}), "được miễn nộp"),
        (["waive"], lambda s, a: accept(s, a), "được miễn nộp"),
    ],
)
def test_invalid_transitions_are_refused_in_vietnamese(session, ids, setup, action, message):
    a = ids["so-tu-phap"]
    steps = {
        "submit": lambda: _submit(session, a, {"x": 1}),
        "accept": lambda: accept(session, a),
        "waive": lambda: waive(session, a, "Đơn vị đang sáp nhập."),
    }
    for step in setup:
        steps[step]()
    before = (_state(session, a), len(list_events(session)))
    with pytest.raises(InvalidTransition, match=message):
        action(session, a)
    assert (_state(session, a), len(list_events(session))) == before


def test_late_flag_follows_each_bodys_own_due_date(session, ids):
    day_after_due = DUE + dt.timedelta(days=1)
    on_time = _submit(session, ids["so-tu-phap"], {"x": 1}, today=DUE)
    late = _submit(session, ids["so-noi-vu"], {"x": 1}, today=day_after_due)
    extended = _submit(session, ids["ubnd-na-hang"], {"x": 1}, today=day_after_due)
    assert (on_time.late, late.late, extended.late) == (False, True, False)


def test_overdue_is_derived_from_state_and_due_date(session, ids):
    assignment = session.get(Assignment, ids["so-tu-phap"])
    assert not is_overdue(assignment, DUE)
    assert is_overdue(assignment, DUE + dt.timedelta(days=1))
    _submit(session, assignment.id, {"x": 1})
    session.refresh(assignment)
    assert not is_overdue(assignment, DUE + dt.timedelta(days=1))


def test_after_the_close_a_late_report_needs_permission_and_reopens_the_hand_off(session, ids):
    cycle_id = session.get(Assignment, ids["so-tu-phap"]).cycle_id
    close_cycle(session, cycle_id, CLOSES, now=NOW)
    after = CLOSES + dt.timedelta(days=2)
    a = ids["so-tu-phap"]

    with pytest.raises(CycleClosed, match="đã đóng ngày 27/03/2026"):
        _submit(session, a, {"x": 1}, today=after)
    assert session.scalar(select(func.count()).select_from(Submission)) == 0
    assert _state(session, a) == "closed-missing"

    late = _submit(session, a, {"x": 1}, today=after, allow_late=True)
    assert (late.state, late.late, late.handoff_reopened) == ("submitted", True, True)
    _submit(session, ids["so-noi-vu"], {"x": 2}, today=after, allow_late=True)
    cycle = session.get(Cycle, cycle_id, populate_existing=True)
    assert (cycle.state, cycle.handoff_version) == ("closed", 2)
    reopened = list_events(session, kind="handoff-reopened")
    assert [e.data["handoff_version"] for e in reopened] == [1, 2]


def test_no_return_for_revision_after_the_close(session, ids):
    a = ids["so-tu-phap"]
    _submit(session, a, {"x": 1})
    close_cycle(session, session.get(Assignment, a).cycle_id, CLOSES, now=NOW)
    with pytest.raises(CycleClosed, match="không thể trả lại báo cáo"):
        return_for_revision(session, a, "Sai mẫu.")
    assert accept(session, a).state == "accepted"


def test_waive_needs_a_reason_and_works_after_the_close(session, ids):
    a = ids["so-noi-vu"]
    with pytest.raises(InvalidInput, match="lý do miễn"):
        waive(session, a, "  ")
    close_cycle(session, session.get(Assignment, a).cycle_id, CLOSES, now=NOW)
    assert waive(session, a, "Đơn vị giải thể theo Nghị quyết.", now=NOW).state == "waived"
    assert list_events(session, kind="assignment-waived")[0].data["from_state"] == (
        "closed-missing"
    )


def test_bad_input_is_refused_before_anything_is_written(session, ids):
    a = ids["so-tu-phap"]
    with pytest.raises(InvalidInput, match="Kênh nộp “fax” không hợp lệ"):
        record_submission(session, a, {}, [], "fax", "A", NOW, TODAY)
    with pytest.raises(InvalidInput, match="người nộp"):
        record_submission(session, a, {}, [], "portal", " ", NOW, TODAY)
    with pytest.raises(InvalidInput, match="thiếu múi giờ"):
        record_submission(session, a, {}, [], "portal", "A", dt.datetime(2026, 3, 2), TODAY)
    with pytest.raises(InvalidInput, match="không lưu được"):
        record_submission(session, a, {"when": object()}, [], "portal", "A", NOW, TODAY)
    with pytest.raises(InvalidInput, match="tệp đính kèm"):
        record_submission(session, a, {}, [{"name": "x.pdf"}], "portal", "A", NOW, TODAY)
    with pytest.raises(NotFound, match="phân công số 999999"):
        record_submission(session, 999_999, {}, [], "portal", "A", NOW, TODAY)
    assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_attachments_given_as_mappings_are_kept(session, ids):
    files = [
        {
            "file_name": "so-lieu.xlsx",
            "content_type": "application/vnd.ms-excel",
            "size": 1024,
            "sha256": "0" * 64,
        }
    ]
    _submit(session, ids["so-noi-vu"], {"x": 1})
    record_submission(
        session, ids["so-noi-vu"], {"x": 2}, files, "operator", "Văn thư", LATER, TODAY
    )
    history = submission_history(session, ids["so-noi-vu"])
    assert history[1].attachments == (AttachmentInfo(**files[0]),)
    assert history[1].channel == "operator" and history[0].attachments == ()


def test_concurrent_submissions_get_distinct_versions(sessions, ids):
    start = threading.Barrier(6)

    def _send(n):
        with sessions() as own:
            start.wait()
            return _submit(own, ids["so-tu-phap"], {"lan": n}).version

    with ThreadPoolExecutor(6) as pool:
        versions = sorted(pool.map(_send, range(6)))
    assert versions == [1, 2, 3, 4, 5, 6]

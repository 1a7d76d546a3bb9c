"""Names listed for people (the weekly digest) follow the Vietnamese alphabet, not code points."""

from __future__ import annotations

import datetime as dt

from engine.names import alphabetical
from notifications.contexts import split_overdue


def test_vietnamese_dictionary_order() -> None:
    names = ["Bình An", "Bạch Xa", "Đà Vị", "Bắc Mê", "Bạch Đích", "Bản Máy", "Dũng Tiến", "Ân Thi"]
    assert sorted(names, key=alphabetical) == [
        "Ân Thi",
        "Bạch Đích",
        "Bạch Xa",
        "Bản Máy",
        "Bắc Mê",
        "Bình An",
        "Dũng Tiến",
        "Đà Vị",
    ]


def test_tones_only_break_ties_and_digits_come_first() -> None:
    assert sorted(["Mã", "Má", "Ma", "Mạ", "Mà", "Mả"], key=alphabetical) == [
        "Ma",
        "Mà",
        "Má",
        "Mả",
        "Mã",
        "Mạ",
    ]
    assert sorted(["Hà Giang 2", "Hà Giang 1", "Hà Giang"], key=alphabetical) == [
        "Hà Giang",
        "Hà Giang 1",
        "Hà Giang 2",
    ]


def test_decomposed_and_composed_spellings_sort_together() -> None:
    decomposed = "Bi\u0300nh An"
    assert alphabetical(decomposed)[0] == alphabetical("Bình An")[0]


def test_digest_lists_bodies_of_one_due_date_alphabetically() -> None:
    due = dt.date(2026, 1, 20)
    items = [
        {"body": body, "due_on": due, "days_overdue": 0}
        for body in ["Ủy ban nhân dân xã Bình An", "Ủy ban nhân dân xã Bạch Xa"]
    ]
    overdue, upcoming = split_overdue(items)
    assert overdue == []
    assert [i["body"] for i in upcoming] == [
        "Ủy ban nhân dân xã Bạch Xa",
        "Ủy ban nhân dân xã Bình An",
    ]


def test_syllable_by_syllable() -> None:
    """A tone decides between two syllables of the same letters before the next syllable is
    read, as in a dictionary."""
    assert sorted(
        ["Đồng Tâm", "Đông Thọ", "Đồng Văn", "Hồng Sơn", "Hồ Thầu"], key=alphabetical
    ) == [
        "Đông Thọ",
        "Đồng Tâm",
        "Đồng Văn",
        "Hồ Thầu",
        "Hồng Sơn",
    ]

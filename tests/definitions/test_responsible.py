"""Who is responsible on a date, across the 2025 reorganisation of the fixture set.

In the fixture Sở TT&TT (so-tttt) ends on 28/02/2025 and Sở VHTT&DL (so-vhttdl) starts on
01/03/2025, taking over its duties and the co-quan-dau-moi role.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.bodies import resolve_responsible, resolve_target, role_holder
from engine.definitions.loader import load_definitions
from engine.definitions.models import Definitions, Responsible, Target

BEFORE = dt.date(2025, 2, 28)
AFTER = dt.date(2025, 3, 1)


def load(directory: Path) -> Definitions:
    result = load_definitions(directory)
    assert result.problems == [], "\n".join(map(str, result.problems))
    return result.definitions


@pytest.fixture
def defs(valid_dir: Path) -> Definitions:
    return load(valid_dir)


def ids(bodies) -> list[str]:
    return [body.id for body in bodies]


def owing(defs: Definitions, on: dt.date, **responsible) -> list[str]:
    obligation = defs.obligations["annual-results-report"].model_copy(
        update={"responsible": Responsible(**responsible)}
    )
    return ids(resolve_responsible(defs, obligation, on))


def test_group_members_change_on_the_reorganisation_day(defs: Definitions) -> None:
    annual = defs.obligations["annual-results-report"]  # group so-nganh minus so-vhttdl
    assert ids(resolve_responsible(defs, annual, BEFORE)) == ["so-tttt", "so-tu-phap"]
    assert ids(resolve_responsible(defs, annual, AFTER)) == ["so-tu-phap"]
    assert owing(defs, AFTER, groups=["so-nganh"]) == ["so-tu-phap", "so-vhttdl"]


def test_role_holder_changes_on_the_reorganisation_day(defs: Definitions) -> None:
    consolidated = defs.obligations["consolidated-report"]
    assert ids(resolve_responsible(defs, consolidated, BEFORE)) == ["so-tttt"]
    assert ids(resolve_responsible(defs, consolidated, AFTER)) == ["so-vhttdl"]
    assert role_holder(defs, "co-quan-dau-moi", AFTER).id == "so-vhttdl"
    assert role_holder(defs, "khong-co", AFTER) is None


def test_a_listed_body_that_ended_is_replaced_by_its_successor(defs: Definitions) -> None:
    assert owing(defs, BEFORE, bodies=["so-tttt"]) == ["so-tttt"]
    assert owing(defs, AFTER, bodies=["so-tttt"]) == ["so-vhttdl"]
    # Listing the old and the new body after the change still yields each body once.
    assert owing(defs, AFTER, bodies=["so-vhttdl", "so-tttt", "so-tu-phap"]) == [
        "so-tu-phap",
        "so-vhttdl",
    ]
    assert owing(defs, AFTER, bodies=["so-tttt"], exclude=["so-vhttdl"]) == []
    # A body that does not exist yet owes nothing and inherits nothing.
    assert owing(defs, dt.date(2024, 1, 1), bodies=["so-vhttdl"]) == []


def test_successors_are_followed_recursively_and_into_groups(definitions_copy: Path, edit) -> None:
    bodies = definitions_copy / "bodies.yaml"
    edit(bodies, "      - body: so-vhttdl\n", "      - group: so-nganh\n      - body: so-vhttdl\n")
    edit(
        bodies,
        "    valid_from: 2025-03-01\n",
        "    valid_from: 2025-03-01\n    valid_to: 2025-06-30\n"
        "    successors:\n      - body: so-tu-phap\n        roles: [co-quan-dau-moi]\n",
    )
    defs = load(definitions_copy)
    july = dt.date(2025, 7, 1)

    assert owing(defs, AFTER, bodies=["so-tttt"]) == ["so-tu-phap", "so-vhttdl"]
    # so-vhttdl ends too: its duties go on to so-tu-phap, which already had them.
    assert owing(defs, july, bodies=["so-tttt"]) == ["so-tu-phap"]
    # Its holder entry is open-ended, but the role follows the body's successor.
    assert role_holder(defs, "co-quan-dau-moi", july).id == "so-tu-phap"


def test_successor_cycle_ends_with_nobody_and_is_reported(definitions_copy: Path, edit) -> None:
    bodies = definitions_copy / "bodies.yaml"
    edit(
        bodies,
        "    valid_from: 2025-03-01\n",
        "    valid_from: 2025-03-01\n    valid_to: 2025-06-30\n"
        "    successors:\n      - body: so-tttt\n        roles: [co-quan-dau-moi]\n",
    )
    result = load_definitions(definitions_copy)

    assert result.definitions is None
    messages = [p.message for p in result.problems]
    assert any("từ ngày 01/07/2025 không còn cơ quan nào chịu trách nhiệm" in m for m in messages)


def test_a_role_passes_to_the_successor_that_lists_it(definitions_copy: Path, edit) -> None:
    groups = definitions_copy / "groups.yaml"
    edit(groups, "        valid_to: 2025-02-28\n", "")
    edit(groups, "      - body: so-vhttdl\n        valid_from: 2025-03-01\n", "")
    defs = load(definitions_copy)  # the transfer makes the set valid: no "nobody" problem

    assert role_holder(defs, "co-quan-dau-moi", BEFORE).id == "so-tttt"
    assert role_holder(defs, "co-quan-dau-moi", AFTER).id == "so-vhttdl"

    edit(definitions_copy / "bodies.yaml", "        roles: [co-quan-dau-moi]\n", "")
    problems = load_definitions(definitions_copy).problems
    assert [p.message for p in problems if "nhận kết quả" in p.message] == [
        "từ ngày 01/03/2025 không xác định được cơ quan nhận kết quả"
    ]


def test_targets_resolve_to_addresses(defs: Definitions) -> None:
    assignee = defs.bodies["so-tu-phap"]
    role = Target(role="co-quan-dau-moi")

    assert resolve_target(defs, role, assignee, BEFORE) == ["van-thu@stttt.tuyenquang.example"]
    assert resolve_target(defs, role, assignee, AFTER) == ["van-thu@svhttdl.tuyenquang.example"]
    old_body = Target(body="so-tttt")
    assert resolve_target(defs, old_body, None, AFTER) == ["van-thu@svhttdl.tuyenquang.example"]
    head, cc = Target(mailbox="head"), Target(mailbox="cc")
    assert resolve_target(defs, head, assignee, AFTER) == ["giam-doc@stp.tuyenquang.example"]
    assert resolve_target(defs, cc, assignee, AFTER) == ["phap-che@stp.tuyenquang.example"]
    assert resolve_target(defs, cc, defs.bodies["ubnd-tinh"], AFTER) == []
    assert resolve_target(defs, head, None, AFTER) == []

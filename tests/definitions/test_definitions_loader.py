"""The loader on the valid fixture and on edited copies of it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from engine.definitions.findings import Problem
from engine.definitions.loader import ENV_VAR, default_definitions_dir, load_definitions


def test_valid_fixture_loads_without_problems(valid_dir: Path) -> None:
    result = load_definitions(valid_dir)

    assert result.problems == []
    defs = result.definitions
    assert defs is not None
    assert defs.plan.id == "ke-hoach-ct07"
    assert sorted(defs.bodies) == ["so-tttt", "so-tu-phap", "so-vhttdl", "ubnd-tinh"]
    assert list(defs.groups) == ["so-nganh"] and list(defs.roles) == ["co-quan-dau-moi"]
    assert sorted(defs.obligations) == ["annual-results-report", "consolidated-report"]
    assert list(defs.calendars) == [2026]
    # escalation-firm.txt and escalation-firm.subject.txt are one template.
    assert defs.templates == frozenset({"escalation-firm"})
    assert len(defs.digest) == 64


def test_schema_folder_is_not_read(definitions_copy: Path) -> None:
    (definitions_copy / "schema" / "bodies.yaml").write_text("not: [a definition\n")
    nested = definitions_copy / "obligations" / "schema"
    nested.mkdir()
    (nested / "x.yaml").write_text("unknown: 1\n")

    problems = load_definitions(definitions_copy).problems

    # Only the top-level schema/ folder is skipped; a nested one is ordinary definitions.
    assert [(p.path.endswith("obligations/schema/x.yaml"), p.line) for p in problems] == [(True, 1)]


def test_yml_extension_and_subfolders_are_read(definitions_copy: Path) -> None:
    source = definitions_copy / "obligations" / "consolidated-report.yaml"
    target = definitions_copy / "obligations" / "deep" / "consolidated-report.yml"
    target.parent.mkdir()
    shutil.move(source, target)

    result = load_definitions(definitions_copy)

    assert result.problems == []
    assert "consolidated-report" in result.definitions.obligations


def test_digest_follows_the_source_bytes(definitions_copy: Path, valid_dir: Path, edit) -> None:
    same = load_definitions(definitions_copy).definitions.digest
    assert same == load_definitions(valid_dir).definitions.digest

    edit(definitions_copy / "templates" / "escalation-firm.txt", "khẩn trương", "sớm")
    changed_template = load_definitions(definitions_copy).definitions.digest
    edit(definitions_copy / "bodies.yaml", "Sở Tư pháp\n    kind", "Sở Tư pháp tỉnh\n    kind")
    changed_body = load_definitions(definitions_copy).definitions.digest

    assert len({same, changed_template, changed_body}) == 3


def test_all_problems_are_reported_at_once(definitions_copy: Path, edit, monkeypatch) -> None:
    """Two model errors and a cross-reference error in two files: all three, in file order."""
    edit(definitions_copy / "obligations" / "annual-results-report.yaml", "day: 15", "day: 45")
    bodies = definitions_copy / "bodies.yaml"
    edit(bodies, "kind: ubnd-tinh", "kind: tinh")
    edit(bodies, "      - body: so-vhttdl\n", "      - body: so-vhtt\n")
    monkeypatch.chdir(definitions_copy)

    result = load_definitions(definitions_copy)

    assert result.definitions is None
    assert [(p.path, p.line, p.col) for p in result.problems] == [
        ("bodies.yaml", 5, 5),
        ("bodies.yaml", 21, 9),
        ("obligations/annual-results-report.yaml", 16, 7),
    ]
    kind, successor, day = (p.message for p in result.problems)
    assert kind.startswith("giá trị 'tinh' không hợp lệ; chọn một trong: ubnd-tinh, van-phong")
    assert successor == "cơ quan 'so-vhtt' không tồn tại; có phải 'so-vhttdl'?"
    assert day == "'day' phải nhỏ hơn hoặc bằng 31, không phải 45"


def test_problem_text_is_path_line_col(definitions_copy: Path, edit, monkeypatch) -> None:
    edit(definitions_copy / "groups.yaml", "    name: Các Sở", "    nam: Các Sở")
    monkeypatch.chdir(definitions_copy.parent)

    problems = load_definitions(definitions_copy).problems

    assert [str(p) for p in problems] == [
        "definitions/groups.yaml:2:5: thiếu trường bắt buộc 'name'",
        "definitions/groups.yaml:3:5: khóa không được phép 'nam' (các khóa hợp lệ: id, name,"
        " description, catalogue); có phải 'name'?",
    ]


def test_paths_outside_the_working_directory_are_kept_as_given(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("plan: 3\n")
    [problem] = load_definitions(tmp_path).problems
    assert Path.cwd() not in tmp_path.parents
    assert problem.path == str(tmp_path / "plan.yaml")
    assert (problem.line, problem.col) == (1, 1)
    assert problem.message.startswith("'plan' phải là một bảng khóa")
    assert str(Problem("d", 0, 0, "không có kế hoạch")) == "d: không có kế hoạch"


def test_missing_directory_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    result = load_definitions(tmp_path / "nowhere")
    assert result.definitions is None
    assert [p.message for p in result.problems] == ["không tìm thấy thư mục định nghĩa"]


def test_empty_directory_lacks_a_plan(tmp_path: Path) -> None:
    problems = load_definitions(tmp_path).problems
    assert len(problems) == 1 and "không có kế hoạch" in problems[0].message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("- a\n- b\n", "tệp phải có đúng một khóa cấp cao nhất"),
        ("bodies: []\nobligations: []\n", "tệp này có cả bodies, obligations"),
        ("groups: []\nroles: []\n", None),  # both live in the same GroupsFile
        ("obligations:\n", "'obligations' phải là một danh sách"),
    ],
)
def test_top_level_shapes(definitions_copy: Path, content: str, fragment: str | None) -> None:
    (definitions_copy / "extra.yaml").write_text(content, encoding="utf-8")
    problems = load_definitions(definitions_copy).problems
    if fragment is None:
        assert problems == []
    else:
        assert len(problems) == 1 and fragment in problems[0].message, problems


def test_broken_item_does_not_hide_the_others(definitions_copy: Path, edit, monkeypatch) -> None:
    """A body that fails validation is not also reported at every reference to it, while the
    valid bodies of the same file are still cross-checked."""
    bodies = definitions_copy / "bodies.yaml"
    edit(bodies, "    short_name: Sở VHTT&DL\n", "")
    edit(bodies, "      - body: so-vhttdl\n", "      - body: so-vhttdl\n      - body: so-x\n")
    monkeypatch.chdir(definitions_copy)

    problems = load_definitions(definitions_copy).problems

    assert [(p.path, p.line) for p in problems] == [("bodies.yaml", 22), ("bodies.yaml", 26)]
    assert "cơ quan 'so-x' không tồn tại" in problems[0].message
    assert "thiếu trường bắt buộc 'short_name'" in problems[1].message


def test_yaml_anchors_and_merge_keys_are_accepted(definitions_copy: Path, edit) -> None:
    bodies = definitions_copy / "bodies.yaml"
    edit(
        bodies,
        "    mailboxes:\n      to: [van-thu@stttt",
        "    mailboxes: &tttt\n      to: [van-thu@stttt",
    )
    edit(
        bodies,
        "      head: [giam-doc@svhttdl.tuyenquang.example]\n",
        "      <<: *tttt\n",
    )

    result = load_definitions(definitions_copy)

    assert result.problems == []
    bodies_by_id = result.definitions.bodies
    # Explicit keys beat merged ones: `to` stays the new body's own, `head` comes from the anchor.
    assert bodies_by_id["so-vhttdl"].mailboxes.to == ["van-thu@svhttdl.tuyenquang.example"]
    assert bodies_by_id["so-vhttdl"].mailboxes.head == ["giam-doc@stttt.tuyenquang.example"]


def test_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_definitions_dir() == Path(__file__).resolve().parents[2] / "definitions"
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert default_definitions_dir() == tmp_path


def test_forty_files_validate_quickly(definitions_copy: Path) -> None:
    """`kehoach validate` must stay interactive: 40 files well under a second of CPU."""
    source = (definitions_copy / "obligations" / "consolidated-report.yaml").read_text()
    for number in range(33):
        text = source.replace("id: consolidated-report", f"id: extra-report-{number}")
        (definitions_copy / "obligations" / f"extra-{number}.yaml").write_text(text)
    load_definitions(definitions_copy)  # first call pays one-off imports (holidays data)

    started = time.process_time()
    result = load_definitions(definitions_copy)
    elapsed = time.process_time() - started

    assert result.problems == [] and len(result.definitions.obligations) == 35
    assert elapsed < 1.0, f"{elapsed:.2f} s of CPU"

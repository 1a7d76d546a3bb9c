"""The commune-level bodies: the shipped file against the official catalogue, and the command
that writes it keeping what administrators wrote by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from vietnam_provinces import ProvinceCode, VietNamDivisionType, Ward

from engine.bodies import group_members, resolve_responsible
from tests.bodies.conftest import SHIPPED, kehoach, load

ORIGINAL_SIX = {
    "ubnd-phuong-minh-xuan",
    "ubnd-phuong-nong-tien",
    "ubnd-phuong-an-tuong",
    "ubnd-phuong-my-lam",
    "ubnd-phuong-ha-giang-1",
    "ubnd-phuong-ha-giang-2",
}


def catalogue() -> dict[str, Ward]:
    return {f"{w.code.value:05d}": w for w in Ward.iter_by_province(ProvinceCode(8))}


def test_the_shipped_communes_are_the_catalogue_unit_for_unit() -> None:
    defs = load(SHIPPED)
    wards = catalogue()
    members = group_members(defs, "ubnd-cap-xa", dt.date(2026, 1, 1))
    by_code = {body.code: body for body in members}

    assert len(wards) == 124 and len(members) == 124
    assert set(by_code) == set(wards)
    for code, ward in wards.items():
        body = by_code[code]
        assert body.name == "Ủy ban nhân dân " + ward.name[0].lower() + ward.name[1:], code
        assert ward.name in body.aliases
        assert body.valid_from == dt.date(2025, 7, 1) and body.kind.value == "ubnd-xa"
        assert all(a.endswith(".example") for a in body.mailboxes.to + body.mailboxes.head)
    kinds = [w.division_type for w in wards.values()]
    assert kinds.count(VietNamDivisionType.XA) == 117
    assert kinds.count(VietNamDivisionType.PHUONG) == 7
    assert ORIGINAL_SIX.issubset(body.id for body in by_code.values())
    # Before the reorganisation there were no communes in the plan; the districts still answer.
    assert group_members(defs, "ubnd-cap-xa", dt.date(2025, 6, 30)) == []


def test_the_districts_duties_reach_all_124_communes() -> None:
    defs = load(SHIPPED)
    report = defs.obligations["annual-results-report"]
    before = {b.id for b in resolve_responsible(defs, report, dt.date(2025, 6, 30))}
    after = {b.id for b in resolve_responsible(defs, report, dt.date(2026, 12, 1))}
    assert "ubnd-huyen-lam-binh" in before and "ubnd-xa-lam-binh" not in before
    communes = {b.id for b in group_members(defs, "ubnd-cap-xa", dt.date(2026, 12, 1))}
    assert communes <= after and not any(i.startswith("ubnd-huyen") for i in after)


def test_regenerating_keeps_hand_written_data_and_changes_nothing_twice(
    shipped_copy: Path, replace: Callable[[Path, str, str], None]
) -> None:
    communes = shipped_copy / "bodies" / "communes.yaml"
    # By hand: a real mailbox and a spokesperson for Thượng Lâm, under an id of the
    # administrator's choosing; Minh Xuân loses its code (found again by name); Lũng Cú is
    # deleted (the command puts it back); a unit the catalogue does not have is added.
    replace(communes, "  - id: ubnd-xa-thuong-lam\n", "  - id: xa-thuong-lam-cu\n")
    replace(
        communes,
        "      to: [van-thu@ubnd-xa-thuong-lam.tuyenquang.example]\n",
        "      to: [vanthu@thuonglam.tuyenquang.example]\n      cc: [tt@thuonglam.example]\n",
    )
    replace(
        communes,
        '    code: "02215"\n',
        "",
    )
    text = communes.read_text(encoding="utf-8")
    start = text.index("  - id: ubnd-xa-lung-cu\n")
    end = text.index("\n\n", start) + 2
    communes.write_text(
        text[:start]
        + text[end:]
        + "\n  - id: ubnd-xa-thu-nghiem\n    name: Ủy ban nhân dân xã Thử Nghiệm\n"
        "    short_name: UBND xã Thử Nghiệm\n    kind: ubnd-xa\n    groups: [ubnd-cap-xa]\n"
        "    mailboxes:\n      to: [van-thu@thu-nghiem.example]\n    valid_from: 2025-07-01\n",
        encoding="utf-8",
    )

    dry = kehoach("bodies", "communes", "--dry-run", "--definitions", str(shipped_copy))
    assert dry.returncode == 0, dry.stderr
    assert "Thêm mới 1, cập nhật 1, giữ nguyên 122" in dry.stdout
    assert "thêm ubnd-xa-lung-cu: 00715" in dry.stdout
    assert "ubnd-xa-thu-nghiem (Ủy ban nhân dân xã Thử Nghiệm) không còn trong danh mục" in (
        dry.stdout
    )
    assert "ubnd-xa-lung-cu" not in communes.read_text(encoding="utf-8")  # a dry run writes nothing

    result = kehoach("bodies", "communes", "--province", "08", "--definitions", str(shipped_copy))
    assert result.returncode == 0, result.stderr
    defs = load(shipped_copy)
    kept = defs.bodies["xa-thuong-lam-cu"]
    assert kept.code == "02269" and "ubnd-xa-thuong-lam" not in defs.bodies
    assert kept.mailboxes.to == ["vanthu@thuonglam.tuyenquang.example"]
    assert kept.mailboxes.cc == ["tt@thuonglam.example"]
    assert defs.bodies["ubnd-phuong-minh-xuan"].code == "02215"
    assert defs.bodies["ubnd-xa-lung-cu"].code == "00715"
    assert "ubnd-xa-thu-nghiem" in defs.bodies
    members = group_members(defs, "ubnd-cap-xa", dt.date(2026, 1, 1))
    assert len(members) == 125 and len({b.code for b in members if b.code}) == 124

    written = communes.read_bytes()
    again = kehoach("bodies", "communes", "--definitions", str(shipped_copy))
    assert again.returncode == 0 and "Thêm mới 0, cập nhật 0, giữ nguyên 124" in again.stdout
    assert communes.read_bytes() == written


def test_a_unit_encoded_in_another_file_is_reported_not_duplicated(
    shipped_copy: Path, replace: Callable[[Path, str, str], None]
) -> None:
    communes = shipped_copy / "bodies" / "communes.yaml"
    text = communes.read_text(encoding="utf-8")
    start = text.index("  - id: ubnd-phuong-my-lam\n")
    end = text.index("\n\n", start) + 2
    block = text[start:end].replace('    code: "02509"\n', "")
    communes.write_text(text[:start] + text[end:], encoding="utf-8")
    with (shipped_copy / "bodies.yaml").open("a", encoding="utf-8") as bodies:
        bodies.write("\n" + block)

    result = kehoach("bodies", "communes", "--definitions", str(shipped_copy))

    assert result.returncode == 0, result.stderr
    assert "Phường Mỹ Lâm (02509) đã có ở tệp khác với id ubnd-phuong-my-lam" in result.stdout
    assert 'code: "02509"' in result.stdout
    defs = load(shipped_copy)
    assert len(group_members(defs, "ubnd-cap-xa", dt.date(2026, 1, 1))) == 124


def test_without_a_declared_catalogue_the_command_says_what_to_declare(
    shipped_copy: Path, replace: Callable[[Path, str, str], None]
) -> None:
    wrong = kehoach("bodies", "communes", "--province", "99", "--definitions", str(shipped_copy))
    assert wrong.returncode == 2 and "ubnd-cap-xa (tỉnh 08)" in wrong.stderr
    # The catalogue's file is rewritten whole: a hand-written file of other bodies is refused.
    groups = shipped_copy / "groups.yaml"
    replace(groups, "      file: bodies/communes.yaml\n", "      file: bodies.yaml\n")
    shared = kehoach("bodies", "communes", "--definitions", str(shipped_copy))
    assert shared.returncode == 1 and "có cơ quan ngoài nhóm ubnd-cap-xa" in shared.stderr
    replace(groups, "      file: bodies.yaml\n", "      file: bodies/communes.yaml\n")
    text = groups.read_text(encoding="utf-8")
    start = text.index("    catalogue:\n")
    end = text.index("\n\n", start) + 1
    groups.write_text(text[:start] + text[end:], encoding="utf-8")
    result = kehoach("bodies", "communes", "--definitions", str(shipped_copy))
    assert result.returncode == 1
    assert "chưa nhóm nào khai báo 'catalogue'" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_counts_placeholder_mailboxes_and_warns_of_unused_roles(
    shipped_copy: Path, replace: Callable[[Path, str, str], None]
) -> None:
    result = kehoach("validate", "--definitions", str(shipped_copy))
    assert result.returncode == 0, result.stderr
    active = len([b for b in load(shipped_copy).bodies.values() if b.exists_on(dt.date.today())])
    assert f"Hộp thư mẫu (.example): {active}/{active} cơ quan" in result.stdout
    assert "police" not in result.stderr  # it has its part now (fake-news-police-cases)

    (shipped_copy / "obligations" / "fake-news-police-cases.yaml").unlink()
    replace(
        shipped_copy / "bodies.yaml",
        "      to: [van-thu@so-tu-phap.tuyenquang.example]\n"
        "      head: [giam-doc@so-tu-phap.tuyenquang.example]\n"
        "      cc: [truyen-thong@so-tu-phap.tuyenquang.example]\n",
        "      to: [vanthu@sotuphap.tuyenquang.gov.vn]\n",
    )
    result = kehoach("validate", "--definitions", str(shipped_copy))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if "'police'" in line)
    assert line.startswith("groups.yaml:") or "/groups.yaml:" in line
    assert "cảnh báo: vai trò 'police' không được nghĩa vụ nào dùng" in line
    assert f"Hộp thư mẫu (.example): {active - 1}/{active} cơ quan" in result.stdout

"""`kehoach bodies …`: commune-level bodies from the official catalogue, and the address book.

Both commands write a definitions file, then load the whole set again: if it no longer
validates, the file is put back as it was and the problems are printed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from cli.common import DefinitionsOption, definitions_dir, fail, load_or_exit
from engine.definitions.models import Body, Definitions, Group

app = typer.Typer(
    help="Cơ quan: UBND cấp xã từ danh mục chính thức, nhập danh bạ hộp thư.",
    no_args_is_help=True,
)

COMMUNES_HEADER = """\
{name} (nhóm {group}): các đơn vị hành chính của tỉnh mã {province} theo danh mục chính thức
của Tổng cục Thống kê (gói vietnam-provinces), {count} đơn vị.

Tệp này do lệnh `kehoach bodies communes` ghi (khai báo ở mục 'catalogue' của nhóm trong
groups.yaml). Chạy lại lệnh khi danh mục thay đổi: lệnh giữ nguyên id và mọi dữ liệu đã sửa tay
của từng đơn vị (tên khác, hộp thư, người phát ngôn, ngày kết thúc, cơ quan kế thừa), chỉ cập
nhật mã và tên theo danh mục; đơn vị không còn trong danh mục được giữ lại để ghi valid_to và
successors. Chú thích (#) trong tệp bị ghi đè.

Hộp thư ở đây là hộp thư mẫu (.example). Hộp thư thật nhập từ danh bạ của tỉnh bằng
`kehoach bodies import TỆP.xlsx` (ghi vào addresses.yaml), không sửa ở đây."""

ADDRESSES_HEADER = """\
Danh bạ hộp thư của các cơ quan, do lệnh `kehoach bodies import` ghi từ bảng tính của tỉnh.
Mỗi mục thay hộp thư của một cơ quan trong bodies.yaml: `to` (văn thư, nhận yêu cầu), `head`
(thủ trưởng, nhận thư đôn đốc), `cc` (đồng gửi); khóa không ghi thì giữ hộp thư trong bodies.yaml.
Sửa tay được; lần nhập sau chỉ thay các cơ quan có trong bảng tính mới."""


def _write_checked(directory: Path, target: Path, text: str) -> None:
    """Write `text` to `target` atomically; restore the old file if the set stops validating."""
    from engine.definitions.loader import load_definitions

    before = target.read_bytes() if target.exists() else None
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
    result = load_definitions(directory)
    if not result.problems:
        return
    if before is None:
        target.unlink()
    else:
        target.write_bytes(before)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    fail(f"sau khi ghi, định nghĩa có {len(result.problems)} lỗi: đã khôi phục {target}")


# --- communes ---------------------------------------------------------------------------------


def _catalogue_groups(defs: Definitions, province: str | None, group: str | None) -> list[Group]:
    declared = [g for g in defs.groups.values() if g.catalogue is not None]
    if not declared:
        fail(
            "chưa nhóm nào khai báo 'catalogue' trong groups.yaml (mã tỉnh, tệp ghi, ngày bắt"
            " đầu, hộp thư mẫu): xem definitions/README.md"
        )
    chosen = [
        g
        for g in declared
        if (group is None or g.id == group)
        and (province is None or g.catalogue.province == province.zfill(2))
    ]
    if not chosen:
        known = ", ".join(f"{g.id} (tỉnh {g.catalogue.province})" for g in declared)
        fail(f"không có nhóm khai báo danh mục phù hợp; các nhóm có danh mục: {known}", 2)
    return chosen


def official_units(province: str) -> list:
    """The catalogue's units of a province (code, name, ASCII codename), by code."""
    from vietnam_provinces import ProvinceCode, Ward

    from engine.definitions.catalogue import OfficialUnit, unit_code

    try:
        code = ProvinceCode(int(province))
    except ValueError:
        fail(f"mã tỉnh '{province}' không có trong danh mục đơn vị hành chính")
    return [
        OfficialUnit(code=unit_code(w.code.value), name=w.name, codename=w.codename)
        for w in Ward.iter_by_province(code)
    ]


def _file_bodies(target: Path) -> list[Body]:
    from engine.definitions.models import BodiesFile
    from engine.definitions.yamlmarks import read_yaml

    if not target.exists():
        return []
    value = read_yaml(target.read_bytes()).value
    if not isinstance(value, dict) or "bodies" not in value:
        fail(f"{target} đã có và không phải tệp cơ quan (khóa 'bodies:'): chọn tệp khác")
    return BodiesFile.model_validate(value).bodies


def communes(
    province: str | None = typer.Option(
        None, "--province", help="Chỉ nhóm khai báo mã tỉnh này (2 chữ số), ví dụ 08."
    ),
    group: str | None = typer.Option(None, "--group", help="Chỉ nhóm này, ví dụ ubnd-cap-xa."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ in thay đổi, không ghi tệp."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Ghi UBND cấp xã của tỉnh từ danh mục đơn vị hành chính chính thức vào định nghĩa."""
    from engine.definitions.catalogue import body_data, merge_catalogue, render_items

    directory = definitions_dir(definitions)
    defs = load_or_exit(definitions)
    for chosen in _catalogue_groups(defs, province, group):
        catalogue = chosen.catalogue
        units = official_units(catalogue.province)
        if not units:
            fail(f"danh mục không có đơn vị nào của tỉnh mã {catalogue.province}")
        target = directory / catalogue.file
        in_file = _file_bodies(target)
        foreign = [b.id for b in in_file if chosen.id not in b.groups]
        if foreign:
            fail(
                f"{catalogue.file} có cơ quan ngoài nhóm {chosen.id} ({', '.join(foreign[:5])}):"
                " tệp của danh mục được ghi lại toàn bộ, hãy khai báo một tệp riêng cho nhóm"
            )
        names = {b.id for b in in_file}
        elsewhere = [b for b in defs.bodies.values() if b.id not in names]
        merge = merge_catalogue(chosen, units, in_file, elsewhere)
        _print_merge(chosen, len(units), catalogue.file, merge, dry_run)
        if dry_run:
            continue
        header = COMMUNES_HEADER.format(
            name=chosen.name, group=chosen.id, province=catalogue.province, count=len(units)
        )
        text = render_items("bodies", [body_data(b) for b in merge.bodies], header)
        _write_checked(directory, target, text)
        print(f"Đã ghi {len(merge.bodies)} cơ quan vào {target}.")


def _print_merge(group: Group, count: int, file: str, merge, dry_run: bool) -> None:
    print(
        f"Nhóm {group.id} (tỉnh {group.catalogue.province}): danh mục có {count} đơn vị."
        f" Thêm mới {len(merge.added)}, cập nhật {len(merge.updated)}, giữ nguyên"
        f" {len(merge.unchanged)}, đã khai báo ở tệp khác {len(merge.elsewhere)}."
    )
    for before, after in merge.updated:
        what = [f"mã {after.code}" if before.code != after.code else ""]
        if before.name != after.name:
            what.append(f"tên '{after.name}' (trước: '{before.name}')")
        what.append("thêm tên khác theo danh mục" if before.aliases != after.aliases else "")
        print(f"  cập nhật {after.id}: {', '.join(w for w in what if w) or 'nhóm'}")
    for unit, body in merge.elsewhere:
        hint = "" if body.code else f"; nên thêm 'code: \"{unit.code}\"' vào mục đó"
        print(f"  {unit.name} ({unit.code}) đã có ở tệp khác với id {body.id}{hint}")
    for body in merge.not_in_catalogue:
        print(
            f"  {body.id} ({body.name}) không còn trong danh mục: giữ lại; nếu đơn vị đã giải"
            " thể hoặc sáp nhập, ghi valid_to và successors"
        )
    if dry_run:
        for body in merge.added:
            print(f"  thêm {body.id}: {body.code} {body.name}")
        print(f"Chạy thử: chưa ghi {file}.")


# --- address book import -----------------------------------------------------------------------


def import_book(
    file: Path = typer.Argument(..., help="Bảng tính danh bạ: .xlsx hoặc .csv (UTF-8)."),
    sheet: str | None = typer.Option(None, "--sheet", help="Trang tính (mặc định: trang đầu)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ in thay đổi, không ghi tệp."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Nhập hộp thư của các cơ quan từ bảng tính của tỉnh (ghi addresses.yaml)."""
    from cli.address_book import BookError, read_book
    from engine.calendar import today_in_vietnam
    from engine.definitions.addressbook import (
        ADDRESSES_FILE,
        mailbox_changes,
        match_book,
        merge_entries,
    )
    from engine.definitions.catalogue import render_items

    directory = definitions_dir(definitions)
    defs = load_or_exit(definitions)
    try:
        rows = read_book(file, sheet)
    except BookError as error:
        fail(str(error), 2)
    result = match_book(defs, rows, today_in_vietnam(), file.name)
    _print_import(result, len(rows))
    changes = mailbox_changes(defs, result.entries.values())
    print(f"Thay đổi hộp thư ({len(changes)})" + (":" if changes else ": không có."))
    for body, kind, before, after in changes:
        print(f"  {body.id} {kind}: {', '.join(before) or '(trống)'} → {', '.join(after)}")
    if dry_run:
        print(f"Chạy thử: chưa ghi {directory / ADDRESSES_FILE}.")
    elif result.entries:
        target = directory / ADDRESSES_FILE
        entries = merge_entries(_file_entries(target), result.entries)
        data = [entry.model_dump(exclude_defaults=True) for entry in entries]
        _write_checked(directory, target, render_items("addresses", data, ADDRESSES_HEADER))
        print(f"Đã ghi hộp thư của {len(result.entries)} cơ quan vào {target}.")
    if result.refused:
        fail(f"{result.refused} dòng không được nhập (xem ở trên); sửa bảng tính rồi nhập lại.")


def _file_entries(target: Path) -> list:
    from engine.definitions.models import AddressesFile
    from engine.definitions.yamlmarks import read_yaml

    if not target.exists():
        return []
    value = read_yaml(target.read_bytes()).value
    if not isinstance(value, dict) or "addresses" not in value:
        fail(f"{target} đã có và không phải tệp danh bạ (khóa 'addresses:')")
    return AddressesFile.model_validate(value).addresses


def _print_import(result, total: int) -> None:
    print(
        f"Đọc {total} dòng: khớp {len(result.matched)}, không khớp {len(result.unmatched)},"
        f" địa chỉ không hợp lệ {len(result.invalid)}, trùng {len(result.duplicates)}."
    )
    for match in result.matched:
        print(f"  dòng {match.row.number}: {match.row.label} → {match.body.id} (theo {match.how})")
    for row, reason in result.unmatched:
        print(f"  dòng {row.number}: không khớp — {reason}")
    for row, reason in result.invalid:
        print(f"  dòng {row.number}: bị từ chối — {row.label}: {reason}")
    for row, first, body, conflict in result.duplicates:
        what = "hộp thư khác nhau, không nhập cả hai" if conflict else "cùng hộp thư, bỏ qua"
        print(f"  dòng {row.number}: trùng dòng {first} ({body.id}) — {what}")


def register(root: typer.Typer) -> None:
    app.command()(communes)
    app.command("import")(import_book)
    root.add_typer(app, name="bodies")

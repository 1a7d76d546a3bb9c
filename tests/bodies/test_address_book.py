"""`kehoach bodies import`: the province's address book, from a real .xlsx (openpyxl) and a
.csv, into addresses.yaml, which the loader lays over the bodies' own mailboxes."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from engine.definitions.loader import load_definitions
from tests.bodies.conftest import kehoach, load

HEADER = ["STT", "Mã đơn vị", "Tên cơ quan, đơn vị", "Hộp thư văn thư", "Email thủ trưởng"]
HEADER.append("Đồng gửi")


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Danh bạ"
    sheet.append(["DANH BẠ HỘP THƯ CÔNG VỤ CÁC CƠ QUAN, ĐỊA PHƯƠNG"])  # a title row above
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


BOOK = [
    # row 3: by code, typed as a number by the spreadsheet (02269 → 2269)
    [1, 2269, "Xã Thượng Lâm", "vanthu@thuonglam.tq.example", "chutich@thuonglam.tq.example", ""],
    # row 4: by name with diacritics, two cc addresses in one cell
    [2, None, "Sở Tư pháp", "vanthu@stp.tq.example", "", "a@stp.tq.example; b@stp.tq.example"],
    # row 5: by name typed without diacritics, "Uỷ" spelt the old way
    [3, None, "Uy ban nhan dan xa Lam Binh", "vanthu@lambinh.tq.example", "", ""],
    # row 6: nobody of that name
    [4, None, "Sở Không Tồn Tại", "x@tq.example", "", ""],
    # row 7: an invalid address
    [5, None, "Sở Y tế", "van thu@soyte", "", ""],
    # rows 8 and 9: the same body twice with different mailboxes: neither is taken
    [6, None, "UBND phường Mỹ Lâm", "mot@mylam.tq.example", "", ""],
    [7, "02509", "", "hai@mylam.tq.example", "", ""],
    # row 10: the same as row 4 again: a harmless duplicate
    [8, None, "Sở Tư pháp", "vanthu@stp.tq.example", "", "a@stp.tq.example; b@stp.tq.example"],
]


def test_xlsx_import_matches_refuses_and_writes_after_a_dry_run(
    shipped_copy: Path, tmp_path: Path
) -> None:
    book = write_xlsx(tmp_path / "danh-ba.xlsx", BOOK)
    target = shipped_copy / "addresses.yaml"

    dry = kehoach("bodies", "import", str(book), "--dry-run", "--definitions", str(shipped_copy))

    assert "Traceback" not in dry.stderr
    assert dry.returncode == 1  # some rows were refused
    assert not target.exists()
    out = dry.stdout
    assert "Đọc 8 dòng: khớp 3, không khớp 1, địa chỉ không hợp lệ 1, trùng 2." in out
    assert "dòng 3: 2269 / Xã Thượng Lâm → ubnd-xa-thuong-lam (theo mã)" in out
    assert "dòng 4: Sở Tư pháp → so-tu-phap (theo tên)" in out
    assert "dòng 5: Uy ban nhan dan xa Lam Binh → ubnd-xa-lam-binh (theo tên không dấu)" in out
    assert "dòng 6: không khớp — không tìm thấy cơ quan tên 'Sở Không Tồn Tại'" in out
    assert "dòng 7: bị từ chối — Sở Y tế: địa chỉ thư không hợp lệ: van thu@soyte" in out
    assert "dòng 9: trùng dòng 8 (ubnd-phuong-my-lam) — hộp thư khác nhau" in out
    assert "dòng 10: trùng dòng 4 (so-tu-phap) — cùng hộp thư" in out
    assert "so-tu-phap to: van-thu@so-tu-phap.tuyenquang.example → vanthu@stp.tq.example" in out
    assert "4 dòng không được nhập" in dry.stderr  # rows 6, 7, 8 and 9

    done = kehoach("bodies", "import", str(book), "--definitions", str(shipped_copy))

    assert done.returncode == 1 and "Đã ghi hộp thư của 3 cơ quan" in done.stdout
    defs = load(shipped_copy)
    assert defs.bodies["ubnd-xa-thuong-lam"].mailboxes.to == ["vanthu@thuonglam.tq.example"]
    assert defs.bodies["ubnd-xa-thuong-lam"].mailboxes.head == ["chutich@thuonglam.tq.example"]
    tu_phap = defs.bodies["so-tu-phap"].mailboxes
    assert tu_phap.cc == ["a@stp.tq.example", "b@stp.tq.example"]
    assert tu_phap.head == ["giam-doc@so-tu-phap.tuyenquang.example"]  # not in the book: kept
    assert defs.bodies["ubnd-xa-lam-binh"].mailboxes.to == ["vanthu@lambinh.tq.example"]
    my_lam = defs.bodies["ubnd-phuong-my-lam"].mailboxes.to
    assert my_lam == ["van-thu@ubnd-phuong-my-lam.tuyenquang.example"]
    assert "danh-ba.xlsx, dòng 3" in target.read_text(encoding="utf-8")
    # bodies.yaml itself is untouched: the overlay is the only change.
    assert "vanthu@" not in (shipped_copy / "bodies.yaml").read_text(encoding="utf-8")


def test_csv_import_with_semicolons_keeps_earlier_imports(
    shipped_copy: Path, tmp_path: Path
) -> None:
    first = write_xlsx(tmp_path / "dot-1.xlsx", [BOOK[0]])
    first_done = kehoach("bodies", "import", str(first), "--definitions", str(shipped_copy))
    assert first_done.returncode == 0, first_done.stdout + first_done.stderr
    csv_file = tmp_path / "dot-2.csv"
    csv_file.write_text(
        "Tên;Email;Hộp thư lãnh đạo\n"
        "Công an tỉnh Tuyên Quang;vanthu@congan.tq.example;giamdoc@congan.tq.example\n"
        "Ủy ban nhân dân xã Thượng Lâm;;moi@thuonglam.tq.example\n",
        encoding="utf-8-sig",
    )

    done = kehoach("bodies", "import", str(csv_file), "--definitions", str(shipped_copy))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Đọc 2 dòng: khớp 2, không khớp 0, địa chỉ không hợp lệ 0, trùng 0." in done.stdout
    defs = load(shipped_copy)
    assert defs.bodies["cong-an-tinh"].mailboxes.head == ["giamdoc@congan.tq.example"]
    thuong_lam = defs.bodies["ubnd-xa-thuong-lam"].mailboxes
    assert thuong_lam.to == ["vanthu@thuonglam.tq.example"]  # from the first import
    assert thuong_lam.head == ["moi@thuonglam.tq.example"]  # replaced by the second


def test_unreadable_books_are_refused_in_vietnamese(shipped_copy: Path, tmp_path: Path) -> None:
    no_header = tmp_path / "khong-tieu-de.csv"
    no_header.write_text("a,b\n1,2\n", encoding="utf-8")
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    for path, words in (
        (no_header, "không tìm thấy dòng tiêu đề"),
        (broken, "không phải bảng tính .xlsx hợp lệ"),
        (tmp_path / "danh-ba.ods", "không tìm thấy tệp"),
    ):
        result = kehoach("bodies", "import", str(path), "--definitions", str(shipped_copy))
        assert result.returncode == 2, result.stderr
        assert words in result.stderr and "Traceback" not in result.stderr
    assert not (shipped_copy / "addresses.yaml").exists()


def test_the_overlay_file_is_validated_with_its_own_lines(shipped_copy: Path) -> None:
    (shipped_copy / "addresses.yaml").write_text(
        "addresses:\n"
        "  - body: so-tu-phap\n"
        "    to: [vanthu@stp.tq.example]\n"
        "  - body: so-tu-phapp\n"
        "    to: [x@stp.tq.example]\n"
        "  - body: so-y-te\n"
        "    head: [giam doc@soyte.tq.example]\n"
        "  - body: so-tu-phap\n"
        "    cc: [y@stp.tq.example]\n",
        encoding="utf-8",
    )

    result = load_definitions(shipped_copy)

    problems = {(p.path.rsplit("/", 1)[-1], p.line): p.message for p in result.problems}
    assert result.definitions is None
    assert (
        "cơ quan 'so-tu-phapp' không tồn tại; có phải 'so-tu-phap'?"
        in problems[("addresses.yaml", 4)]
    )
    assert "không hợp lệ: 'giam doc@soyte.tq.example'" in problems[("addresses.yaml", 7)]
    assert "bị khai báo trùng" in problems[("addresses.yaml", 8)]


def test_vietnamese_headers_and_names_are_recognised_as_people_write_them() -> None:
    from cli.address_book import column_kind
    from engine.definitions.namekeys import name_key, plain_key

    expected = {
        "Mã": "code",
        "Mã ĐVHC": "code",
        "Tên đơn vị": "name",
        "Cơ quan": "name",
        "Email": "to",
        "Thư điện tử công vụ": "to",
        "Hộp thư văn thư": "to",
        "Email Thủ trưởng": "head",
        "Hộp thư lãnh đạo": "head",
        "Đồng gửi": "cc",
        "CC": "cc",
        "STT": None,
        "Ghi chú": None,
    }
    assert {header: column_kind(header) for header in expected} == expected
    assert name_key("Sở Lao động – Thương binh  và Xã hội") == name_key(
        "sở lao động - thương binh và xã hội"
    )
    assert plain_key("Uỷ ban nhân dân xã Đồng Văn") == plain_key("UY BAN NHAN DAN XA DONG VAN")
    assert name_key("Uỷ ban") != name_key("Ủy ban")  # only the plain key folds tone placement

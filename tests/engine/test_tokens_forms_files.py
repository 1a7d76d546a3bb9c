"""Signed links, form validation and attachment checks: the core of what agencies send us."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from engine import files
from engine.definitions.models import Form
from engine.forms import FormErrors, validate_submission
from engine.tokens import TokenError, load_or_create_secret, sign, verify

DAY = dt.date(2026, 12, 20)


def test_a_signed_link_names_its_assignment_until_it_expires() -> None:
    token = sign(42, DAY, "k1")
    assert verify(token, "k1", DAY) == 42
    with pytest.raises(TokenError, match="hết hạn"):
        verify(token, "k1", DAY + dt.timedelta(days=1))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("42.", "43.", 1),  # another assignment
        lambda t: t.replace(".20261220.", ".20271220."),  # a later expiry
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # a changed signature
        lambda t: "garbage",
        lambda t: "",
        lambda t: t + ".x",
    ],
)
def test_tampered_or_forged_links_are_refused(mutate) -> None:
    with pytest.raises(TokenError):
        verify(mutate(sign(42, DAY, "k1")), "k1", DAY)


def test_a_link_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TokenError):
        verify(sign(42, DAY, "other"), "k1", DAY)


def test_the_generated_key_is_kept(tmp_path: Path) -> None:
    first = load_or_create_secret(None, tmp_path)
    assert first == load_or_create_secret(None, tmp_path) and len(first) > 30
    assert load_or_create_secret("g" * 32, tmp_path) == "g" * 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


FORM = Form.model_validate(
    {
        "fields": [
            {"id": "so_tin", "label": "Số tin", "type": "integer", "required": True, "min": 0},
            {"id": "kinh_phi", "label": "Kinh phí", "type": "decimal"},
            {"id": "ngay", "label": "Ngày", "type": "date"},
            {"id": "muc", "label": "Mức", "type": "choice", "choices": ["Tốt", "Khá"]},
            {"id": "ket_qua", "label": "Kết quả", "type": "long-text", "required": True},
            {"id": "tep", "label": "Tệp", "type": "file", "required": True},
        ]
    }
)


def test_good_answers_are_cleaned() -> None:
    values = validate_submission(
        FORM,
        {
            "so_tin": "1.200",
            "kinh_phi": "1.500.000,5",
            "ngay": "2026-03-01",
            "muc": "Khá",
            "ket_qua": " Đã làm. ",
        },
        attachments=1,
    )
    assert values == {
        "so_tin": 1200,
        "kinh_phi": "1500000.5",
        "ngay": "2026-03-01",
        "muc": "Khá",
        "ket_qua": "Đã làm.",
    }


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(FormErrors) as caught:
        validate_submission(
            FORM,
            {"so_tin": "-3", "kinh_phi": "nhiều", "ngay": "31/02", "muc": "Xuất sắc", "la": "x"},
            attachments=0,
        )
    errors = caught.value.errors
    assert set(errors) == {"so_tin", "kinh_phi", "ngay", "muc", "la", "ket_qua", "tep"}
    assert "bắt buộc" in errors["ket_qua"] and "lớn hơn" in errors["so_tin"]


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_files_are_known_by_content_not_name(tmp_path: Path) -> None:
    stored = files.store(b"%PDF-1.7 body", "../../etc/báo cáo.pdf", tmp_path, ["pdf"], 1)
    assert stored.file_name == "báo cáo.pdf" and stored.kind == "pdf"
    assert files.path_for(tmp_path, stored.sha256).read_bytes() == b"%PDF-1.7 body"
    assert files.sniff(docx_bytes()) == "docx"
    with pytest.raises(files.FileRefused, match="không phải loại"):
        files.check(b"MZ\x90\x00 an executable", "bao-cao.pdf", ["pdf"], 1)
    with pytest.raises(files.FileRefused, match="vượt quá"):
        files.check(b"%PDF-" + b"0" * 2_000_000, "lon.pdf", ["pdf"], 1)
    with pytest.raises(files.FileRefused, match="rỗng"):
        files.check(b"", "rong.pdf", ["pdf"], 1)
    assert files.safe_name("..\\..\\x.pdf") == "x.pdf"
    assert files.safe_name("") == "tep-dinh-kem"

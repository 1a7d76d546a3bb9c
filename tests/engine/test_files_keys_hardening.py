"""Issue 13 on the engine's side: archive bombs, macro documents and foreign extensions in
attachments; the link-signing key; links with odd digits and revision rounds."""

from __future__ import annotations

import io
import os
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from engine import files
from engine.tokens import (
    SecretKeyInvalid,
    TokenError,
    load_or_create_secret,
    read_link,
    sign,
    verify,
)
from notifications.compose import Links

MIB = 1024 * 1024
ODT = files.CONTENT_TYPES["odt"]


def zip_with(members: list[tuple[str, int, int | bytes]]) -> bytes:
    """A zip whose members are (name, method, content or a size of zeros). Large zero members
    are written from a precompressed stream so that the test does not inflate them itself."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, method, content in members:
            if isinstance(content, bytes):
                archive.writestr(zipfile.ZipInfo(name), content, compress_type=method)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            with archive.open(info, "w", force_zip64=True) as member:
                member.write(b"\0" * content)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """The issue's archive bombs, made once: a .docx/.odt whose `mimetype` member expands to
    32 MiB through bzip2 (a few hundred bytes on the wire) or 64 MiB through deflate, and a
    .docx whose document part is a 64 MiB deflate bomb. (The issue's 1 GiB takes 14 s to
    build; the inspection never inflates a member, so the size only changes the old cost.)"""
    return {
        "bzip2 mimetype": zip_with(
            [("mimetype", zipfile.ZIP_BZIP2, 32 * MIB), ("[Content_Types].xml", 0, b"<T/>")]
        ),
        "deflate mimetype": zip_with([("mimetype", zipfile.ZIP_DEFLATED, 64 * MIB)]),
        "deflate document": zip_with(
            [
                ("[Content_Types].xml", zipfile.ZIP_DEFLATED, b"<Types/>"),
                ("word/document.xml", zipfile.ZIP_DEFLATED, 64 * MIB),
            ]
        ),
    }


@pytest.mark.parametrize("bomb", ["bzip2 mimetype", "deflate mimetype", "deflate document"])
def test_archive_bombs_are_refused_in_bounded_memory_and_time(bombs, bomb: str) -> None:
    data = bombs[bomb]
    assert len(data) < 200 * 1024  # small on the wire, huge once inflated
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(files.FileRefused, match="bất thường"):
            files.inspect(data, "bao-cao.docx", ["docx", "odt", "xlsx"], 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MIB, f"{bomb}: {peak / MIB:.1f} MiB allocated while inspecting"
    assert time.perf_counter() - started < 1.0


def test_a_member_lying_about_its_size_is_read_only_as_far_as_it_claims() -> None:
    # The central directory says 40 bytes; the deflate stream behind it holds 8 MiB.
    honest = zip_with([("mimetype", zipfile.ZIP_DEFLATED, ODT.encode() + b" " * 8 * MIB)])
    liar = bytearray(honest)
    real = (len(ODT) + 8 * MIB).to_bytes(4, "little")
    fake = (40).to_bytes(4, "little")
    assert liar.count(real) == 2  # local header and central directory
    liar = bytes(liar).replace(real, fake)
    tracemalloc.start()
    try:
        with pytest.raises(files.FileRefused):
            files.inspect(liar, "x.odt", ["odt"], 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MIB


def test_broken_archives_are_refused_not_raised() -> None:
    good = zip_with(
        [("mimetype", zipfile.ZIP_DEFLATED, ODT.encode() + b" " * 500), ("content.xml", 0, b"<x/>")]
    )
    assert files.sniff(good) == "odt"
    start = good.index(b"mimetype") + len(b"mimetype")
    # Corrupt the deflate stream of `mimetype`: zlib.error before, a refusal now.
    broken = good[:start] + bytes(b ^ 0xFF for b in good[start : start + 30]) + good[start + 30 :]
    with pytest.raises(files.FileRefused, match="hỏng"):
        files.inspect(broken, "x.odt", ["odt"], 20)
    with pytest.raises(files.FileRefused):
        files.inspect(b"PK\x03\x04" + b"\0" * 100, "x.docx", ["docx"], 20)
    many = zip_with([(f"word/{n}.xml", 0, b"") for n in range(files.MAX_ZIP_MEMBERS + 1)])
    with pytest.raises(files.FileRefused, match="quá nhiều"):
        files.inspect(many, "x.docx", ["docx"], 20)


def test_macro_documents_are_refused() -> None:
    docm = zip_with(
        [
            (
                "[Content_Types].xml",
                zipfile.ZIP_DEFLATED,
                b'<Types><Override ContentType="application/vnd.ms-word.document.'
                b'macroEnabled.main+xml"/></Types>',
            ),
            ("word/document.xml", zipfile.ZIP_DEFLATED, b"<w:document/>"),
            ("word/vbaProject.bin", zipfile.ZIP_DEFLATED, b"\xd0\xcf\x11\xe0 macro"),
        ]
    )
    with pytest.raises(files.FileRefused, match="macro"):
        files.inspect(docm, "bao-cao.docx", ["docx"], 20)
    xlsm = zip_with(
        [
            ("[Content_Types].xml", 0, b"<Types/>"),
            ("xl/workbook.xml", 0, b"<workbook/>"),
            ("xl/vbaProject.bin", 0, b"macro"),
        ]
    )
    with pytest.raises(files.FileRefused, match="macro"):
        files.inspect(xlsm, "so-lieu.xlsx", ["xlsx"], 20)
    odt_basic = zip_with(
        [("mimetype", 0, ODT.encode()), ("Basic/Standard/Module1.xml", 0, b"<m/>")]
    )
    with pytest.raises(files.FileRefused, match="macro"):
        files.inspect(odt_basic, "x.odt", ["odt"], 20)


PDF = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"


@pytest.mark.parametrize(
    ("given", "served"),
    [
        ("bao-cao.html", "bao-cao.pdf"),
        ("bao-cao.pdf.hta", "bao-cao.pdf"),
        ("bao-cao.PDF", "bao-cao.pdf"),
        ("Báo cáo quý 1.2026.pdf", "Báo cáo quý 1.2026.pdf"),
        ("bao-cao v1.2", "bao-cao v1.2.pdf"),
        (".html", "html.pdf"),
        ("bao-cao", "bao-cao.pdf"),
    ],
)
def test_the_stored_name_takes_its_extension_from_the_content(
    tmp_path: Path, given: str, served: str
) -> None:
    stored = files.store(PDF, given, tmp_path, ["pdf"], 1)
    assert stored.file_name == served and stored.content_type == "application/pdf"
    # Files recorded before this rule are served under a corrected name too.
    assert files.served_name(given, "application/pdf") == served


def test_inspect_reads_a_path_only_after_its_size(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(PDF)
    assert files.inspect(path, "x.pdf", ["pdf"], 1).kind == "pdf"
    path.write_bytes(b"%PDF-" + b"0" * (2 * MIB))
    with pytest.raises(files.FileRefused, match="vượt quá"):
        files.inspect(path, "x.pdf", ["pdf"], 1)


def test_stored_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        stored = files.store(PDF, "x.pdf", tmp_path / "files", ["pdf"], 1)
    finally:
        os.umask(old)
    path = files.path_for(tmp_path / "files", stored.sha256)
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "files").stat().st_mode & 0o777 == 0o700


# --- the signing key -------------------------------------------------------------------------


def test_the_generated_key_is_private_from_its_creation(tmp_path: Path) -> None:
    old = os.umask(0)  # even a careless umask leaves the key unreadable to others
    try:
        key = load_or_create_secret(None, tmp_path / "var")
    finally:
        os.umask(old)
    path = tmp_path / "var" / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600 and len(key.encode()) >= 32
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    assert not list((tmp_path / "var").glob(".secret_key*"))  # no world-readable temporary


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_or_create_secret(None, tmp_path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1


@pytest.mark.parametrize("content", ["", "\n", "ngan"])
def test_an_empty_or_short_key_file_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "secret_key").write_text(content)
    with pytest.raises(SecretKeyInvalid, match="ít nhất 32 byte"):
        load_or_create_secret(None, tmp_path)


@pytest.mark.parametrize("given", ["", "k", "x" * 31])
def test_a_short_key_from_the_environment_is_refused(tmp_path: Path, given: str) -> None:
    with pytest.raises(SecretKeyInvalid, match="KEHOACH_SECRET_KEY"):
        load_or_create_secret(given, tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_the_key_is_not_in_repr() -> None:
    key = "k" * 40
    links = Links("http://127.0.0.1:8080", key)
    assert key not in repr(links) and key not in str(links)
    assert links.secret == key  # still usable for signing
    from engine.settings import Settings

    settings = Settings(secret_key=key)
    assert key not in repr(settings)


def test_the_cli_says_why_a_short_key_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {
        **os.environ,
        "KEHOACH_SECRET_KEY": "k",
        "KEHOACH_VAR_DIR": str(tmp_path),
        "KEHOACH_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "portal", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    assert "KEHOACH_SECRET_KEY) phải dài ít nhất 32 byte" in result.stderr


# --- links -----------------------------------------------------------------------------------

DAY = __import__("datetime").date(2026, 12, 20)


@pytest.mark.parametrize(
    "token", ["².20261221.x", "1.20261221.é", "١.20261221.abc", "1.²0261221.abc", "1.2026122.a"]
)
def test_links_with_unicode_digits_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        read_link(token, "k" * 32)


def test_each_revision_round_has_its_own_link() -> None:
    first = sign(42, DAY, "k" * 32)
    second = sign(42, DAY, "k" * 32, revision=1)
    assert first.count(".") == 2 and second.count(".") == 3 and first != second
    assert read_link(first, "k" * 32).revision == 0
    assert read_link(second, "k" * 32).revision == 1
    assert verify(second, "k" * 32, DAY) == 42
    # The round is signed: raising it by hand breaks the signature.
    forged = second.replace(".1.", ".2.")
    with pytest.raises(TokenError):
        read_link(forged, "k" * 32)

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from certification.portfolio.uploads import CheckedFile, UploadRejected, safe_filename
from certification.portfolio.uploads import check_upload as _check_upload
from certification.storage.blobs import FileSystemStorage
from tests.support.files import jpeg_with_gps, office, pdf_bytes
from tests.support.pdfs import encrypted

MB = 1024 * 1024


def check_upload(data: bytes, name: str, *, max_bytes: int) -> CheckedFile:
    # The PDF inspection in this process (tests/certification/portfolio/test_pdfscan.py goes through
    # the limited child the service uses).
    return _check_upload(data, name, max_bytes=max_bytes)


def png_header_only(width: int, height: int) -> bytes:
    # A tiny PNG that *claims* huge dimensions: the pixel flood must be refused from the header.
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


DOCX = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}


def test_pdf_is_accepted_with_a_safe_name() -> None:
    checked = check_upload(pdf_bytes(), "../../etc/Attestato finale.PDF", max_bytes=MB)
    assert checked.media_type == "application/pdf"
    assert checked.filename == "Attestato finale.pdf"


def test_images_are_reencoded_without_metadata() -> None:
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original
    checked = check_upload(original, "foto.jpeg", max_bytes=MB)
    assert checked.media_type == "image/jpeg" and checked.filename == "foto.jpg"
    assert b"PhoneMaker" not in checked.data
    assert not Image.open(io.BytesIO(checked.data)).getexif()


def test_png_stays_png() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(out, format="PNG")
    assert check_upload(out.getvalue(), "x.png", max_bytes=MB).media_type == "image/png"


def test_office_documents_are_recognised_by_content() -> None:
    assert check_upload(office(DOCX), "relazione.pdf", max_bytes=MB).filename == "relazione.docx"
    odt = office(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"},
        zipfile.ZIP_STORED,
    )
    assert check_upload(odt, "r.odt", max_bytes=MB).media_type.endswith("opendocument.text")


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "vuoto.pdf", "empty"),
        (b"<html><script>alert(1)</script></html>", "attestato.pdf", "type_not_allowed"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "type_not_allowed",
        ),
        (b"MZ\x90\x00" + b"\x00" * 100, "setup.pdf", "type_not_allowed"),
        (b"GIF89a" + b"\x00" * 20, "anim.gif", "type_not_allowed"),
        (
            pdf_bytes(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
            "x.pdf",
            "pdf_javascript",
        ),
        (pdf_bytes(b"/OpenAction << /S /Launch /F (cmd.exe) >>"), "x.pdf", "pdf_launch"),
        (encrypted(), "x.pdf", "encrypted"),
        (b"%PDF-1.7\ntruncated", "x.pdf", "pdf_unreadable"),
        (png_header_only(50_000, 50_000), "flood.png", "image_too_big"),
        (b"\xff\xd8\xff\xe0 not really a jpeg", "x.jpg", "damaged"),
        (
            office({"[Content_Types].xml": b"x", "word/document.xml": b"\x00" * 5_000_000}),
            "bomb.docx",
            "archive_bomb",
        ),
        (office({**DOCX, "word/vbaProject.bin": b"macro"}), "macro.docm", "active_content"),
        (office({"../../evil.txt": b"x"}), "slip.docx", "type_not_allowed"),
        (office({"just.txt": b"plain zip"}), "archive.zip", "type_not_allowed"),
        (b"PK\x03\x04garbage", "broken.docx", "damaged"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "",
)
def test_refused_uploads(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(UploadRejected) as info:
        check_upload(data, name, max_bytes=10 * MB)
    assert info.value.params["reason"] == reason
    assert info.value.errors == {"file": [reason]}


def _with_entries(base: dict[str, bytes], total: int) -> bytes:
    fillers = {f"word/media/part{i}.xml": b"<x/>" for i in range(total - len(base))}
    return office({**base, **fillers})


ODT = {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}


@pytest.mark.parametrize("base", [DOCX, ODT], ids=["ooxml", "odf"])
def test_an_office_document_has_at_most_1000_entries(base: dict[str, bytes]) -> None:
    assert len(zipfile.ZipFile(io.BytesIO(_with_entries(base, 1_000))).infolist()) == 1_000
    assert check_upload(_with_entries(base, 1_000), "r.docx", max_bytes=10 * MB)
    with pytest.raises(UploadRejected) as info:
        check_upload(_with_entries(base, 1_001), "r.docx", max_bytes=10 * MB)
    assert info.value.params["reason"] == "archive_bomb"


def test_size_cap() -> None:
    with pytest.raises(UploadRejected) as info:
        check_upload(pdf_bytes(b"x" * 2000), "big.pdf", max_bytes=1000)
    assert info.value.params["reason"] == "too_large"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("C:\\Users\\me\\cv.pdf", "cv.pdf"),
        ("../../../etc/passwd", "passwd.pdf"),
        ("\x00\x1bevil\u202egnp.pdf", "evilgnp.pdf"),
        ("<script>.pdf", "script.pdf"),
        ("", "file.pdf"),
        ("perché è così.pdf", "perché è così.pdf"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name, "pdf") == expected


def test_storage_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    storage = FileSystemStorage(tmp_path)
    sha = storage.put(b"hello")
    assert sha == storage.put(b"hello")
    assert storage.get(sha) == b"hello" and storage.exists(sha)
    assert not list(tmp_path.rglob(".tmp-*"))
    for bad in ("../../etc/passwd", "A" * 64, sha[:-1]):
        assert not storage.exists(bad)
        with pytest.raises(KeyError):
            storage.get(bad)
    storage.delete(sha)
    assert not storage.exists(sha)

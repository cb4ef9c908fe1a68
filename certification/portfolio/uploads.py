"""Checking uploaded evidence files: the type from the content, never the name (security.md §3.5).

Allowed: PDF (without active content, inspected on its parsed objects by
``certification.portfolio.pdfscan``), JPEG/PNG/WebP images (re-encoded, so metadata such as GPS
positions is dropped), and office documents (OOXML and OpenDocument, checked as ZIP archives
before anything is unpacked). Everything else — HTML named .pdf, SVG, executables, archives —
is refused with a reason code.
"""

from __future__ import annotations

import io
import lzma
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from certification.errors import InvalidInput

MAX_IMAGE_PIXELS: Final = 40_000_000
# Counted in the central directory, before anything is unpacked: real documents have tens.
MAX_ZIP_ENTRIES: Final = 1_000
MAX_ZIP_UNPACKED: Final = 100 * 1024 * 1024
MAX_ZIP_RATIO: Final = 100

OOXML = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
ODF = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
# What reading a damaged archive raises: a bad directory, local header or CRC, a truncated or
# corrupt stream (zlib, bz2, lzma), an unsupported version or compression method, offsets
# out of range.
_ZIP_READ_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    OSError,
    ValueError,
)
#: What says whether a PDF holds anything refused: ``None`` or a reason code of
#: ``certification.portfolio.pdfscan``. The service runs the whole check (:func:`check_upload`) in a
#: limited child of the upload pool (``certification.portfolio.pool.UploadPool.check_upload``).
PdfInspector = Callable[[bytes], str | None]


def _inspect_pdf(data: bytes) -> str | None:
    """:func:`certification.portfolio.pdfscan.inspect_pdf`, imported on first use (it loads
    pikepdf)."""
    from certification.portfolio.pdfscan import inspect_pdf  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    return inspect_pdf(data)


class UploadRejected(InvalidInput):
    """The file is not acceptable; ``params['reason']`` says why (a stable code)."""

    code = "upload_rejected"


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: the bytes to store, their real type, a safe name."""

    data: bytes
    media_type: str
    filename: str


def _reject(reason: str) -> UploadRejected:
    return UploadRejected(f"upload rejected: {reason}", errors={"file": [reason]}, reason=reason)


def safe_filename(name: str, extension: str) -> str:
    """A display name with no path, no control characters, and the extension of the real type."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^\w\s.()\-]", "_", stem).strip(" ._")[:120] or "file"
    return f"{stem}.{extension}"


def check_upload(
    data: bytes, original_name: str, *, max_bytes: int, inspect_pdf: PdfInspector = _inspect_pdf
) -> CheckedFile:
    """Check an uploaded file; returns what to store or raises :class:`UploadRejected`.
    ``inspect_pdf`` looks inside PDFs (the parsed object graph,
    :mod:`certification.portfolio.pdfscan`)."""
    if not data:
        raise _reject("empty")
    if len(data) > max_bytes:
        raise _reject("too_large")
    if data.startswith(b"%PDF-"):
        return _check_pdf(data, original_name, inspect_pdf)
    if data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    ):
        return _check_image(data, original_name)
    if data.startswith(b"PK\x03\x04"):
        return _check_office(data, original_name)
    raise _reject("type_not_allowed")


def _check_pdf(data: bytes, name: str, inspect_pdf: PdfInspector) -> CheckedFile:
    from certification.portfolio.pdfscan import UNREADABLE  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    if b"%%EOF" not in data[-2048:]:  # cut short: the end of the file is missing
        raise _reject(UNREADABLE)
    reason = inspect_pdf(data)
    if reason is not None:
        raise _reject(reason)
    return CheckedFile(data, "application/pdf", safe_filename(name, "pdf"))


def _check_image(data: bytes, name: str) -> CheckedFile:
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            width, height = image.size  # read from the header, before any pixel is decoded
            if width * height > MAX_IMAGE_PIXELS:
                raise _reject("image_too_big")
            source_format = (image.format or "").upper()
            image.load()
            image = ImageOps.exif_transpose(image)
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _reject("image_too_big") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _reject("damaged") from None
    out = io.BytesIO()
    # Re-encoding keeps the pixels and drops every metadata block (EXIF, GPS, comments).
    if image.mode in {"RGBA", "LA", "P"} or source_format == "PNG":
        image.save(out, format="PNG", optimize=True)
        return CheckedFile(out.getvalue(), "image/png", safe_filename(name, "png"))
    image.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
    return CheckedFile(out.getvalue(), "image/jpeg", safe_filename(name, "jpg"))


def _check_office(data: bytes, name: str) -> CheckedFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()  # the central directory only: nothing is unpacked
    except _ZIP_READ_ERRORS:
        raise _reject("damaged") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _reject("archive_bomb")
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.flag_bits & 0x1:
            raise _reject("encrypted")
        if (entry.external_attr >> 16) & 0o170000 == 0o120000:  # a symbolic link
            raise _reject("type_not_allowed")
        if entry.filename.startswith(("/", "\\")) or ".." in entry.filename.split("/"):
            raise _reject("type_not_allowed")
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_ZIP_RATIO:
            raise _reject("archive_bomb")
    if total > MAX_ZIP_UNPACKED:
        raise _reject("archive_bomb")
    names = {e.filename for e in entries}
    if "mimetype" in names:
        try:
            content = archive.read("mimetype")  # the one entry unpacked, sized above
        except _ZIP_READ_ERRORS:
            raise _reject("damaged") from None
        mimetype = content[:100].decode("ascii", "replace").strip()
        if mimetype in ODF:
            return CheckedFile(data, mimetype, safe_filename(name, ODF[mimetype]))
    if "[Content_Types].xml" in names:
        for prefix, (media_type, extension) in OOXML.items():
            if any(n.startswith(prefix) for n in names):
                if any(n.lower().endswith("vbaproject.bin") for n in names):
                    raise _reject("active_content")
                return CheckedFile(data, media_type, safe_filename(name, extension))
    raise _reject("type_not_allowed")


THUMBNAIL_SIDE: Final = 240


def make_thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> tuple[bytes, str] | None:
    """A small copy (at most ``side`` pixels a side) of a stored JPEG or PNG image: JPEG for
    photos, PNG for images with transparency; ``None`` if ``data`` is not a readable image.
    Built from the pixels alone, so no metadata block (EXIF, GPS, comments, ICC) reaches it."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS or (image.format or "") not in {"JPEG", "PNG"}:
                return None
            image.draft("RGB", (side * 2, side * 2))  # JPEG: decode already reduced
            image.load()
            image.thumbnail((side, side))
    except (
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
    ):
        return None
    transparent = image.mode in {"RGBA", "LA", "P"}
    mode = "RGBA" if transparent else "RGB"
    pixels = image.convert(mode)
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())  # pixels, nothing else
    out = io.BytesIO()
    if transparent:
        clean.save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    clean.save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue(), "image/jpeg"

"""Files as candidates upload them: PDFs, photos, office documents."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from tests.support.pdfs import one_page


def pdf_bytes(catalog: bytes = b"") -> bytes:
    """A valid one-page PDF; ``catalog``: more entries of its catalog."""
    return one_page(catalog)


def jpeg_with_gps() -> bytes:
    """A small JPEG whose EXIF names the phone and where the photo was taken."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (45.0, 8.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def office(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP of ``entries``, as office documents are."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()

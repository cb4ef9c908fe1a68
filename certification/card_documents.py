"""The talent card as a document: a two-sided CR80 PDF for printing and a PNG for the phone.

The PNG is the PDF's two pages drawn by PDFium and stacked, so the phone shows exactly what
prints. The card is rendered when asked for (it is small and changes only with its status or
validity); what makes it trustworthy is the signed QR payload, not the file.
"""

from __future__ import annotations

import io
from typing import Any, Final

import segno
from markupsafe import Markup
from sqlalchemy.orm import Session

from certification.cards import holder_label, qr_payload
from certification.models import TalentCard
from certification.rendering import DocumentRenderer
from certification.storage import BlobStorage

TEMPLATE: Final = "card.html"
STYLESHEET: Final = "documents/card.css"
#: ISO/IEC 7810 ID-1 (CR80), in millimetres.
CR80_MM: Final = (85.60, 53.98)


def check_url(base_url: str, payload: str) -> str:
    """The online check a card's QR code opens."""
    return f"{base_url}/card/verify/{payload}"


def check_qr(base_url: str, payload: str) -> segno.QRCode:
    """The QR code of a card: its online check, with the signed payload (printed on the back,
    shown on the holder's phone)."""
    return segno.make(check_url(base_url, payload), error="m")


def card_context(card: TalentCard, payload: str, base_url: str, has_photo: bool) -> dict[str, Any]:
    """What the card template prints."""
    qr = check_qr(base_url, payload)
    host = base_url.split("://", 1)[-1]
    return {
        "number": card.number,
        "holder": card.holder.full_name,
        "holder_short": holder_label(card),
        "initials": "".join(p[:1] for p in (card.holder.given_name, card.holder.family_name)),
        "programme": card.programme,
        "ente": card.organisation.short_name,
        "valid_from": card.valid_from.strftime("%d/%m/%Y") if card.valid_from else "",
        "valid_until": card.valid_until.strftime("%d/%m/%Y") if card.valid_until else "",
        "has_photo": has_photo,
        # Our own SVG of our own URL: nothing from the holder is markup here.
        "qr_svg": Markup(qr.svg_inline(scale=1, dark="#000", border=0)),  # noqa: S704
        "check_host": f"{host}/card/verify",
        "directory_host": f"{host}/conventions",
    }


def render_card_pdf(
    session: Session,
    card: TalentCard,
    renderer: DocumentRenderer,
    storage: BlobStorage,
    passphrase: bytes,
    base_url: str,
    locale: str,
) -> bytes:
    """The card as a two-page CR80 PDF (front, back) with its signed QR code."""
    payload = qr_payload(session, card, passphrase)
    resources: dict[str, tuple[bytes, str]] = {}
    if card.photo_sha256 and storage.exists(card.photo_sha256):
        resources["photo"] = (storage.get(card.photo_sha256), "image/jpeg")
    context = card_context(card, payload, base_url, bool(resources))
    return renderer.render_pdf(
        TEMPLATE, context, locale, stylesheet=STYLESHEET, resources=resources or None
    )


def card_qr_svg(session: Session, card: TalentCard, passphrase: bytes, base_url: str) -> bytes:
    """The card's QR code alone, as an SVG to show full width on the holder's phone."""
    out = io.BytesIO()
    check_qr(base_url, qr_payload(session, card, passphrase)).save(
        out, kind="svg", scale=10, border=4, dark="#000", light="#fff"
    )
    return out.getvalue()


def card_png(pdf: bytes, dpi: int = 300) -> bytes:
    """Both sides of the card PDF as one PNG (front above back, rounded like the card), for the
    phone."""
    import pypdfium2
    from PIL import Image, ImageDraw

    document = pypdfium2.PdfDocument(pdf)
    try:
        sides = [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()
    gap = dpi // 8
    radius = round(3.18 / 25.4 * dpi)  # ISO/IEC 7810 corner radius, 3.18 mm
    width = max(side.width for side in sides) + 2 * gap
    height = sum(side.height for side in sides) + gap * (len(sides) + 1)
    sheet = Image.new("RGB", (width, height), "#e4e9e7")
    top = gap
    for side in sides:
        mask = Image.new("L", side.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            (0, 0, side.width - 1, side.height - 1), radius=radius, fill=255
        )
        sheet.paste(side, (gap, top), mask)
        top += side.height + gap
    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=True)
    return out.getvalue()


def card_file_name(card: TalentCard, extension: str) -> str:
    return f"talent-card-{card.number}.{extension}"

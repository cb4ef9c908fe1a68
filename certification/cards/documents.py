"""The talent card as a document: a two-sided CR80 PDF for printing and a PNG for the phone.

The PNG is the PDF's two pages drawn by PDFium and stacked, so the phone shows exactly what
prints. What makes a card trustworthy is the signed QR payload, not the file.

A card is rendered once per version (:func:`stored_card_document`): the PDF, and the PNG once
asked for, are stored content-addressed and served as stored while nothing printed on the card
(holder, validity, QR payload, photo, ente, address) nor its layout changes; any change (an
activation, a renewal, a new photo) gives another fingerprint. The web layer renders the new
version ahead, on the job queue (``app.jobs.start_card_render``), and a download that comes
first renders it itself. The files of a replaced version are left to ``files gc``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from typing import TYPE_CHECKING, Any, Final

from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certification.cards.counter import holder_label, qr_payload
from certification.models import CardDocument, TalentCard
from certification.portfolio.operations import store_file
from certification.rendering import DocumentRenderer
from certification.storage.blobs import BlobStorage

if TYPE_CHECKING:
    import segno

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
    import segno  # noqa: PLC0415 - heavy: the QR library only where a card is drawn

    return segno.make(check_url(base_url, payload), error="m")


#: The QR code's alternative text, for screen readers.
QR_TITLE: Final = {
    "it": "Codice QR per verificare la Talent Card {number}",
    "en": "QR code to verify Talent Card {number}",
}


def card_context(
    card: TalentCard, payload: str, base_url: str, has_photo: bool, locale: str
) -> dict[str, Any]:
    """What the card template prints (in the card's language)."""
    qr = check_qr(base_url, payload)
    title = QR_TITLE[locale].format(number=card.number)
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
        # The title is the QR code's alternative text in the tagged PDF.
        "qr_svg": Markup(qr.svg_inline(scale=1, dark="#000", border=0, title=title)),  # noqa: S704
        "check_host": f"{host}/card/verify",
        "directory_host": f"{host}/conventions",
    }


def stored_card_document(
    session: Session,
    card: TalentCard,
    renderer: DocumentRenderer,
    storage: BlobStorage,
    passphrase: bytes,
    base_url: str,
    locale: str,
    now: dt.datetime,
    *,
    png: bool = False,
) -> CardDocument:
    """The card's stored PDF in ``locale`` (and its PNG when ``png``), rendered and stored only
    when this version of the card has none yet."""
    payload = qr_payload(session, card, passphrase)
    photo = card.photo_sha256 if card.photo_sha256 and storage.exists(card.photo_sha256) else None
    context = card_context(card, payload, base_url, photo is not None, locale)
    printed = json.dumps(
        {"context": context, "photo": photo, "locale": locale},
        sort_keys=True,
        default=str,
    )
    fingerprint = hashlib.sha256(
        f"{printed}\0{renderer.layout_digest(TEMPLATE, STYLESHEET, locale)}".encode()
    ).hexdigest()
    document = session.get(CardDocument, (card.id, locale))
    if (
        document is None
        or document.fingerprint != fingerprint
        or not storage.exists(document.pdf_sha256)
    ):
        resources = {"photo": (storage.get(photo), "image/jpeg")} if photo else None
        pdf = renderer.render_pdf(
            TEMPLATE, context, locale, stylesheet=STYLESHEET, resources=resources
        )
        pdf_sha256 = store_file(session, storage, pdf, "application/pdf", now)
        if document is None:
            document = CardDocument(card_id=card.id, locale=locale)
            try:
                with session.begin_nested():  # two first downloads at once: one row wins
                    _fill(document, fingerprint, pdf_sha256, now)
                    session.add(document)
            except IntegrityError:
                document = session.get(CardDocument, (card.id, locale), populate_existing=True)
                if document is None:  # pragma: no cover - the other insert won
                    raise
                _fill(document, fingerprint, pdf_sha256, now)
        else:
            _fill(document, fingerprint, pdf_sha256, now)
    if png and (document.png_sha256 is None or not storage.exists(document.png_sha256)):
        image = card_png(storage.get(document.pdf_sha256))
        document.png_sha256 = store_file(session, storage, image, "image/png", now)
    session.flush()
    return document


def _fill(document: CardDocument, fingerprint: str, pdf_sha256: str, now: dt.datetime) -> None:
    document.fingerprint = fingerprint
    document.pdf_sha256 = pdf_sha256
    document.png_sha256 = None
    document.rendered_at = now


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
    import pypdfium2  # noqa: PLC0415 - heavy
    from PIL import Image, ImageDraw  # noqa: PLC0415 - heavy

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

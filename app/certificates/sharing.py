"""Sharing a certificate from a phone (issue 19): its verification QR code shown large enough to
scan at a counter, and downloaded as SVG or PNG. The QR code carries only the public
verification address, the one printed on the certificate."""

from __future__ import annotations

import io
import uuid
from typing import TYPE_CHECKING

from flask import make_response, render_template
from flask_login import login_required
from werkzeug.wrappers import Response

from app.certificates.blueprint import bp
from app.certificates.views import _certificate
from certification.certificates import lifecycle as C
from certification.certificates.production import verify_url

if TYPE_CHECKING:
    import segno


def _qr(certificate_id: uuid.UUID) -> tuple[segno.QRCode, str, str]:
    """The QR code of a certificate the current account may see, its address and number."""
    import segno  # the QR library (a twentieth of a second) when a QR code is asked for

    certificate = _certificate(certificate_id)
    url = verify_url(certificate.content["base_url"], certificate.verification_code)
    return segno.make(url, error="m"), url, certificate.number


@bp.get("/certificates/<uuid:certificate_id>/qr")
@login_required
def qr_page(certificate_id: uuid.UUID) -> str:
    """The QR code alone on the screen, dark on white, to be scanned from the phone."""
    certificate = _certificate(certificate_id)
    return render_template(
        "certificates/qr.html",
        certificate=certificate,
        code=C.format_code(certificate.verification_code),
        verify=verify_url(certificate.content["base_url"], certificate.verification_code),
    )


def _download(body: bytes, mimetype: str, name: str) -> Response:
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/certificates/<uuid:certificate_id>/qr.svg")
@login_required
def qr_svg(certificate_id: uuid.UUID) -> Response:
    code, url, number = _qr(certificate_id)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=10, border=4, dark="#000", light="#fff", title=url)
    return _download(out.getvalue(), "image/svg+xml", f"{number}-qr.svg")


@bp.get("/certificates/<uuid:certificate_id>/qr.png")
@login_required
def qr_png(certificate_id: uuid.UUID) -> Response:
    code, _url, number = _qr(certificate_id)
    out = io.BytesIO()
    code.save(out, kind="png", scale=12, border=4, dark="#000", light="#fff")
    return _download(out.getvalue(), "image/png", f"{number}-qr.png")

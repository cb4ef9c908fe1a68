"""Public verification of certificates: by QR link, typed code, PDF or credential upload, for
people (pages) and machines (``/api/v1/verify``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("verify", __name__)

from app.verify import results, views  # noqa: E402, F401 - registers the routes

"""Public privacy notices (informative, art. 13 GDPR): the platform's and each ente's, every
published version readable at its own address."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

from app.privacy import views  # noqa: E402, F401 - registers the routes

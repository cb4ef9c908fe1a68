"""REST API ``/api/v1``: JSON in and out, personal access tokens, an OpenAPI document."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import views  # noqa: E402, F401 - registers the routes

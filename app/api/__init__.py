"""REST API ``/api/v1``: JSON in and out, personal access tokens, an OpenAPI document."""

from __future__ import annotations

from app.api import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.api.blueprint import bp

__all__ = ["bp"]

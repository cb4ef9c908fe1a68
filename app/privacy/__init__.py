"""Public privacy notices (informative, art. 13 GDPR): the platform's and each ente's, every
published version readable at its own address."""

from __future__ import annotations

from app.privacy import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.privacy.blueprint import bp

__all__ = ["bp"]

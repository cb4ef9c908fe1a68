"""Public verification of certificates: by QR link, typed code, PDF or credential upload, for
people (pages) and machines (``/api/v1/verify``)."""

from __future__ import annotations

from app.verify import results, views  # noqa: F401 - the modules whose routes are the blueprint's
from app.verify.blueprint import bp

__all__ = ["bp"]

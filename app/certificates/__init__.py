"""Certificates on the web: issuing, the holder's downloads and sharing, status changes and the
published status lists."""

from app.certificates import sharing, views  # noqa: F401 - the modules whose routes are the blueprint's
from app.certificates.blueprint import bp

__all__ = ["bp"]

"""Certification cases: the candidate's applications and the staff's work on them."""

from app.cases import assessment_views, views  # noqa: F401 - the modules whose routes are the blueprint's
from app.cases.blueprint import bp

__all__ = ["bp"]

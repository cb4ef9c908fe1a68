"""The public catalogue of competence standards (profiles, competences, criteria, levels)."""

from app.catalogue import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.catalogue.blueprint import bp

__all__ = ["bp"]

"""Talent cards on the web: the holder's card and downloads, the ente's programme (cards,
partners, conventions), the public directory of conventions, and the check at the counter."""

from app.cards import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.cards.blueprint import bp

__all__ = ["bp"]

"""The logged-in person's own account: profile, password, language, API tokens."""

from app.account import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.account.blueprint import bp

__all__ = ["bp"]

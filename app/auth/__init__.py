"""Login, logout, sign-up and password reset."""

from app.auth import passkey_views, second_factor_views, views  # noqa: F401 - the modules whose routes are the blueprint's
from app.auth.blueprint import bp

__all__ = ["bp"]

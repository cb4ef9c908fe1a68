"""The page a referee opens from the e-mailed link to confirm a testimonial (no account)."""

from app.referee import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.referee.blueprint import bp

__all__ = ["bp"]

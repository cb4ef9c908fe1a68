"""Home, dashboard, language switch and the health check."""

from app.main import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.main.blueprint import bp

__all__ = ["bp"]

"""Staff management: an organisation's administrators add people and set their roles."""

from app.staff import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.staff.blueprint import bp

__all__ = ["bp"]

"""The regional supervisor's read-only registers (cases, certificates, with CSV exports) and
dashboard. Filters with bad values are refused with a message and the unfiltered page."""

from app.register import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.register.blueprint import bp

__all__ = ["bp"]

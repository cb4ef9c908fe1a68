"""Published keys: what a third party needs to check Attesta's seals and credentials without
Attesta's web pages. Public, cacheable, and kept forever (retired keys included). Also the
daily signed checkpoints of the audit history, for outside parties to keep."""

from app.keys import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.keys.blueprint import bp

__all__ = ["bp"]

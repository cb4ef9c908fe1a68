"""The page a referee opens from the e-mailed link to confirm a testimonial (no account)."""

from flask import Blueprint

bp = Blueprint("referee", __name__, url_prefix="/referee")

from app.referee import views  # noqa: E402, F401 - registers the routes

"""The regional supervisor's read-only registers (cases, certificates, with CSV exports) and
dashboard. Filters with bad values are refused with a message and the unfiltered page."""

from flask import Blueprint

bp = Blueprint("register", __name__, url_prefix="/register")

from app.register import views  # noqa: E402, F401 - registers the routes

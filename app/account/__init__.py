"""The logged-in person's own account: profile, password, language, API tokens."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from app.account import views  # noqa: E402, F401 - registers the routes

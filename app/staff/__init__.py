"""Staff management: an organisation's administrators add people and set their roles."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from app.staff import views  # noqa: E402, F401 - registers the routes

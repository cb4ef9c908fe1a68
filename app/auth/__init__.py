"""Login, logout, sign-up and password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import passkey_views, second_factor_views, views  # noqa: E402, F401 - registers the routes

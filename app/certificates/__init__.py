"""Certificates on the web: issuing, the holder's downloads and sharing, status changes and the
published status lists."""

from flask import Blueprint

bp = Blueprint("certificates", __name__)

from app.certificates import sharing, views  # noqa: E402, F401 - registers the routes

"""Certification cases: the candidate's applications and the staff's work on them."""

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")

from app.cases import assessment_views, views  # noqa: E402, F401 - registers the routes

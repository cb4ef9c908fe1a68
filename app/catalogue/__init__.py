"""The public catalogue of competence standards (profiles, competences, criteria, levels)."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")

from app.catalogue import views  # noqa: E402, F401 - registers the routes

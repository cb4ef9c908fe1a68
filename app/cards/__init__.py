"""Talent cards on the web: the holder's card and downloads, the ente's programme (cards,
partners, conventions), the public directory of conventions, and the check at the counter."""

from flask import Blueprint

bp = Blueprint("cards", __name__)

from app.cards import views  # noqa: E402, F401 - registers the routes

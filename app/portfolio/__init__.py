"""The candidate's portfolio: experiences, evidence, mapping to criteria, self-assessment.

URLs carry the portfolio owner's id: the candidate works on their own, the assigned tutor on
the candidates they accompany. Every view asks the policy first (someone else's id: 404).
"""

from flask import Blueprint

bp = Blueprint("portfolio", __name__, url_prefix="/portfolio")

from app.portfolio import views  # noqa: E402, F401 - registers the routes

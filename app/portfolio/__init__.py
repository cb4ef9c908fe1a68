"""The candidate's portfolio: experiences, evidence, mapping to criteria, self-assessment.

URLs carry the portfolio owner's id: the candidate works on their own, the assigned tutor on
the candidates they accompany. Every view asks the policy first (someone else's id: 404).
"""

from app.portfolio import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.portfolio.blueprint import bp

__all__ = ["bp"]

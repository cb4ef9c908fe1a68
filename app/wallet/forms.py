"""The holder's one form: make a new wallet offer (a button with its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class OfferForm(FlaskForm):
    """ "Aggiungi al wallet": a POST, so that a link cannot make offers."""

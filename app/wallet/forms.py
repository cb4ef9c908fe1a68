"""The holder's forms: make a new wallet offer, and consent to a wallet's authorization
request (each a button with its CSRF token; the consent's other fields are read from the
request and checked again by certification.wallet.authorization)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class OfferForm(FlaskForm):
    """ "Aggiungi al wallet": a POST, so that a link cannot make offers."""


class ConsentForm(FlaskForm):
    """ "Consenti" or "Rifiuta" on the authorization page: a POST, so that a link cannot
    consent for the holder."""

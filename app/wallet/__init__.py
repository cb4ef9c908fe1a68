"""Certificates into wallets (OpenID4VCI 1.0, issue 23): the holder's "Aggiungi al wallet"
page, and the protocol's endpoints and metadata that wallets call (JSON, CSRF exempt: they
carry no cookies and are authorised by the one-time code, the PIN and the access token)."""

from app.wallet import authorize, verifier, views  # noqa: F401 - the modules whose routes are the blueprint's
from app.wallet.blueprint import bp

__all__ = ["bp"]

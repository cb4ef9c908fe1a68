"""Verifying certificates for employers and other third parties (security.md §1.8, §2, §3.11).

- :mod:`checks`: by code, by uploaded PDF (seal, credential, status, each with its own verdict);
- :mod:`results`: a verifier's result kept for a while, to be opened again.
"""

__all__ = ["checks", "results"]

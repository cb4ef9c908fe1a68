"""People and organisations: accounts and what protects them, staff roles, privacy.

- :mod:`accounts`: sign-up, e-mail confirmation, log-in, server-side sessions, password reset,
  API tokens; :mod:`passwords`: hashing and policy;
- :mod:`second_factor` (authenticator codes, recovery codes) and :mod:`passkeys` (WebAuthn);
- :mod:`roles`: kinds of organisation and the roles each may give; :mod:`staff`: staff
  management by an organisation's administrators; :mod:`organisations`: an organisation's
  details for the outside world;
- :mod:`codice_fiscale`: the Italian tax code's format and check character;
- :mod:`privacy`: versioned privacy notices and consent; :mod:`export` (GDPR art. 15, 20) and
  :mod:`erasure` (the erasure ledger).
"""

__all__ = [
    "accounts",
    "codice_fiscale",
    "erasure",
    "export",
    "organisations",
    "passkeys",
    "passwords",
    "privacy",
    "roles",
    "second_factor",
    "staff",
]

"""The service's keys: the root CA, the audit key, and per ente titolato a PDF seal and a
credential key (security.md §2).

- :mod:`material`: reading stored keys (encrypted PKCS#8), their ids and public forms; used by
  everything that signs or verifies (certificates, cards, the history's chain heads);
- :mod:`management`: creating, rotating, marking compromised and importing keys, each change
  written to the audit log.
"""

__all__ = ["management", "material"]

"""What the ente titolare (the Region) sees of the bodies it supervises.

- :mod:`register`: the read-only registers of cases and certificates, with their filters;
- :mod:`statistics`: the dashboard's figures, computed by the database;
- :mod:`access_log`: every case, certificate or document a supervisor opens is written to the
  audit log.
"""

__all__ = ["access_log", "register", "statistics"]

"""The audit trail (security.md §3.9): what was done, by whom, in a history no one can rewrite.

- :mod:`events`: writing the audit log (security-relevant actions, staff changes, imports), and
  the session hook that seals the chains at every commit;
- :mod:`chains`: the tamper-evident history: the hash chains (one per case, one global), their
  heads signed with the audit key, the daily signed checkpoints, and the check of it all.
"""

__all__ = ["chains", "events"]

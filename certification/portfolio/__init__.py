"""The candidate's portfolio: experiences, evidence and what it shows (domain.md §5).

- :mod:`operations`: experiences, evidence, mapping evidence to criteria, self-assessment,
  comments, stored files;
- checking an uploaded file before it is kept (security.md §3.5): :mod:`uploads` (the type from
  the content), :mod:`pdfscan` (nothing in a PDF may run), run in child processes with limits
  (:mod:`sandbox`) on a bounded number of slots per machine (:mod:`pool`).
"""

__all__ = ["operations", "pdfscan", "pool", "sandbox", "uploads"]

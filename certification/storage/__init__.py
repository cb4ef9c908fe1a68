"""Stored files: the bytes of evidence, documents, certificates and cards.

- :mod:`blobs`: content-addressed storage behind a small interface (a folder on one machine, an
  S3 bucket for several): bytes named by their sha256, written atomically, never changed;
- :mod:`collection`: collecting the stored files no record names any more, so the store does
  not grow with time.
"""

__all__ = ["blobs", "collection"]

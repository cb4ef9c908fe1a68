"""The numbers and codes people read, type and quote: none is ever reused.

- :mod:`counters`: human numbers (protocols, documents, certificates) from a database counter,
  unique and never reused;
- :mod:`codes`: codes people type (verification codes, card numbers): the alphabet, reading a
  typed code, check characters. Shared by certificates and talent cards, so that neither
  imports the other for this.
"""

__all__ = ["codes", "counters"]

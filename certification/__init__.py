"""Attesta's domain: models and operations of the IVC process, free of any web framework.

Operations are functions ``verb_noun(session, actor, ..., now)`` that check rights and rules,
change state, write the audit trail and ``flush()``; the caller (a request or a CLI command)
commits once. Errors are :class:`certification.errors.DomainError` with stable codes.
"""

"""Domain errors with stable machine codes.

Every error is of one kind, a base class here: :class:`NotFound`, :class:`NotPermitted`,
:class:`Conflict`, :class:`InvalidInput`, :class:`TokenInvalid`, :class:`Throttled` or
:class:`Unavailable`. The web layer answers with the HTTP status of the kind and the translated
message of the code (``app/errors.py``), so a new error is declared once, here or next to its
operation, and a test fails if its code has no message or it is of no kind. The domain never
speaks HTTP and never picks the user's language.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error an operation raises on purpose.

    ``code`` is stable (clients and translations key on it); ``params`` fill the translated
    message; ``detail`` is an English explanation for logs and the CLI.
    """

    code: ClassVar[str] = "domain_error"

    def __init__(self, detail: str = "", **params: Any) -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code
        self.params = params


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it exists."""

    code = "not_found"


class AccessRefused(NotFound):
    """The object exists, but the actor has no role on it: answered as :class:`NotFound` (same
    code, no oracle), and written to the security log by the web layer."""

    def __init__(self, entity_type: str, entity_id: object) -> None:
        super().__init__(f"{entity_type} not in the actor's scope")
        self.entity_type = entity_type
        self.entity_id = str(entity_id)


class NotPermitted(DomainError):
    """The actor may not do this."""

    code = "not_permitted"


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, stale, already done)."""

    code = "conflict"


class InvalidInput(DomainError):
    """The input is malformed; ``errors`` maps field paths to messages."""

    code = "invalid_input"

    def __init__(self, detail: str = "", errors: dict[str, list[str]] | None = None, **params: Any):
        super().__init__(detail, **params)
        self.errors = errors or {}


class Throttled(DomainError):
    """Too many attempts in a short time: the actor must wait before trying again."""

    code = "too_many_attempts"


class Unavailable(DomainError):
    """The service cannot do this now (no usable key, too busy): nothing was done; it may work
    later, or once an administrator has acted. ``params['retry_after']``, if given, is the
    number of seconds to wait."""

    code = "unavailable"


class EmailTaken(Conflict):
    """An account with this e-mail address already exists."""

    code = "email_taken"


class LastAdmin(Conflict):
    """The last administrator of an organisation cannot lose that role."""

    code = "last_admin"


class LastSecondFactor(Conflict):
    """The last second factor of an account whose role requires one cannot be removed."""

    code = "last_second_factor"


class RubricInvalid(InvalidInput):
    """A rubric data file does not match the schema."""

    code = "rubric_invalid"


class RubricVersionConflict(Conflict):
    """A published rubric version exists with other content: publish a new version instead."""

    code = "rubric_version_conflict"


class TokenInvalid(DomainError):
    """A signed token (password reset, API token) is unknown, expired or already used."""

    code = "token_invalid"


class TokenExpired(TokenInvalid):
    """A signed token that was genuine but is past its validity (a new one can be sent)."""

    code = "token_expired"


class TokenUsed(TokenInvalid):
    """A single-use token followed a second time (what it did is done already)."""

    code = "token_used"


def clean_text(value: str | None, name: str, *, max_len: int = 4000, required: bool = True) -> str:
    """``value`` stripped; :class:`InvalidInput` (codes ``required``, ``too_long``) naming
    the field ``name`` otherwise."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(name, errors={name: ["required"]})
    if len(text) > max_len:
        raise InvalidInput(name, errors={name: ["too_long"]})
    return text

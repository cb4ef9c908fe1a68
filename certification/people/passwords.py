"""Password hashing (argon2id) and the password policy (OWASP ASVS 5.0 §6.2)."""

from __future__ import annotations

import functools
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id baseline: m=19 MiB, t=2, p=1.
_HASHER: Final = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

MIN_LENGTH: Final = 10
MAX_LENGTH: Final = 128
# The most used passwords of public breach corpora that are long enough to pass the length rule.
COMMON_PASSWORDS: Final = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "1234567891",
        "qwertyuiop",
        "password1",
        "password12",
        "password123",
        "password1234",
        "passwordpassword",
        "iloveyou123",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "abcdefghij",
        "abc1234567",
        "asdfghjkl1",
        "zaq12wsxcde",
        "1111111111",
        "0000000000",
        "9876543210",
        "password!1",
        "passw0rd12",
        "welcome123",
        "letmein123",
        "changeme123",
        "football123",
        "princess123",
        "sunshine123",
        "superman123",
        "michael123",
        "trustno1trustno1",
        "administrator",
        "amministratore",
        "passwordsegreta",
        "ciaociao123",
        "juventus1897",
        "forzainter",
        "forzamilan",
        "forzajuve",
        "napoli1926",
        "ilovemilan",
        "qwertyqwerty",
        "attesta2026",
        "attesta12345",
    }
)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; PHC string format)."""
    return _HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so timing does not reveal that. Made
    on first use, not at import (a hash costs tenths of a second: startup time, issue 20)."""
    return _HASHER.hash("attesta-timing-equaliser")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; costs the same when there is no stored hash."""
    dummy = _dummy_hash()  # made on either path, so the first use costs the same for both
    try:
        return _HASHER.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Codes of the policy rules ``password`` breaks (empty when it is acceptable).

    Codes: ``too_short``, ``password_too_long``, ``too_common``, ``contains_email``.
    """
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("password_too_long")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 3:
        problems.append("too_common")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        problems.append("contains_email")
    return problems

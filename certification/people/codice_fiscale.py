"""The Italian codice fiscale: format and check character (D.M. 23/12/1976)."""

from __future__ import annotations

import re
from typing import Final

_PATTERN: Final = re.compile(
    r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
)
_ODD: Final = {
    **dict(zip("0123456789", [1, 0, 5, 7, 9, 13, 15, 17, 19, 21], strict=True)),
    **dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            [
                1,
                0,
                5,
                7,
                9,
                13,
                15,
                17,
                19,
                21,
                2,
                4,
                18,
                20,
                11,
                3,
                6,
                8,
                12,
                14,
                16,
                10,
                22,
                25,
                24,
                23,
            ],
            strict=True,
        )
    ),
}


def _even(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A")


def check_character(first15: str) -> str:
    """The 16th character computed from the first fifteen."""
    total = sum(_ODD[c] if i % 2 == 0 else _even(c) for i, c in enumerate(first15))
    return chr(ord("A") + total % 26)


def normalise_codice_fiscale(value: str) -> str:
    """Upper-case, without spaces; :class:`ValueError` if malformed or the check fails."""
    code = re.sub(r"\s+", "", value).upper()
    if not _PATTERN.match(code) or check_character(code[:15]) != code[15]:
        raise ValueError("invalid codice fiscale")
    return code

"""Codes people read and type: the alphabet, reading a typed code, check characters.

Shared by certificates (verification codes) and talent cards (card numbers), so that neither
imports the other for this. No database, no Flask.

- The alphabet is Crockford's base32: no I, L, O, U; when typed, O is read as 0, I and L as 1,
  U as V, case and separators are ignored (:func:`clean`).
- Verification codes issued since the check character came are 27 symbols: 26 random (130 bits)
  and one check character, Luhn mod N over the alphabet (N = 32, :func:`check_character`). It
  catches every single wrong symbol and every swap of two neighbours except 0 with Z (the one
  pair Luhn mod 32 cannot tell apart). Older codes are 26 random symbols with no check: they
  are still looked up as they are. The length alone tells the two apart, never a guess.
- Card numbers (TC-XXXX-XXXX-C) have had their own check character from the start (weights
  1, 3, 5, ... mod 32, :func:`card_check_character`); it is kept as it is so that cards already
  printed still read.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

#: Crockford's base32: no I, L, O, U, so codes survive being read aloud or retyped.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE: Final = len(ALPHABET)  # 32
CONFUSABLE: Final = str.maketrans("OILU", "011V")

#: Verification codes: random symbols (130 bits), then the check character.
RANDOM_SYMBOLS: Final = 26
CODE_LENGTH: Final = RANDOM_SYMBOLS + 1
#: Codes issued before the check character: the random symbols alone.
LEGACY_CODE_LENGTH: Final = RANDOM_SYMBOLS
#: How a new code is grouped for people: six groups of four and the last three (the last
#: symbol is the check character).
GROUP_SIZE: Final = 4

_CARD_WEIGHTS: Final = (1, 3, 5, 7, 9, 11, 13, 15)


def clean(text: str) -> str:
    """The symbols of a typed code: letters and digits only, upper case, confusable letters
    read as the digit (or V) they stand for. Not checked against the alphabet."""
    return "".join(ch for ch in text.upper() if ch.isalnum()).translate(CONFUSABLE)


def is_symbols(text: str) -> bool:
    """Whether every character of ``text`` is of the alphabet."""
    return all(ch in ALPHABET for ch in text)


def random_symbols(count: int) -> str:
    """``count`` symbols from ``5 * count`` random bits."""
    number = secrets.randbits(count * 5)
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in range(count))


# --- Luhn mod N -------------------------------------------------------------------------------


def _luhn_sum(symbols: str, double_first: bool) -> int:
    # From the right: every second symbol (the first one when ``double_first``) is doubled and
    # its two base-32 digits added.
    total, double = 0, double_first
    for ch in reversed(symbols):
        value = ALPHABET.index(ch) * (2 if double else 1)
        total += value // BASE + value % BASE
        double = not double
    return total


def check_character(body: str) -> str:
    """The Luhn mod N check character of ``body`` (symbols of the alphabet)."""
    return ALPHABET[-_luhn_sum(body, double_first=True) % BASE]


def check_holds(symbols: str) -> bool:
    """Whether the last symbol of ``symbols`` is the check character of the others."""
    return _luhn_sum(symbols, double_first=False) % BASE == 0


# --- verification codes -----------------------------------------------------------------------


def new_code() -> str:
    """27 symbols: 130 random bits and their check character."""
    body = random_symbols(RANDOM_SYMBOLS)
    return body + check_character(body)


def code_groups(code: str) -> list[str]:
    """The groups a code is shown in: 5-5-5-5-6 for a code without check character (as it was
    always printed), groups of four (the last of three) for a new one."""
    if len(code) == LEGACY_CODE_LENGTH:
        return [code[0:5], code[5:10], code[10:15], code[15:20], code[20:]]
    return [code[i : i + GROUP_SIZE] for i in range(0, len(code), GROUP_SIZE)]


def format_code(code: str) -> str:
    """The code grouped for people: XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXX (new codes) or
    XXXXX-XXXXX-XXXXX-XXXXX-XXXXXX (codes without check character)."""
    return "-".join(code_groups(code))


@dataclass(frozen=True)
class Mistyped:
    """A typed code of the new length whose check character does not hold: a typing mistake,
    never looked up. ``symbols`` is the code as read (:func:`clean`)."""

    symbols: str

    @property
    def groups(self) -> list[str]:
        return code_groups(self.symbols)


def read_code(text: str) -> str | Mistyped | None:
    """A typed code made canonical; :class:`Mistyped` for a new-format code whose check
    character is wrong; None if it cannot be one of ours (wrong length or symbols)."""
    symbols = clean(text)
    if not is_symbols(symbols):
        return None
    if len(symbols) == LEGACY_CODE_LENGTH:
        return symbols
    if len(symbols) == CODE_LENGTH:
        return symbols if check_holds(symbols) else Mistyped(symbols)
    return None


def normalise_code(text: str) -> str | None:
    """A typed code made canonical (case, separators, confusable letters); None if it cannot be
    one of ours, mistyped (check character wrong) included."""
    read = read_code(text)
    return read if isinstance(read, str) else None


# --- card numbers -----------------------------------------------------------------------------


def card_check_character(body: str) -> str:
    """The check character of a card number's eight symbols. Odd weights are invertible mod
    32: every single mistyped symbol changes it."""
    total = sum(w * ALPHABET.index(ch) for w, ch in zip(_CARD_WEIGHTS, body, strict=True))
    return ALPHABET[total % BASE]

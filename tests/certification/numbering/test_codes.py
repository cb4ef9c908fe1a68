"""The check characters of codes people type (certification.numbering.codes): table tests."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certification.numbering import codes

ALPHABET = codes.ALPHABET
#: Luhn mod 32 over this alphabet: doubling maps 0 to 0 and Z (31) to 62 -> 1 + 30 = 31, so the
#: pair 0, Z is the one neighbouring swap it cannot see (as 09 / 90 for the decimal Luhn).
BLIND_SWAP = frozenset({"0", "Z"})

#: Fixed codes: every symbol in every position at least once, and the extremes.
BODIES = [
    "0" * 26,
    "Z" * 26,
    "0123456789ABCDEFGHJKMNPQRS",
    "TVWXYZ0123456789ABCDEFGHJK",
    "MNPQRSTVWXYZ0123456789ABCD",
    "Z0Z0Z0Z0Z0Z0Z0Z0Z0Z0Z0Z0Z0",
]
CODES = [body + codes.check_character(body) for body in BODIES]


def test_known_check_characters() -> None:
    # Worked by hand from the published algorithm (from the right, every second value of the
    # body doubled, its base-32 digits added; the check makes the total a multiple of 32).
    assert codes.check_character("0" * 26) == "0"
    assert codes.check_character("0" * 25 + "1") == "Y"  # 2 -> check 30
    assert codes.check_character("0" * 24 + "1" + "0") == "Z"  # 1 -> check 31
    assert codes.check_character("0" * 25 + "Z") == "1"  # 62 -> 1 + 30 = 31 -> check 1
    assert codes.check_character("0123456789ABCDEFGHJKMNPQRS") == "D"


@pytest.mark.parametrize("code", CODES)
def test_every_single_substitution_at_every_position_is_detected(code: str) -> None:
    assert codes.check_holds(code) and codes.read_code(code) == code
    for position, symbol in itertools.product(range(len(code)), ALPHABET):
        if symbol == code[position]:
            continue
        typo = code[:position] + symbol + code[position + 1 :]
        assert not codes.check_holds(typo), (position, symbol)
        assert codes.read_code(typo) == codes.Mistyped(typo)
        assert codes.normalise_code(typo) is None


def _code_with(a: str, b: str, position: int) -> str:
    """A new code with ``a`` and ``b`` at ``position`` and the one after (zeros elsewhere, but
    the first symbol when ``b`` must be the check character itself)."""
    last = codes.RANDOM_SYMBOLS - 1
    if position < last:
        body = "0" * position + a + b + "0" * (last - 1 - position)
        return body + codes.check_character(body)
    made = (x + "0" * (last - 1) + a for x in ALPHABET)
    return next(body + b for body in made if codes.check_character(body) == b)


def test_every_neighbouring_swap_is_detected_but_0_and_z() -> None:
    # Every ordered pair of different symbols at every two neighbouring positions, the last
    # random symbol and the check character included.
    for a, b in itertools.permutations(ALPHABET, 2):
        for position in range(codes.CODE_LENGTH - 1):
            code = _code_with(a, b, position)
            assert code[position : position + 2] == a + b and codes.check_holds(code)
            swapped = code[:position] + b + a + code[position + 2 :]
            assert codes.check_holds(swapped) == ({a, b} == BLIND_SWAP), (a, b, position)


def test_new_codes_are_27_symbols_whose_check_holds() -> None:
    made = {codes.new_code() for _ in range(500)}
    assert len(made) == 500
    for code in made:
        assert len(code) == 27 and codes.is_symbols(code) and codes.check_holds(code)
    # The check character is not constant: it depends on the random part.
    assert len({code[-1] for code in made}) > 16


def test_reading_tells_old_new_mistyped_and_malformed_apart() -> None:
    new = CODES[2]
    assert codes.read_code(codes.format_code(new).lower().replace("0", "o")) == new
    assert codes.read_code(new[:-1]) == new[:-1]  # 26 symbols: a code of before the check
    assert codes.read_code(new[:-1] + "E") == codes.Mistyped(new[:-1] + "E")
    assert codes.Mistyped(new[:-1] + "E").groups == codes.code_groups(new[:-1] + "E")
    for malformed in ("", new[:-2], new + "0", new[:-1] + "é", "Ω" * 27):
        assert codes.read_code(malformed) is None, malformed


def test_groups_for_people() -> None:
    assert codes.code_groups(CODES[2]) == ["0123", "4567", "89AB", "CDEF", "GHJK", "MNPQ", "RSD"]
    assert codes.format_code(BODIES[2]) == "01234-56789-ABCDE-FGHJK-MNPQRS"  # as it was printed


def test_card_check_character_is_unchanged() -> None:
    # Cards printed before codes.py existed still read: the weights 1, 3, 5, ... mod 32.
    body = "0123ABCD"
    weights = (1, 3, 5, 7, 9, 11, 13, 15)
    expected = ALPHABET[sum(w * ALPHABET.index(c) for w, c in zip(weights, body, strict=True)) % 32]
    assert codes.card_check_character(body) == expected


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(alphabet=ALPHABET, min_size=26, max_size=26),
    position=st.integers(0, 26),
    symbol=st.sampled_from(ALPHABET),
)
def test_one_wrong_symbol_is_always_mistyped(body: str, position: int, symbol: str) -> None:
    code = body + codes.check_character(body)
    typo = code[:position] + symbol + code[position + 1 :]
    assert (codes.read_code(typo) == code) == (typo == code)
    if typo != code:
        assert isinstance(codes.read_code(typo), codes.Mistyped)

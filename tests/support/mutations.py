"""Hypothesis strategies that change valid inputs a little: the inputs a parser of outside data
is most likely to get wrong (issue 8's property-based tests).

- :func:`single_change`: exactly one byte or character substituted, inserted or deleted;
- :func:`byte_mutants`: one to a few changes, truncations and duplicated runs of bytes;
- :func:`structural_mutants`: nodes of nested dicts/lists replaced, removed, duplicated or added.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from hypothesis import strategies as st

T = TypeVar("T", bytes, str)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of nested dicts and lists (the root excluded), parents first."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            found.append((*prefix, key))
            found.extend(paths(child, (*prefix, key)))
    return found


@st.composite
def single_change(draw: st.DrawFn, original: T, alphabet: st.SearchStrategy[T] | None = None) -> T:
    """``original`` with exactly one unit substituted (by a different one), inserted or
    deleted. ``alphabet`` draws the new unit (one byte or one character by default)."""
    unit: st.SearchStrategy[Any]
    if alphabet is not None:
        unit = alphabet
    else:
        unit = st.binary(min_size=1, max_size=1) if isinstance(original, bytes) else st.characters()
    operation = draw(st.sampled_from(["substitute", "insert", "delete"]))
    if not original:
        operation = "insert"
    if operation == "insert":
        position = draw(st.integers(0, len(original)))
        return original[:position] + draw(unit) + original[position:]
    position = draw(st.integers(0, len(original) - 1))
    if operation == "delete":
        return original[:position] + original[position + 1 :]
    new = draw(unit.filter(lambda u: u != original[position : position + 1]))
    return original[:position] + new + original[position + 1 :]


@st.composite
def byte_mutants(draw: st.DrawFn, original: bytes, max_changes: int = 4) -> bytes:
    """``original`` with one to ``max_changes`` changes: bit flips, random bytes written,
    inserted or deleted, a run duplicated, or the end cut off."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, max_changes))):
        operation = draw(
            st.sampled_from(["flip", "write", "insert", "delete", "duplicate", "truncate"])
        )
        if not data:
            operation = "insert"
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == "write":
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[position : position + len(chunk)] = chunk
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        elif operation == "duplicate":
            run = data[position : position + draw(st.integers(1, 32))]
            data[position:position] = run
        else:
            del data[position:]
    return bytes(data)


@st.composite
def structural_mutants(
    draw: st.DrawFn,
    original: Any,
    values: st.SearchStrategy[Any],
    keys: st.SearchStrategy[str],
    max_changes: int = 3,
) -> Any:
    """A deep copy of ``original`` with one to ``max_changes`` nodes replaced by ``values``,
    removed, duplicated (in a list) or given a sibling (a new key from ``keys``)."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, max_changes))):
        found = paths(data)
        if not found:
            break
        path = draw(st.sampled_from(found))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        operation = draw(st.sampled_from(["replace", "delete", "duplicate", "add"]))
        if operation == "replace":
            parent[key] = draw(values)
        elif operation == "delete":
            del parent[key]
        elif operation == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
        else:
            parent.append(draw(values))
    return data

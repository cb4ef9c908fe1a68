"""How a lifecycle is written: the case's (:mod:`certification.cases.states`), the
certificate's status changes and the talent card's (the ``lifecycle`` modules of
:mod:`certification.certificates` and :mod:`certification.cards`).

A lifecycle is an enum of events (a ``StrEnum``: its values are what history and the audit log
record), an enum of states, and one frozen :class:`Transition` row per event saying from which
states it may happen, to which state it leads and who may do it. :func:`table` gathers the rows
by event and refuses a table that misses an event or gives one twice. Each lifecycle's engine
reads its row, refuses what the row does not allow (changing nothing), then does its own work
(a case's hash-chained history, a certificate's status-list bit, a card's validity period).
Tests walk every row of every table.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

E = TypeVar("E", bound=enum.StrEnum)
S = TypeVar("S", bound=enum.Enum)
Row = TypeVar("Row", bound="Transition[Any, Any]")


@dataclass(frozen=True)
class Transition(Generic[E, S]):
    """One row: ``event`` moves from one of ``sources`` to ``target``, done by ``actors``.

    ``target`` None means the engine finds it (a case goes back to where it was when it was
    suspended). ``actors`` are roles (:class:`certification.people.roles.Role`) or a
    lifecycle's own words (the case's candidate); none means only the system does it.
    """

    event: E
    sources: frozenset[S]
    target: S | None
    actors: frozenset[str]

    def allows(self, status: S) -> bool:
        """Whether the event may happen from ``status``."""
        return status in self.sources


def table(events: type[E], rows: Iterable[Row]) -> Mapping[E, Row]:
    """The rows by event, in the order of ``events``: one row for every event, read-only."""
    by_event: dict[E, Row] = {}
    for row in rows:
        if row.event in by_event:
            raise ValueError(f"two rows for {row.event!r}")
        by_event[row.event] = row
    missing = [event for event in events if event not in by_event]
    if missing or len(by_event) != len(events):
        raise ValueError(f"the table of {events.__name__} does not match it: {missing}")
    return MappingProxyType({event: by_event[event] for event in events})


def allowed_events(rows: Mapping[E, Row], status: enum.Enum) -> list[E]:
    """The events that may happen from ``status``, in the table's order."""
    return [event for event, row in rows.items() if status in row.sources]

"""What the fault-injection rounds did (kills per point, processes, files left behind), counted
by tests/faults and printed at the end of the run by its conftest."""

from __future__ import annotations

from collections import Counter

TALLY: Counter[str] = Counter()

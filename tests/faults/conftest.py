"""Figures of the fault-injection run, printed at the end (for the issue's note)."""

from __future__ import annotations

from collections import Counter

import pytest

#: What the rounds did: kills per point, processes, files left behind.
TALLY: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        figures = ", ".join(f"{name}: {count}" for name, count in sorted(TALLY.items()))
        terminalreporter.write_line(f"fault injection: {figures}")

"""Figures of the fault-injection run, printed at the end (for the issue's note)."""

from __future__ import annotations

import pytest

from tests.support.faults import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        figures = ", ".join(f"{name}: {count}" for name, count in sorted(TALLY.items()))
        terminalreporter.write_line(f"fault injection: {figures}")

"""The suite's root: the shared fixtures as plugins, and no network in any test.

Fixtures used by several test modules live in ``tests/fixtures/`` (listed below), helper
functions and constants in ``tests/support/``. A test module asks for fixtures by name and
imports helpers from ``tests.support``; it never imports from another test module.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge what they find, never how fast: on a shared 2-core machine (CI runs its
# workers beside other work) an example may take longer than Hypothesis's 200 ms deadline or its
# data generation look "too slow", which would fail a correct test.
settings.register_profile("attesta", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("attesta")

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.web",
    "tests.fixtures.files",
    "tests.fixtures.worlds",
    "tests.fixtures.certificates",
]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network; only the test database (loopback) is allowed."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in {"127.0.0.1", "::1", "localhost"}
            and not (self.family == socket.AF_UNIX)
        ):
            raise RuntimeError(f"network access in a test: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)

"""Crash points, for the fault-injection tests (tests/faults).

With ``ATTESTA_CRASH_AT=<point>`` in its environment, a process kills itself with SIGKILL on
reaching that point: no exception handler, ``finally`` or exit hook runs, exactly as when the
OOM killer or a power cut stops it. Without the variable (always, in service) it does nothing.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    """Die here, at once, if the fault-injection tests asked for ``name``."""
    if os.environ.get("ATTESTA_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)

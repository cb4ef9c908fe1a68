"""Crash points, for the fault-injection tests (tests/faults).

With ``ATTESTA_CRASH_AT=<point>`` in its environment, a process kills itself with SIGKILL on
reaching that point: no exception handler, ``finally`` or exit hook runs, exactly as when the
OOM killer or a power cut stops it. ``<point>:<path>`` crashes only the first process to get
there (it creates ``path``), so that a retry can then succeed; ``<point>#<n>`` crashes the n-th
time this process reaches it (the second batch of a bulk request, say). Without the variable
(always, in service) it does nothing.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """Die here, at once, if the fault-injection tests asked for ``name``."""
    point, _, once = os.environ.get("ATTESTA_CRASH_AT", "").partition(":")
    point, _, nth = point.partition("#")
    if point != name:
        return
    _reached[name] += 1
    if nth and _reached[name] != int(nth):
        return
    if once:
        try:
            os.close(os.open(once, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return  # crashed once already
    os.kill(os.getpid(), signal.SIGKILL)

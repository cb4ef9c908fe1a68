"""The credential-hashing helper process of long-lived issuers (the web app), and the
parent-death signal their helper and rendering processes die by."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor

log = logging.getLogger(__name__)


def die_with_parent() -> None:
    """A rendering process dies with the process that started it (Linux's parent-death
    signal): an issuer killed mid-run leaves no orphans holding memory and its pipes."""
    if sys.platform != "linux":  # pragma: no cover
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the signal was asked for
        os._exit(1)


class CredentialHasher:
    """One helper process that computes credential hashes (:func:`produce_certificate`).

    Started in the background on first use, and used only once it answers: starting Python
    and pyld costs more than one hash saves, so a short-lived process (a CLI command) never
    waits for it. It dies with the thread that started it (Linux's parent-death signal); a
    broken helper is replaced on the next use. Under gunicorn's threaded workers (``gthread``,
    as served) that thread is one of the worker's request threads, which live as long as the
    worker (its thread pool never replaces them), so the helper is not lost between requests;
    it is thread-safe (a lock guards its start, the executor takes submissions from any thread).
    """

    def __init__(self, wanted: Callable[[], bool] = lambda: True) -> None:
        self._wanted = wanted  # asked before starting it: is this process one that lives on?
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._ready: Future[None] | None = None
        self._pid = 0

    def executor(self) -> Executor | None:
        """The helper when it is up, else None (it is then being started)."""
        with self._lock:
            if self._executor is None or self._pid != os.getpid():  # first use, or forked
                if not self._wanted():
                    return None
                self._pid = os.getpid()
                try:
                    self._executor = ProcessPoolExecutor(
                        max_workers=1,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=die_with_parent,
                    )
                    self._ready = self._executor.submit(_hasher_up)
                except Exception:  # no helper here (e.g. no process may be started): go on
                    log.warning("no credential hashing helper", exc_info=True)
                    self._wanted = lambda: False
                    self._executor = self._ready = None
                    return None
            ready = self._ready
        if ready is not None and ready.done() and ready.exception() is None:
            return self._executor
        return None

    def shutdown(self) -> None:
        """Stop the helper (or forget one that died); the next use starts another."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _hasher_up() -> None:
    """Runs once the helper has imported what hashing needs (the credentials module): it is
    ready."""
    import certification.certificates.credentials  # noqa: F401, PLC0415 - heavy: in the helper only

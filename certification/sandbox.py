"""Checking uploaded PDFs (the seal of one to verify, the content of evidence) in a child
process with CPU, memory and time limits.

A PDF from the internet is hostile input for a PDF parser: compression bombs, deep nesting,
quadratic cross-reference tables. The check runs in a warm child process (spawned once, reused
for many checks, so the web process never pays pyHanko's start-up per upload) limited in address
space and CPU seconds per check, with a wall-clock timeout; a child that dies or hangs is
replaced and the upload gets a verdict, never a crash (security.md §1.8).
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Final, TypeVar

from certification.pdfscan import BUSY, TOO_COMPLEX, inspect_pdf
from certification.sealing import SealCheck, check_seal

T = TypeVar("T")

CPU_SECONDS: Final = 5
MEMORY_BYTES: Final = 512 * 2**20
TIMEOUT_SECONDS: Final = 15.0
#: Checks waiting for the child at once; more get "busy, try again" (INDETERMINATE).
MAX_WAITING: Final = 4


def _limit_memory(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _limit_cpu(cpu_seconds: int) -> None:
    # RLIMIT_CPU counts the whole life of the (reused) child: allow this check its seconds
    # on top of what the child has used so far. Past them the kernel kills it (SIGXCPU).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_seconds, hard))


def _check_in_child(
    pdf: bytes, roots: tuple[str, ...], attachment: str | None, cpu_seconds: int
) -> SealCheck:
    _limit_cpu(cpu_seconds)
    return check_seal(pdf, roots, attachment=attachment)


def _inspect_in_child(pdf: bytes, cpu_seconds: int) -> str | None:
    _limit_cpu(cpu_seconds)
    return inspect_pdf(pdf)


class SealChecker:
    """:func:`certification.sealing.check_seal` and :func:`certification.pdfscan.inspect_pdf`
    in a limited child process; thread-safe."""

    def __init__(
        self,
        *,
        cpu_seconds: int = CPU_SECONDS,
        memory_bytes: int = MEMORY_BYTES,
        timeout: float = TIMEOUT_SECONDS,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._cpu_seconds = cpu_seconds
        self._memory_bytes = memory_bytes
        self._timeout = timeout
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_waiting)
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=1,
                    # Never fork a web worker (threads, database connections): start clean.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_limit_memory,
                    initargs=(self._memory_bytes,),
                    max_tasks_per_child=200,
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        # A hung child does not stop by itself; the pool keeps its processes privately.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, busy: T, limit: T, function: Callable[..., T], *args: object) -> T:
        """``function(*args, cpu_seconds)`` in the child; ``busy`` when too many wait,
        ``limit`` when the child ran out of time or memory."""
        if not self._slots.acquire(blocking=False):
            return busy
        try:
            executor = self._pool()
            try:
                future: Future[T] = executor.submit(function, *args, self._cpu_seconds)
                return future.result(timeout=self._timeout)
            except (BrokenProcessPool, FutureTimeout):
                self._discard(executor)
                return limit
        finally:
            self._slots.release()

    def check(
        self, pdf: bytes, roots: Sequence[str], *, attachment: str | None = None
    ) -> SealCheck:
        """The strict seal check of ``pdf``; ``busy`` when too many wait, ``malformed:limit``
        when the child ran out of time or memory."""
        return self._run(
            SealCheck(False, "busy"),
            SealCheck(False, "malformed:limit"),
            _check_in_child,
            pdf,
            tuple(roots),
            attachment,
        )

    def inspect_pdf(self, pdf: bytes) -> str | None:
        """What :func:`certification.pdfscan.inspect_pdf` finds refused in an uploaded PDF
        (``None``: nothing); :data:`BUSY` when too many wait, ``pdf_too_complex`` when the
        child ran out of time or memory."""
        busy: str | None = BUSY
        return self._run(busy, TOO_COMPLEX, _inspect_in_child, pdf)

    def close(self) -> None:
        """Stop the child process (at shutdown, and in tests)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

"""Running checks of hostile uploads in child processes with CPU, memory and time limits.

A PDF, an image or a credential from the internet is hostile input for its parser: compression
bombs, deep nesting, quadratic cross-reference tables, expensive canonicalisation. Each check runs
in a warm child process (spawned once, reused for many checks, so the web process never pays the
parsers' start-up per upload) limited in address space and CPU seconds per check, with a
wall-clock timeout; a child that dies or hangs is replaced and the caller gets
:class:`SandboxFailed`, never a crash (security.md §1.8).

How many checks run at once on a machine is bounded elsewhere (``certification.portfolio.pool``): a
:class:`Sandbox` only runs what it is given.
"""

from __future__ import annotations

import datetime as dt
import importlib
import multiprocessing
import resource
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, TypeVar

from certification.certificates.sealing import SealCheck, check_seal

CPU_SECONDS: Final = 5
MEMORY_BYTES: Final = 512 * 2**20
TIMEOUT_SECONDS: Final = 15.0
#: Starting a child (Python, the parsers) is not a check's time; on a busy machine it is slow.
START_SECONDS: Final = 120.0
#: What a child imports when it starts: the checks' modules, and the libraries they import only
#: when first used (so that a command need not load them: startup time, issue 20).
PARSERS: Final = (
    "certification.certificates.sealing",
    "certification.portfolio.uploads",
    "certification.portfolio.pdfscan",
    "certification.verification.checks",
    "pikepdf",
    "PIL.Image",
    "PIL.ImageOps",
    "pyhanko.pdf_utils.reader",
    "pyhanko.sign.ades.report",
    "pyhanko.sign.diff_analysis",
    "pyhanko.sign.validation",
    "pyhanko_certvalidator",
    "pyld.jsonld",
    "pyld.context_resolver",
)
#: Checks waiting for the child at once; more get "busy, try again" (INDETERMINATE).
MAX_WAITING: Final = 4

T = TypeVar("T")


class SandboxFailed(Exception):
    """The child ran out of memory, CPU or time, or died: the check has no result."""


def _start_child(memory_bytes: int, modules: tuple[str, ...]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    for name in modules:  # the parsers, loaded before the first check's clock starts
        importlib.import_module(name)


def _ready() -> None:
    """Runs once a child has started: it is warm."""


def _limited(cpu_seconds: int, function: Callable[..., T], *args: Any) -> T:
    # RLIMIT_CPU counts the whole life of the (reused) child: allow this check its seconds
    # on top of what the child has used so far. Past them the kernel kills it (SIGXCPU).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_seconds, hard))
    return function(*args)


class Sandbox:
    """Up to ``children`` warm, limited child processes of this process; thread-safe.

    ``function`` and its arguments cross to the child by pickling: a module-level function.
    """

    def __init__(
        self,
        *,
        children: int = 1,
        cpu_seconds: int = CPU_SECONDS,
        memory_bytes: int = MEMORY_BYTES,
        timeout: float = TIMEOUT_SECONDS,
        modules: tuple[str, ...] = PARSERS,
    ) -> None:
        self.children = children
        self._cpu_seconds = cpu_seconds
        self._memory_bytes = memory_bytes
        self._timeout = timeout
        self._modules = modules
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                executor = ProcessPoolExecutor(
                    max_workers=self.children,
                    # Never fork a web worker (threads, database connections): start clean.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child,
                    initargs=(self._memory_bytes, self._modules),
                )
                # Start every child now (each submission finds no idle one) and wait until
                # they are warm: a check's timeout is for the check, not for Python's start.
                started = [executor.submit(_ready) for _ in range(self.children)]
                try:
                    for future in started:
                        future.result(timeout=START_SECONDS)
                except (BrokenProcessPool, FutureTimeout):
                    self._kill(executor)
                    raise SandboxFailed from None
                self._executor = executor
            return self._executor

    @staticmethod
    def _kill(executor: ProcessPoolExecutor) -> None:
        # A hung child does not stop by itself; the pool keeps its processes privately.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        self._kill(executor)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a child; :class:`SandboxFailed` when the child ran out of
        time or memory or died (it is then replaced). Exceptions ``function`` raises come
        back as they are."""
        executor = self._pool()  # may raise SandboxFailed: no child could start
        try:
            future: Future[T] = executor.submit(_limited, self._cpu_seconds, function, *args)
            return future.result(timeout=self._timeout)
        except (BrokenProcessPool, FutureTimeout, MemoryError):
            self._discard(executor)
            raise SandboxFailed from None

    def close(self) -> None:
        """Stop the child processes (at shutdown, and in tests)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _check_seal(
    pdf: bytes, roots: tuple[str, ...], attachment: str | None, now: dt.datetime | None
) -> SealCheck:
    return check_seal(pdf, roots, attachment=attachment, now=now)


def seal_check_in_child(
    sandbox: Sandbox,
    pdf: bytes,
    roots: Sequence[str],
    attachment: str | None,
    now: dt.datetime | None = None,
) -> SealCheck:
    """:func:`certification.certificates.sealing.check_seal` in ``sandbox``; ``malformed:limit``
    when the child ran out of time or memory."""
    try:
        return sandbox.run(_check_seal, pdf, tuple(roots), attachment, now)
    except SandboxFailed:
        return SealCheck(False, "malformed:limit")


class SealChecker:
    """:func:`certification.certificates.sealing.check_seal` in one limited child process of this
    process, with a short per-process queue; thread-safe. (The web app bounds checks per machine
    with ``certification.portfolio.pool.UploadPool`` instead.)"""

    def __init__(
        self,
        *,
        cpu_seconds: int = CPU_SECONDS,
        memory_bytes: int = MEMORY_BYTES,
        timeout: float = TIMEOUT_SECONDS,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._sandbox = Sandbox(
            cpu_seconds=cpu_seconds,
            memory_bytes=memory_bytes,
            timeout=timeout,
            modules=("certification.certificates.sealing",),
        )
        self._slots = threading.BoundedSemaphore(max_waiting)

    def check(
        self,
        pdf: bytes,
        roots: Sequence[str],
        *,
        attachment: str | None = None,
        now: dt.datetime | None = None,
    ) -> SealCheck:
        """The strict seal check of ``pdf`` as of ``now``; ``busy`` when too many wait,
        ``malformed:limit`` when the child ran out of time or memory."""
        if not self._slots.acquire(blocking=False):
            return SealCheck(False, "busy")
        try:
            return seal_check_in_child(self._sandbox, pdf, roots, attachment, now)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stop the child process (at shutdown, and in tests)."""
        self._sandbox.close()

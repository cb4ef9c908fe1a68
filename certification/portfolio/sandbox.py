"""Running checks of hostile uploads in child processes with CPU, memory and time limits.

A PDF, an image or a credential from the internet is hostile input for its parser: compression
bombs, deep nesting, quadratic cross-reference tables, expensive canonicalisation. Each check runs
in a warm child process (spawned once, reused for many checks, so the web process never pays the
parsers' start-up per upload) limited in address space and CPU seconds per check, with a
wall-clock timeout; a child that dies or hangs is replaced and the caller gets
:class:`SandboxFailed`, never a crash (security.md §1.8).

Each child is persistent and talks to its parent over a pipe of its own: the parent sends
``(function, args)`` and waits for the answer with a timeout, in the calling thread; no executor,
management thread or queue stands between them (issue 22: a check's round trip is one pickled
message each way).

How many checks run at once on a machine is bounded elsewhere (``certification.portfolio.pool``): a
:class:`Sandbox` only runs what it is given.
"""

from __future__ import annotations

import datetime as dt
import importlib
import multiprocessing
import resource
import threading
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any, Final, TypeVar, cast

from certification.certificates.sealing import SealCheck, check_seal

CPU_SECONDS: Final = 5
MEMORY_BYTES: Final = 512 * 2**20
TIMEOUT_SECONDS: Final = 15.0
#: Starting a child (Python, the parsers) is not a check's time; on a busy machine it is slow.
START_SECONDS: Final = 120.0
#: How long a child asked to stop may take before it is killed.
STOP_SECONDS: Final = 2.0
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

# What a child answers: warm, a result, an exception the function raised, or no answer it could
# send (the result or the exception could not be pickled).
_READY: Final = "ready"
_RETURNED: Final = "returned"
_RAISED: Final = "raised"
_UNSENDABLE: Final = "unsendable"

T = TypeVar("T")


class SandboxFailed(Exception):
    """The child ran out of memory, CPU or time, or died: the check has no result."""


def _start_child(memory_bytes: int, modules: tuple[str, ...]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    for name in modules:  # the parsers, loaded before the first check's clock starts
        importlib.import_module(name)


def _limited(cpu_seconds: int, function: Callable[..., T], *args: Any) -> T:
    # RLIMIT_CPU counts the whole life of the (reused) child: allow this check its seconds
    # on top of what the child has used so far. Past them the kernel kills it (SIGXCPU).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_seconds, hard))
    return function(*args)


def _serve(connection: Connection, memory_bytes: int, modules: tuple[str, ...]) -> None:
    """The child: warm up, say so, then run each ``(cpu_seconds, function, args)`` received and
    send back what came of it, until the parent sends ``None`` or goes away."""
    _start_child(memory_bytes, modules)
    connection.send((_READY, None))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the parent closed its end, or died
            return
        if message is None:
            return
        cpu_seconds, function, args = message
        answer: tuple[str, Any]
        try:
            answer = (_RETURNED, _limited(cpu_seconds, function, *args))
        except BaseException as exc:  # as a process pool does: the caller gets it back
            answer = (_RAISED, (exc, traceback.format_exc()))
        try:
            payload = ForkingPickler.dumps(answer)
        except Exception as exc:  # nothing was sent: say why instead
            payload = ForkingPickler.dumps((_UNSENDABLE, f"{type(exc).__name__}: {exc}"))
        del answer, message
        try:
            connection.send_bytes(payload)
        except (EOFError, OSError):
            return


class _Child:
    """One child process of a sandbox and the parent's end of its pipe, used by one thread at
    a time: started (``process`` set) when made, or on its first use if that failed; ``warm``
    once it said it has loaded the parsers."""

    def __init__(self, sandbox: Sandbox, generation: int) -> None:
        self._sandbox = sandbox
        self.generation = generation
        self.process: BaseProcess | None = None
        self.connection: Connection | None = None
        self.warm = False

    def start(self) -> None:
        sandbox = self._sandbox
        parent_end, child_end = sandbox.context.Pipe(duplex=True)
        try:
            process = sandbox.context.Process(
                target=_serve,
                args=(child_end, sandbox.memory_bytes, sandbox.modules),
                name="attesta-sandbox",
                daemon=True,  # never outlives the process that started it
            )
            process.start()
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()  # the child's end lives in the child only: its death is EOF here
        self.process, self.connection = process, parent_end

    def answer(self, timeout: float) -> tuple[str, Any]:
        """The child's next message; :class:`SandboxFailed` if none came in ``timeout``
        seconds or the child died. A message that cannot be unpickled here is an
        ``_UNSENDABLE`` answer: it was read whole, the child is still fine."""
        assert self.connection is not None
        try:
            if not self.connection.poll(timeout):
                raise SandboxFailed("the child did not answer in time")
            data = self.connection.recv_bytes()
        except (EOFError, OSError) as exc:  # the child died: killed by a limit, or crashed
            raise SandboxFailed(f"the child died ({type(exc).__name__})") from None
        try:
            return cast(tuple[str, Any], ForkingPickler.loads(data))
        except Exception as exc:
            return (_UNSENDABLE, f"{type(exc).__name__}: {exc}")

    def kill(self) -> None:
        if self.process is not None and self.connection is not None:
            self.process.kill()
            self.process.join()
            self.process.close()
            self.connection.close()

    def stop(self) -> None:
        """Ask the child to end; kill it if it has not in :data:`STOP_SECONDS`."""
        if self.process is None or self.connection is None:
            return
        with suppress(OSError):
            self.connection.send(None)
        self.process.join(STOP_SECONDS)
        self.kill()  # nothing left to kill if it ended


class Sandbox:
    """Up to ``children`` warm, limited child processes of this process; thread-safe. A check
    takes a free child (waits for one while all are busy) and has it to itself.

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
        if children < 1:
            raise ValueError(f"a sandbox needs at least one child, not {children}")
        self.children = children
        self.memory_bytes = memory_bytes
        self.modules = modules
        #: Never fork a web worker (threads, database connections): start clean.
        self.context = multiprocessing.get_context("spawn")
        self._cpu_seconds = cpu_seconds
        self._timeout = timeout
        self._changed = threading.Condition()
        self._idle: list[_Child] = []
        self._started = False
        #: Counts the calls of close(): a child of an earlier one is stopped when given back.
        self._generation = 0

    def _spawn(self, generation: int) -> _Child:
        """A new child, started now (it warms up while nobody waits for it) or, if it could
        not be, by the check that takes it."""
        child = _Child(self, generation)
        with suppress(OSError):
            child.start()
        return child

    def _take(self) -> _Child:
        with self._changed:
            while True:
                if not self._started:  # the first check (after close(): again): all start now
                    self._idle = [self._spawn(self._generation) for _ in range(self.children)]
                    self._started = True
                if self._idle:
                    return self._idle.pop()
                self._changed.wait()

    def _give_back(self, child: _Child) -> None:
        with self._changed:
            if self._started and child.generation == self._generation:
                self._idle.append(child)
                self._changed.notify()
                return
        child.stop()  # the sandbox was closed meanwhile

    def _replace(self, child: _Child) -> None:
        """Kill ``child`` and put a new one, starting, in its place."""
        child.kill()
        self._give_back(self._spawn(child.generation))

    @staticmethod
    def _warm(child: _Child) -> Connection:
        """``child``'s pipe, once it has loaded the parsers: not a check's time."""
        if child.process is None:
            try:
                child.start()
            except OSError as exc:
                raise SandboxFailed(f"no child could start ({exc})") from None
        if not child.warm:
            kind, _ = child.answer(START_SECONDS)
            if kind != _READY:
                raise SandboxFailed(f"the child started with {kind!r}")
            child.warm = True
        assert child.connection is not None
        return child.connection

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a child; :class:`SandboxFailed` when the child ran out of
        time or memory or died (it is then replaced). Exceptions ``function`` raises come
        back as they are."""
        # Pickled here, once: what cannot be pickled is the caller's error, not the child's.
        payload = ForkingPickler.dumps((self._cpu_seconds, function, args))
        child = self._take()
        try:
            connection = self._warm(child)
            connection.send_bytes(payload)
            kind, value = child.answer(self._timeout)
        except BaseException as exc:  # hung, dead, never warm, or this thread interrupted
            self._replace(child)
            if isinstance(exc, (SandboxFailed, OSError)):
                raise SandboxFailed(str(exc)) from None
            raise
        if kind == _RAISED and isinstance(value[0], MemoryError):
            self._replace(child)  # a child that ran out of memory is not trusted with more
            raise SandboxFailed("the child ran out of memory")
        self._give_back(child)
        if kind == _RETURNED:
            return cast(T, value)
        if kind == _UNSENDABLE:
            raise SandboxFailed(f"the child's answer could not be pickled: {value}")
        raised, text = value
        raised.add_note(f"Raised in the sandbox's child process:\n{text}")
        raise raised

    def close(self) -> None:
        """Stop the child processes (at shutdown, and in tests); one busy with a check stops
        when the check ends. The next :meth:`run` starts new ones."""
        with self._changed:
            idle, self._idle = self._idle, []
            self._started = False
            self._generation += 1
            self._changed.notify_all()  # a check waiting for a child starts new ones
        for child in idle:
            child.stop()


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

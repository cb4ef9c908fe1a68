"""The bounded pool for checks of uploaded files: a fixed number of slots per machine, a short
queue, then "busy" (security.md §1.8).

A check of an upload (a certificate PDF's seal, a credential's proof, an evidence file) costs
a parse of hostile input in a limited child process (:mod:`certification.portfolio.sandbox`).
However many web processes and threads ask, at most ``slots`` checks run at once on the machine, and
at most ``queue`` more wait, each for at most ``wait`` seconds; every other upload is refused
at once with :class:`PoolBusy` (the web says 503 with ``Retry-After``). So uploads cannot take
the CPU, the memory or the web threads that code look-ups need.

The slots are files in a folder of the instance, each held with ``flock`` while a check runs:
shared by every process of the machine that opens the same folder, released by the kernel
when a holder dies, whatever killed it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from certification.certificates.credentials import CredentialCheck
from certification.certificates.sealing import SealCheck
from certification.errors import Unavailable
from certification.portfolio.sandbox import Sandbox, SandboxFailed, seal_check_in_child
from certification.portfolio.uploads import CheckedFile, UploadRejected, check_upload
from certification.verification.checks import verify_with_key

#: How long a refused client is asked to wait before trying again.
RETRY_AFTER_SECONDS: Final = 5
#: Polling of the slots while queued: first after this, doubling up to the most.
_FIRST_POLL: Final = 0.005
_MOST_POLL: Final = 0.05


def default_slots(cores: int | None = None) -> int:
    """One check per core but one: a core stays for the web."""
    return max(1, (cores if cores is not None else os.cpu_count() or 1) - 1)


class PoolBusy(Unavailable):
    """Every slot is taken and the queue is full, or the wait ran out: try again later.
    ``params['retry_after']`` is the number of seconds to wait."""

    code = "busy"


@dataclass(frozen=True)
class PoolSettings:
    slots: int
    queue: int
    wait: float
    retry_after: int = RETRY_AFTER_SECONDS


class MachineSlots:
    """``settings.slots`` slots shared by every process that uses ``directory``; thread-safe
    (each attempt opens its own file description, so two threads of one process exclude each
    other as two processes do)."""

    def __init__(
        self,
        directory: Path,
        settings: PoolSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.slots < 1 or settings.queue < 0 or settings.wait < 0:
            raise ValueError(f"bad pool settings: {settings}")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.settings = settings
        self._clock = clock
        self._sleep = sleep

    def _take_one(self, kind: str, count: int) -> int | None:
        for index in range(count):
            fd = os.open(self.directory / f"{kind}-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    @staticmethod
    def _release(fd: int) -> None:
        os.close(fd)  # closing the only descriptor of the file releases its lock

    def _busy(self) -> PoolBusy:
        return PoolBusy("every upload check slot is taken", retry_after=self.settings.retry_after)

    def _take(self) -> int:
        settings = self.settings
        fd = self._take_one("slot", settings.slots)
        if fd is not None:
            return fd
        ticket = self._take_one("queue", settings.queue)
        if ticket is None:
            raise self._busy()
        try:
            deadline = self._clock() + settings.wait
            delay = _FIRST_POLL
            while (left := deadline - self._clock()) > 0:
                self._sleep(min(delay, left))
                delay = min(delay * 2, _MOST_POLL)
                fd = self._take_one("slot", settings.slots)
                if fd is not None:
                    return fd
            raise self._busy()
        finally:
            self._release(ticket)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the block: at once if one is free, else after waiting in the queue
        (at most ``wait`` seconds); :class:`PoolBusy` when none came."""
        fd = self._take()
        try:
            yield
        finally:
            self._release(fd)


def _rejected(reason: str) -> UploadRejected:
    return UploadRejected(f"upload rejected: {reason}", errors={"file": [reason]}, reason=reason)


def _check_upload_in_child(data: bytes, name: str, max_bytes: int) -> CheckedFile | str:
    # An exception with keyword arguments does not survive pickling: send the reason back.
    try:
        return check_upload(data, name, max_bytes=max_bytes)
    except UploadRejected as refused:
        return str(refused.params.get("reason", "damaged"))


class UploadPool:
    """Checks of uploads, each in a slot of ``slots`` and a child of ``sandbox``: the seal of a
    PDF (:meth:`check`, for :func:`certification.verification.checks.verify_file`), a credential's
    proof (:meth:`verify_proof`) and an evidence file (:meth:`check_upload`). Each raises
    :class:`PoolBusy` when no slot came; a child that died or ran out of its limits gives a
    refusal (``malformed:limit``, ``limit``, ``too_complex``) and frees its slot."""

    def __init__(self, slots: MachineSlots, sandbox: Sandbox) -> None:
        self.slots = slots
        self.sandbox = sandbox

    def check(
        self,
        pdf: bytes,
        roots: Sequence[str],
        *,
        attachment: str | None = None,
        now: dt.datetime | None = None,
    ) -> SealCheck:
        with self.slots.slot():
            return seal_check_in_child(self.sandbox, pdf, roots, attachment, now)

    def verify_proof(
        self, credential: dict[str, Any], method: str | None, public_key_pem: str | None
    ) -> CredentialCheck:
        with self.slots.slot():
            try:
                return self.sandbox.run(verify_with_key, credential, method, public_key_pem)
            except SandboxFailed:
                return CredentialCheck(False, "limit")

    def check_upload(self, data: bytes, name: str, *, max_bytes: int) -> CheckedFile:
        if not data or len(data) > max_bytes:  # refused before anything parses it
            return check_upload(data, name, max_bytes=max_bytes)
        with self.slots.slot():
            try:
                outcome = self.sandbox.run(_check_upload_in_child, data, name, max_bytes)
            except SandboxFailed:
                raise _rejected("too_complex") from None
        if isinstance(outcome, str):
            raise _rejected(outcome)
        return outcome

    def close(self) -> None:
        self.sandbox.close()

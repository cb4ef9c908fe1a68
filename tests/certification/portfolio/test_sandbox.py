"""The sandbox's persistent children: each talks over a pipe of its own; a hung or dead child is
killed and replaced and the caller gets SandboxFailed; what the function raises comes back as it
is; limits hold in the child; close() stops them."""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from certification.portfolio.sandbox import Sandbox, SandboxFailed

MEMORY = 1024 * 2**20


class Refusal(Exception):
    """Raised in the child, expected back in the parent."""


def refuse(reason: str) -> None:
    raise Refusal(reason)


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def limits() -> tuple[tuple[int, int], int]:
    return resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)[0]


def spin() -> None:
    while True:
        pass


def unpicklable() -> Any:
    return threading.Lock()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # No parsers to load: the children start in a fraction of a second.
    made = Sandbox(modules=(), memory_bytes=MEMORY, timeout=5.0)
    yield made
    made.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers: look at its state.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_a_child_is_warm_reused_and_limited(sandbox: Sandbox) -> None:
    first = sandbox.run(os.getpid)
    assert first != os.getpid()
    assert sandbox.run(os.getpid) == first  # the same child, check after check
    memory, cpu = sandbox.run(limits)
    assert memory == (MEMORY, MEMORY)
    assert cpu != resource.RLIM_INFINITY  # this check's CPU seconds, on top of those used


def test_an_exception_crosses_back_as_itself(sandbox: Sandbox) -> None:
    child = sandbox.run(os.getpid)
    with pytest.raises(Refusal, match="not today") as raised:
        sandbox.run(refuse, "not today")
    assert any("child process" in note for note in raised.value.__notes__)
    with pytest.raises(ValueError, match="seven"):
        sandbox.run(int, "seven")
    assert sandbox.run(os.getpid) == child  # an exception is an answer: the child stays


def test_an_answer_that_cannot_be_pickled_fails_but_keeps_the_child(sandbox: Sandbox) -> None:
    child = sandbox.run(os.getpid)
    with pytest.raises(SandboxFailed):
        sandbox.run(unpicklable)
    assert sandbox.run(os.getpid) == child


def test_what_cannot_be_pickled_is_the_callers_error(sandbox: Sandbox) -> None:
    with pytest.raises(AttributeError):  # a local function is no module-level one
        sandbox.run(lambda: None)
    assert sandbox.run(pow, 2, 10) == 1024


@pytest.mark.slow
def test_a_hung_check_is_killed_and_the_next_check_works() -> None:
    hasty = Sandbox(modules=(), memory_bytes=MEMORY, timeout=0.5)
    try:
        child = hasty.run(os.getpid)
        started = time.monotonic()
        with pytest.raises(SandboxFailed):
            hasty.run(time.sleep, 60)
        assert time.monotonic() - started < 30
        assert not _alive(child)
        replacement = hasty.run(os.getpid)  # waits for the new child to start, not its clock
        assert replacement != child
        assert hasty.run(pow, 2, 10) == 1024
    finally:
        hasty.close()


@pytest.mark.slow
def test_a_child_that_dies_is_replaced(sandbox: Sandbox) -> None:
    child = sandbox.run(os.getpid)
    with pytest.raises(SandboxFailed):
        sandbox.run(os._exit, 3)  # dies in the check
    assert not _alive(child)
    second = sandbox.run(os.getpid)
    assert second != child
    os.kill(second, signal.SIGKILL)  # dies between checks (the kernel's OOM killer, say)
    with pytest.raises(SandboxFailed):
        sandbox.run(os.getpid)
    third = sandbox.run(os.getpid)
    assert third not in (child, second)


@pytest.mark.slow
def test_a_check_past_its_cpu_seconds_is_killed() -> None:
    busy = Sandbox(modules=(), memory_bytes=MEMORY, cpu_seconds=1, timeout=60.0)
    try:
        child = busy.run(os.getpid)
        with pytest.raises(SandboxFailed):
            busy.run(spin)  # SIGXCPU after its second, long before the wall-clock timeout
        assert busy.run(os.getpid) != child
    finally:
        busy.close()


@pytest.mark.slow
def test_checks_at_once_run_in_different_children() -> None:
    two = Sandbox(modules=(), memory_bytes=MEMORY, children=2)
    pids: list[int] = []
    try:
        workers = [
            threading.Thread(target=lambda: pids.append(two.run(pid_after, 0.5))) for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len(set(pids)) == 2 and os.getpid() not in pids
    finally:
        two.close()


def test_close_stops_the_children_and_a_later_check_starts_new_ones(sandbox: Sandbox) -> None:
    child = sandbox.run(os.getpid)
    sandbox.close()
    assert not _alive(child)
    assert sandbox.run(os.getpid) not in (child, os.getpid())


def test_a_sandbox_needs_a_child() -> None:
    with pytest.raises(ValueError, match="at least one child"):
        Sandbox(children=0)

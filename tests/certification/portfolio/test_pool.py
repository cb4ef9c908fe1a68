"""The bounded pool for upload checks: slots shared by every process of the machine, a short
queue, then "busy"; a child that dies or runs out of its limits gives a clear answer and frees
its slot."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from certification.certificates.credentials import CredentialCheck
from certification.certificates.sealing import SealCheck
from certification.portfolio.pool import (
    MachineSlots,
    PoolBusy,
    PoolSettings,
    UploadPool,
    default_slots,
)
from certification.portfolio.sandbox import Sandbox, SandboxFailed
from certification.portfolio.uploads import UploadRejected

ROOT = Path(__file__).resolve().parents[3]

#: A process that takes every slot of a folder and holds them until told to stop.
HOLDER = """
import sys
from pathlib import Path
from certification.portfolio.pool import MachineSlots, PoolSettings
slots = MachineSlots(Path(sys.argv[1]), PoolSettings(slots=2, queue=0, wait=0))
with slots.slot(), slots.slot():
    print("held", flush=True)
    sys.stdin.readline()
"""


class FakeTime:
    """A clock that moves only when the pool sleeps; ``during_sleep`` runs at each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.during_sleep: Callable[[], None] = lambda: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.during_sleep()


def _slots(
    path: Path, *, slots: int = 1, queue: int = 0, wait: float = 0, time: FakeTime | None = None
) -> MachineSlots:
    time = time or FakeTime()
    return MachineSlots(
        path, PoolSettings(slots=slots, queue=queue, wait=wait), clock=time.clock, sleep=time.sleep
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    with process:  # closes its pipes
        yield process
        process.kill()


@pytest.mark.parametrize(("cores", "slots"), [(1, 1), (2, 1), (4, 3), (16, 15)])
def test_one_slot_per_core_but_one(cores: int, slots: int) -> None:
    assert default_slots(cores) == slots


@pytest.mark.slow
def test_the_slots_are_shared_by_every_process_of_the_machine(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    here = _slots(tmp_path, slots=2)
    with pytest.raises(PoolBusy) as refused, here.slot():
        pass
    assert refused.value.code == "busy" and refused.value.params["retry_after"] > 0
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait() == 0
    with here.slot(), here.slot():  # both free again
        pass


@pytest.mark.slow
def test_a_holder_that_dies_frees_its_slots(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.kill()  # no clean exit: the kernel releases its locks
    holder.wait()
    with _slots(tmp_path, slots=2).slot():
        pass


def test_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    one, other = _slots(tmp_path), _slots(tmp_path)
    with one.slot():
        with pytest.raises(PoolBusy), other.slot():
            pass
        with pytest.raises(PoolBusy), one.slot():
            pass


def test_without_a_queue_a_full_pool_refuses_at_once(tmp_path: Path) -> None:
    time = FakeTime()
    slots = _slots(tmp_path, queue=0, wait=3, time=time)
    with slots.slot(), pytest.raises(PoolBusy), slots.slot():
        pass
    assert time.slept == []


def test_a_queued_upload_waits_its_time_then_is_refused(tmp_path: Path) -> None:
    time = FakeTime()
    slots = _slots(tmp_path, queue=1, wait=3, time=time)
    with slots.slot(), pytest.raises(PoolBusy), slots.slot():
        pass
    assert sum(time.slept) == pytest.approx(3) and len(time.slept) > 1


def test_a_full_queue_refuses_at_once(tmp_path: Path) -> None:
    """While one upload waits for the only queue place, the next is refused without waiting."""
    time = FakeTime()
    slots = _slots(tmp_path, queue=1, wait=3, time=time)
    refusals: list[int] = []

    def another_upload() -> None:
        if refusals:
            return
        slept = len(time.slept)
        with pytest.raises(PoolBusy), _slots(tmp_path, queue=1, wait=3, time=time).slot():
            pass
        refusals.append(len(time.slept) - slept)

    time.during_sleep = another_upload
    with slots.slot(), pytest.raises(PoolBusy), slots.slot():
        pass
    assert refusals == [0]


def test_a_slot_freed_during_the_wait_is_taken(tmp_path: Path) -> None:
    time = FakeTime()
    slots = _slots(tmp_path, queue=1, wait=3, time=time)
    holding = slots.slot()
    holding.__enter__()
    time.during_sleep = lambda: holding.__exit__(None, None, None) if len(time.slept) == 2 else None
    with slots.slot():
        assert len(time.slept) == 2


# --- the children ---------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    made = Sandbox(memory_bytes=256 * 2**20)
    yield made
    made.close()


@pytest.mark.slow
def test_a_child_that_dies_or_runs_out_of_memory_is_replaced(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxFailed):
        sandbox.run(os._exit, 3)
    with pytest.raises(SandboxFailed):
        sandbox.run(bytes, 2**30)  # past RLIMIT_AS
    assert sandbox.run(pow, 2, 10) == 1024


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.slow
def test_evidence_is_checked_in_a_child(tmp_path: Path, sandbox: Sandbox) -> None:
    pool = UploadPool(_slots(tmp_path), sandbox)
    checked = pool.check_upload(_png(), "photo.png", max_bytes=2**20)
    assert checked.media_type == "image/png" and checked.filename == "photo.png"
    with pytest.raises(UploadRejected) as refused:
        pool.check_upload(b"<html><script>x</script>", "cv.pdf", max_bytes=2**20)
    assert refused.value.params["reason"] == "type_not_allowed"
    assert refused.value.errors == {"file": ["type_not_allowed"]}


def slow_proof_check(*_args: object) -> CredentialCheck:
    """Stands in for the proof check in the child: it outlasts any timeout of the test (the
    real check of an empty credential can answer before a loaded machine wakes the waiter)."""
    import time

    time.sleep(30)
    return CredentialCheck(False, "no_proof")


def slow_seal_check(*_args: object) -> SealCheck:
    """Stands in for the seal check in the child, as :func:`slow_proof_check` does: a pipe's
    wait is rounded up to a millisecond, in which a quiet child can refuse a 15-byte PDF."""
    import time

    time.sleep(30)
    return SealCheck(False, "malformed:test")


def slow_upload_check(*_args: object) -> str:
    """Stands in for the upload check in the child (see :func:`slow_seal_check`)."""
    import time

    time.sleep(30)
    return "type_not_allowed"


@pytest.mark.slow
def test_a_check_that_runs_out_of_time_is_refused_and_frees_its_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("certification.portfolio.pool.verify_with_key", slow_proof_check)
    monkeypatch.setattr("certification.portfolio.sandbox._check_seal", slow_seal_check)
    monkeypatch.setattr("certification.portfolio.pool._check_upload_in_child", slow_upload_check)
    hasty = Sandbox(timeout=0.000_001)
    slots = _slots(tmp_path)
    pool = UploadPool(slots, hasty)
    try:
        with pytest.raises(UploadRejected) as refused:
            pool.check_upload(_png(), "photo.png", max_bytes=2**20)
        assert refused.value.errors == {"file": ["too_complex"]}
        assert pool.check(b"%PDF-1.7\n%%EOF", []) == SealCheck(False, "malformed:limit")
        assert pool.verify_proof({}, None, None) == CredentialCheck(False, "limit")
    finally:
        hasty.close()
    with slots.slot():  # free again
        pass


def test_a_busy_pool_checks_nothing(tmp_path: Path, sandbox: Sandbox) -> None:
    slots = _slots(tmp_path)
    pool = UploadPool(slots, sandbox)
    with slots.slot():
        for check in (
            lambda: pool.check_upload(_png(), "photo.png", max_bytes=2**20),
            lambda: pool.check(b"%PDF-1.7\n%%EOF", []),
            lambda: pool.verify_proof({}, None, None),
        ):
            with pytest.raises(PoolBusy):
                check()
        # Files refused on their size alone need no slot.
        with pytest.raises(UploadRejected) as refused:
            pool.check_upload(b"", "empty.pdf", max_bytes=2**20)
        assert refused.value.params["reason"] == "empty"

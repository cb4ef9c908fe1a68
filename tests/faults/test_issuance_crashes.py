"""Fault injection on issuance: the issuing process is killed with SIGKILL at each step, over and
over, then restarted; whatever the moment, no certificate is ISSUED without its PDF and matching
hash, nothing is public without an ISSUED row, and no number, status index or code is reused.
Processes issuing at the same time never collide (nor, on SQLite, find the database locked).

Slow (a process per round), so not part of ``make test``: ``make faults`` runs it, and .ci/run
runs it on SQLite and on PostgreSQL. FAULT_ROUNDS (default 2) repeats every crash point and
adds as many kills at random moments.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import database
from certification.audit.chains import verify_all_chains
from certification.cases.states import CaseStatus
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.certificates.sealing import check_seal
from certification.clock import utcnow
from certification.db import READER
from certification.models import (
    BulkIssuance,
    Certificate,
    CertificateStatus,
    CertificationCase,
    KeyPurpose,
    OutboxMessage,
    SigningKey,
    StoredFile,
    UserAccount,
)
from certification.storage.blobs import FileSystemStorage
from tests.support.faults import TALLY
from tests.support.instances import ROOT, Instance, new_instance, seed_certified

ROUNDS = int(os.environ.get("FAULT_ROUNDS", "2"))
#: Where ``certification.certificates.faults.crash_point`` can kill issuance, in the order they
#: are reached.
POINTS = ["reserved", "produced", "stored", "committed"]
#: A bulk request of BATCH cases is reserved in batches of 1, 2, 1 and completed in one batch
#: (``run_bulk``): kills inside the second reservation batch (``reserving`` after its second
#: case, not committed), right after its commit (the second ``reserved``), and inside the
#: completion batch (``batched`` after the second of four written, none committed).
BATCH = 4
BATCH_POINTS = ["reserving#2", "reserved#2", "batched#2"]
#: How many of the request's cases hold a PENDING certificate after the kill at each point.
BATCH_RESERVED = {"reserving": 1, "reserved": 3, "batched": 4}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # one case a crash round, four a batch round, three a random round, nine issued at once,
    # three queued
    cases = ROUNDS * (len(POINTS) + BATCH * len(BATCH_POINTS) + 3) + 9 + 3
    with new_instance(tmp_path_factory.mktemp("faults")) as instance:
        signatory_id, case_ids = seed_certified(instance, cases)
        app = instance.app()
        with Session(database(app).engine) as db:
            email = db.get(UserAccount, signatory_id).email  # type: ignore[union-attr]
        yield {
            "instance": instance,
            "app": app,
            "email": email,
            "cases": iter(case_ids),
            "sealed": set(),  # PDFs whose seal was checked already (bytes never change)
        }


def _issue_command(
    world: dict[str, Any], case_ids: list[uuid.UUID], key: str, workers: int = 0
) -> list[str]:
    """``certificates issue`` (rendering in the process itself unless ``workers``)."""
    args = ["certificates", "issue", "--as", world["email"], "--idempotency-key", key]
    for case_id in case_ids:
        args += ["--case", str(case_id)]
    return [*args, "--workers", str(workers)]


def _issue(world: dict[str, Any], case_ids: list[uuid.UUID], key: str, **env: str) -> Any:
    return world["instance"].flask(*_issue_command(world, case_ids, key), **env)


def _recover(world: dict[str, Any]) -> None:
    done = world["instance"].flask("certificates", "recover", "--minutes", "0")
    assert done.returncode == 0, done.stderr


def _check(world: dict[str, Any]) -> dict[str, int]:
    """The invariants, read from the instance's database and files like a verifier would."""
    app: Flask = world["app"]
    instance: Instance = world["instance"]
    files = FileSystemStorage(instance.path / "files")
    client = app.test_client()
    # A reader (BEGIN DEFERRED): on SQLite a plain session takes the write lock at its first
    # SELECT, and each verification below then waited the whole busy timeout (10 s) to log its
    # entry, in vain: about a minute and a half per test.
    with Session(database(app).engine.execution_options(**READER)) as db:
        rows = db.scalars(select(Certificate).order_by(Certificate.reserved_at)).all()
        root = db.scalars(
            select(SigningKey.certificate_pem).where(SigningKey.purpose == KeyPurpose.ROOT_CA)
        ).one()
        recorded = set(db.scalars(select(StoredFile.sha256)))
        subjects = list(db.scalars(select(OutboxMessage.subject)))
        for field in ("number", "verification_code"):
            values = [getattr(c, field) for c in rows]
            assert len(values) == len(set(values)), f"a {field} was reused"
        indices = [(c.organisation_id, c.status_index) for c in rows]
        assert len(indices) == len(set(indices)), "a status index was reused"
        for certificate in rows:
            public = certificate.status in PUBLIC_STATES
            answer = client.get(f"/api/v1/verify/{certificate.verification_code}")
            if not public:
                assert certificate.pdf_sha256 is None and certificate.credential_sha256 is None
                assert answer.status_code == 404, certificate.status
                continue
            assert answer.status_code == 200
            for sha256 in (certificate.pdf_sha256, certificate.credential_sha256):
                assert sha256 in recorded
                assert hashlib.sha256(files.get(str(sha256))).hexdigest() == sha256
            # The holder's e-mail was written with the ISSUED row, once (its subject names it).
            if certificate.case.candidate.account is not None:
                told = [s for s in subjects if certificate.number in s]
                assert len(told) == 1, (certificate.number, told)
            if certificate.pdf_sha256 not in world["sealed"]:
                assert check_seal(files.get(str(certificate.pdf_sha256)), root).ok
                world["sealed"].add(certificate.pdf_sha256)
        public_by_case = Counter(
            c.case_id
            for c in rows
            if c.status in PUBLIC_STATES and c.status != CertificateStatus.SUPERSEDED
        )
        assert max(public_by_case.values(), default=1) == 1, "a case has two certificates"
        for case in db.scalars(select(CertificationCase)):
            issued = public_by_case[case.id] == 1
            assert issued == (case.status == CaseStatus.CERTIFICATE_ISSUED), case.status
        assert verify_all_chains(db) == []
        on_disk = {p.name for p in (instance.path / "files").rglob("*") if p.is_file()}
        return {
            "certificates": len(rows),
            "issued": sum(1 for c in rows if c.status == CertificateStatus.ISSUED),
            "pending": sum(1 for c in rows if c.status == CertificateStatus.PENDING),
            "orphan_files": len(on_disk - recorded),
        }


def _pending(world: dict[str, Any], case_ids: list[uuid.UUID]) -> int:
    """How many of these cases hold a PENDING certificate."""
    with Session(database(world["app"]).engine) as db:
        return len(
            db.scalars(
                select(Certificate).where(
                    Certificate.case_id.in_(case_ids),
                    Certificate.status == CertificateStatus.PENDING,
                )
            ).all()
        )


def _progress(world: dict[str, Any], key: str) -> list[str]:
    """The item statuses of the bulk request with this idempotency key."""
    with Session(database(world["app"]).engine) as db:
        bulk = db.scalars(select(BulkIssuance).where(BulkIssuance.idempotency_key == key)).one()
        return [item["status"] for item in bulk.items]


def _status(world: dict[str, Any], case_id: uuid.UUID) -> CaseStatus:
    with Session(database(world["app"]).engine) as db:
        case = db.get(CertificationCase, case_id)
        assert case is not None
        return case.status


@pytest.mark.parametrize("repeat", range(ROUNDS))
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_any_step_is_recovered(world: dict[str, Any], point: str, repeat: int) -> None:
    case_id = next(world["cases"])
    key = f"faults-{point}-{repeat}"
    killed = _issue(world, [case_id], key, ATTESTA_CRASH_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    after_crash = _check(world)
    # Restarted: the same request again (its idempotency key) and the recovery sweep finish it.
    again = _issue(world, [case_id], key)
    _recover(world)
    after_restart = _check(world)
    assert _status(world, case_id) == CaseStatus.CERTIFICATE_ISSUED, again.stdout + again.stderr
    assert after_restart["pending"] == 0
    TALLY["kill rounds"] += 1
    TALLY[f"killed at {point}"] += 1
    TALLY["files written but never recorded (unreachable)"] = after_restart["orphan_files"]
    if point == "committed":
        # Issued before the kill: the restart has nothing to do and issues no second one.
        assert after_crash["issued"] == after_restart["issued"]


@pytest.mark.parametrize("repeat", range(ROUNDS))
@pytest.mark.parametrize("point", BATCH_POINTS)
def test_a_kill_inside_a_batch_is_recovered(world: dict[str, Any], point: str, repeat: int) -> None:
    """A bulk request of four, reserved in batches (the first alone, then two in one
    transaction, then the last) and completed in one transaction, killed half-way through a
    batch: while reserving the second batch, right after committing it, or with two of the four
    completions written and none committed. Each item is then either issued (its files, hashes
    and e-mail: :func:`_check`) or pending, nothing is public without its row; the request
    repeated and the recovery sweep issue each once, with one e-mail each."""
    case_ids = [next(world["cases"]) for _ in range(BATCH)]
    key = f"faults-{point}-{repeat}"
    killed = _issue(world, case_ids, key, ATTESTA_CRASH_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    after_crash = _check(world)
    # Nothing of these was issued before the kill: every item reserved is pending.
    assert {_status(world, c) for c in case_ids} == {CaseStatus.CERTIFIED}
    assert _pending(world, case_ids) == BATCH_RESERVED[point.partition("#")[0]]
    assert after_crash["issued"] + after_crash["pending"] == after_crash["certificates"]
    again = _issue(world, case_ids, key)
    assert again.returncode == 0, again.stdout + again.stderr
    _recover(world)
    after_restart = _check(world)
    assert {_status(world, c) for c in case_ids} == {CaseStatus.CERTIFICATE_ISSUED}, again.stderr
    assert after_restart["pending"] == 0
    assert _progress(world, key) == ["issued"] * BATCH
    TALLY["kill rounds"] += 1
    TALLY[f"killed inside a batch at {point}"] += 1


@pytest.mark.parametrize("repeat", range(ROUNDS))
def test_a_kill_at_a_random_moment_is_recovered(world: dict[str, Any], repeat: int) -> None:
    """The whole process group (with its rendering workers) killed at a random moment of a
    bulk request of three, then the request repeated."""
    case_ids = [next(world["cases"]) for _ in range(3)]
    key = f"faults-random-{repeat}"
    process = subprocess.Popen(
        world["instance"].command(*_issue_command(world, case_ids, key, 2)),
        cwd=ROOT,
        env=world["instance"].env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(random.uniform(1.0, 6.0))
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _check(world)
    _issue(world, case_ids, key)
    _recover(world)
    _check(world)
    assert {_status(world, c) for c in case_ids} == {CaseStatus.CERTIFICATE_ISSUED}
    TALLY["kill rounds"] += 1
    TALLY["killed at a random moment"] += 1


def test_processes_issuing_at_once_never_collide(world: dict[str, Any]) -> None:
    """Two processes with four cases each, one case in both, and a third with only that case,
    started together: none fails (on SQLite none finds the database locked), none finishes
    anything twice. Numbers, indices and codes stay distinct; the shared case is
    issued once."""
    own = [[next(world["cases"]) for _ in range(4)] for _ in range(2)]
    shared = next(world["cases"])
    processes = [
        subprocess.Popen(
            world["instance"].command(
                *_issue_command(world, [*cases, shared], f"faults-concurrent-{n}")
            ),
            cwd=ROOT,
            env=world["instance"].env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, cases in enumerate([*own, []])  # the third issues only the shared case
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    # None crashed: at most the shared case is refused to one of them (being issued meanwhile).
    assert {p.returncode for p in processes} <= {0, 1}, outputs
    assert not any("Traceback" in err or "locked" in err for _out, err in outputs), outputs
    counts = _check(world)
    for case_id in [*own[0], *own[1], shared]:
        assert _status(world, case_id) == CaseStatus.CERTIFICATE_ISSUED, outputs
    with Session(database(world["app"]).engine) as db:
        shared_rows = db.scalars(select(Certificate).where(Certificate.case_id == shared)).all()
        assert [c.status for c in shared_rows].count(CertificateStatus.ISSUED) == 1
    assert counts["pending"] == 0
    TALLY["concurrent processes"] += len(processes)


def test_a_queued_job_killed_mid_run_is_retried_without_double_issuance(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """A bulk request of three on the Redis queue; the worker's job process is killed once,
    right after producing a certificate; the queue retries the job and the retry finishes
    every item, each issued once."""
    from rq import Retry
    from rq.job import Job

    from app import create_app
    from app.jobs import _queue, run_bulk_job
    from certification.certificates.bulk import start_bulk
    from tests.support.services import redis_url

    instance: Instance = world["instance"]
    queue_settings = {"QUEUE_URL": redis_url(), "QUEUE_NAME": f"faults-{uuid.uuid4().hex[:8]}"}
    app = create_app({**instance.settings(), **queue_settings})
    instance.apps.append(app)
    case_ids = [next(world["cases"]) for _ in range(3)]
    with Session(database(app).engine) as db:
        actor = db.scalars(select(UserAccount).where(UserAccount.email == world["email"])).one()
        bulk, _ = start_bulk(db, actor, "faults-queued-0001", case_ids, utcnow())
        db.commit()
        bulk_id = bulk.id
    queue = _queue(app)
    job = queue.enqueue(run_bulk_job, str(bulk_id), job_id=f"bulk-{bulk_id}", retry=Retry(max=3))
    marker = tmp_path / "crashed-once"
    try:
        worker = instance.flask(
            "jobs",
            "worker",
            "--burst",
            ATTESTA_CRASH_AT=f"produced:{marker}",
            **{f"ATTESTA_{k}": v for k, v in queue_settings.items()},
        )
        assert worker.returncode == 0, worker.stderr
        assert marker.exists(), "the job process was not killed"
        assert Job.fetch(job.id, connection=queue.connection).get_status() == "finished"
    finally:
        queue.delete(delete_jobs=True)
    _check(world)
    assert {_status(world, c) for c in case_ids} == {CaseStatus.CERTIFICATE_ISSUED}
    with Session(database(app).engine) as db:
        items = db.get_one(BulkIssuance, bulk_id).items
        assert [item["status"] for item in items] == ["issued"] * 3
    TALLY["queued jobs killed and retried"] += 1

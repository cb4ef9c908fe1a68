"""The embedded database under concurrency (issue 17): logins and a correction (writers),
verifications by code (readers whose log is written), a bulk issuance from the web and a
`certificates issue` process, all at once on one database file. No request gets a 500: each is
answered 2xx, 3xx, 4xx, or 503 with Retry-After; nothing is left pending; the register is
consistent (one certificate per case, numbers and codes unique, chains intact, every
verification logged).

Slow (it issues five certificates for real), so in ``make faults`` (run on SQLite and PostgreSQL
by .ci/run), not ``make test``.
"""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import database
from app.services import issuer, verification_recorder
from certification.audit.chains import verify_all_chains
from certification.cases.states import CaseStatus
from certification.certificates.issuance import issue_one
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.models import (
    BulkIssuance,
    Certificate,
    CertificateStatus,
    CertificationCase,
    UserAccount,
    VerificationLog,
)
from tests.support.factories import PASSWORD
from tests.support.faults import TALLY
from tests.support.instances import ROOT, new_instance, seed_certified
from tests.support.web import csrf_token, login, post_form

LOGIN_THREADS, LOGINS = 3, 6
VERIFY_THREADS, VERIFICATIONS = 2, 25


def _acceptable(status: int, headers: Any) -> bool:
    return status < 500 or (status == 503 and int(headers.get("Retry-After", "0")) > 0)


def test_writers_readers_and_issuance_at_once_never_fail_or_leave_anything_pending(
    tmp_path: Path,
) -> None:
    with new_instance(tmp_path / "instance") as instance:
        signatory_id, case_ids = seed_certified(instance, 5)
        app = instance.app()
        first = issue_one(issuer(app), signatory_id, case_ids[0])  # verified and corrected
        with Session(database(app).engine) as db:
            email = db.get_one(UserAccount, signatory_id).email

        answers: list[tuple[str, int, bool]] = []
        failures: list[BaseException] = []
        start = threading.Barrier(LOGIN_THREADS + VERIFY_THREADS + 2 + 1)

        def answered(what: str, response: Any) -> None:
            answers.append(
                (what, response.status_code, _acceptable(response.status_code, response.headers))
            )

        def signed_in() -> FlaskClient:
            client = app.test_client()
            login(client, email, PASSWORD)  # the password, then the second factor
            return client

        # One after the other, before the rush: the first enrols the signatory's app.
        signatory_clients = [signed_in(), signed_in()]

        def logins() -> None:
            start.wait()
            for _ in range(LOGINS):
                client = app.test_client()
                token = csrf_token(client)
                answered(
                    "login",
                    client.post(
                        "/login",
                        data={"email": email, "password": PASSWORD, "csrf_token": token},
                    ),
                )

        def verifications() -> None:
            client = app.test_client()
            start.wait()
            for _ in range(VERIFICATIONS):
                answered("verify", client.get(f"/verify/{first.verification_code}"))

        def correction() -> None:
            client = signatory_clients[0]
            page = f"/certificates/{first.id}"
            start.wait()
            answered(
                "correct",
                post_form(client, f"{page}/correct", {"correct-reason": "Rettifica."}, page=page),
            )

        def bulk() -> None:
            client = signatory_clients[1]
            start.wait()
            data = {"cases": [str(c) for c in case_ids[1:3]], "request_key": "concurrent-web"}
            answered("bulk", post_form(client, "/certificates/bulk/", data))

        def guarded(work: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    work()
                except BaseException as exc:  # reported below: a thread must not die unseen
                    failures.append(exc)
                    start.abort()

            return run

        works = [logins] * LOGIN_THREADS + [verifications] * VERIFY_THREADS + [correction, bulk]
        threads = [threading.Thread(target=guarded(w)) for w in works]
        for thread in threads:
            thread.start()
        with suppress(threading.BrokenBarrierError):  # a thread failed getting ready: see below
            start.wait()
        command = [
            *("certificates", "issue", "--as", email, "--idempotency-key", "concurrent-cli"),
            *(arg for case_id in case_ids[3:] for arg in ("--case", str(case_id))),
            *("--workers", "0"),
        ]
        cli = subprocess.run(
            instance.command(*command),
            cwd=ROOT,
            env=instance.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for thread in threads:
            thread.join(timeout=300)
        assert failures == []
        assert not any(thread.is_alive() for thread in threads)

        refused = [(what, status) for what, status, ok in answers if not ok]
        assert refused == [], refused
        expected = LOGIN_THREADS * LOGINS + VERIFY_THREADS * VERIFICATIONS + 2
        assert len(answers) == expected
        assert cli.returncode == 0, cli.stdout + cli.stderr
        with app.app_context():
            verification_recorder(app).flush()  # anything kept back while it was busy

        with Session(database(app).engine) as db:
            rows = db.scalars(select(Certificate)).all()
            assert [c for c in rows if c.status == CertificateStatus.PENDING] == []
            for field in ("number", "verification_code"):
                values = [getattr(c, field) for c in rows]
                assert len(values) == len(set(values)), f"a {field} was reused"
            current = Counter(
                c.case_id
                for c in rows
                if c.status in PUBLIC_STATES and c.status != CertificateStatus.SUPERSEDED
            )
            for case in db.scalars(select(CertificationCase)):
                assert current[case.id] <= 1
                assert (case.status == CaseStatus.CERTIFICATE_ISSUED) == (current[case.id] == 1)
            for request in db.scalars(select(BulkIssuance)):
                assert request.finished_at is not None
                assert {i["status"] for i in request.items} == {"issued"}, request.items
            assert sum(current.values()) == len(case_ids), "a certificate was not issued"
            assert verify_all_chains(db) == []
            verified = sum(1 for what, status, _ in answers if what == "verify" and status == 200)
            logged = db.scalar(
                select(func.count())
                .select_from(VerificationLog)
                .where(VerificationLog.certificate_id == first.id)
            )
            assert logged == verified
        statuses = Counter(f"{what} {status}" for what, status, _ in answers)
        TALLY.update({f"concurrency: {k}": v for k, v in statuses.items()})

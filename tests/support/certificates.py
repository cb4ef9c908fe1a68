"""Issuing certificates in tests: through the issuer (domain tests) or as the signatory on the
web (app tests), and reading what they carry."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from certification.certificates.issuance import Issuer, RendererPaths, issue_one
from certification.keys.management import init_keys
from certification.models import Certificate, KeyPurpose, SigningKey
from certification.people.roles import Role
from tests.support.factories import PASSWORD, make_account
from tests.support.transactions import session_on
from tests.support.web import login, post_form
from tests.support.worlds import LATER, CaseWorld, assessment_world, certified

#: The key passphrase of the domain tests' issuer.
PASS = b"test passphrase"
#: The issuer's base URL in the domain tests.
BASE = "https://attesta.test"
#: When the domain tests' issuer issues (a day after the world's session).
ISSUE_TIME = LATER + dt.timedelta(days=1)


@dataclass(kw_only=True)
class CertificateWorld(CaseWorld):
    """A case world whose case is CERTIFIED, with a signatory, the keys, and an issuer working
    on the test's connection whose clock is ``clock[0]``."""

    issuer: Issuer
    clock: list[dt.datetime]


def make_issuer(connection: Connection, storage: Any, renderer: Any, clock: list[Any]) -> Issuer:
    """An issuer whose sessions work in SAVEPOINTs on ``connection`` (the test's transaction),
    its time read from ``clock[0]``."""

    def sessions() -> Session:
        return session_on(connection)

    root = renderer._templates_dir.parent.parent
    return Issuer(
        session_factory=sessions,
        storage=storage,
        renderer=renderer,
        passphrase=PASS,
        base_url=BASE,
        clock=lambda: clock[0],
        renderer_paths=RendererPaths(
            root / "templates" / "documents", root / "static", root / "app" / "translations"
        ),
    )


def certificate_world(
    db: Session, connection: Connection, w: CaseWorld, storage: Any, renderer: Any
) -> CertificateWorld:
    """``w`` (an assessment world) with its case CERTIFIED, the keys made, a signatory, and an
    issuer working on ``connection`` whose clock is ``clock[0]`` (ISSUE_TIME)."""
    ente = w.ente
    w.signatory = make_account(
        db, roles=(Role.SIGNATORY,), organisation=ente, given_name="Francesca", family_name="Conti"
    )
    w.candidate.person.given_name = "Giulia <b>&amp;"
    case = certified(db, w)
    init_keys(db, None, PASS, LATER)
    db.commit()
    clock = [ISSUE_TIME]
    issuer = make_issuer(connection, storage, renderer, clock)
    return CertificateWorld(**vars(replace(w, case=case)), issuer=issuer, clock=clock)


def issue(db: Session, world: CertificateWorld, case: Any = None) -> Certificate:
    """Issue the certificate of ``case`` (default: the world's) with the world's issuer, as
    its signatory; the certificate as ``db`` sees it."""
    assert world.signatory is not None
    done = issue_one(world.issuer, world.signatory.id, (case or world.case).id)
    db.expire_all()
    found = db.get(Certificate, done.id)
    assert found is not None
    return found


def issue_on_the_web(app: Flask, stage: CaseWorld, db: Session) -> Certificate:
    """The signatory logs in and issues the stage's case's certificate from the case's page."""
    client = app.test_client()
    login(client, stage.signatory.email, PASSWORD)
    page = client.get(f"/cases/{stage.case.id}").get_data(as_text=True)
    assert "Rilascia e sigilla il certificato" in page
    response = post_form(
        client, f"/cases/{stage.case.id}/certificate", {}, page=f"/cases/{stage.case.id}"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    db.expire_all()
    certificate = db.scalar(select(Certificate).where(Certificate.case_id == stage.case.id))
    assert certificate is not None
    assert response.headers["Location"].endswith(f"/certificates/{certificate.id}")
    return certificate


def download(app: Flask, stage: CaseWorld, certificate: Certificate) -> bytes:
    """The certificate's PDF as its holder downloads it."""
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    return holder.get(f"/certificates/{certificate.id}/certificate.pdf").data


def registry_resolver(db: Session, base: str = BASE) -> Any:
    """Keys from our own registry only (retired ones still verify what they signed)."""

    def resolve(method: str) -> Ed25519PublicKey | None:
        kid = method.rsplit("#", 1)[-1]
        key = db.get(SigningKey, kid)
        if (
            key is None
            or key.purpose != KeyPurpose.CREDENTIAL
            or not method.startswith(f"{base}/issuers/")
        ):
            return None
        public = serialization.load_pem_public_key(key.public_key_pem.encode())
        return public if isinstance(public, Ed25519PublicKey) else None

    return resolve


def embedded_credential(pdf: bytes) -> bytes:
    """The credential attached to a certificate's PDF."""
    reader = PdfFileReader(io.BytesIO(pdf))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[0] == "credential.json"
    spec = names[1]
    assert spec["/AFRelationship"] == "/Alternative"
    return bytes(spec["/EF"]["/F"].data)


class NoChecker:
    """A seal checker for tests where verify_pdf of a registered PDF never needs one."""

    def check(
        self, pdf: bytes, roots: Any, *, attachment: str | None = None, now: Any = None
    ) -> Any:
        raise AssertionError("the seal checker was called")


# --- one certificate for a module -----------------------------------------------------------
# Issuing a real certificate (render, seal) is most of a test's time. A module whose tests read
# one certificate or change its rows issues it once, in the outer transaction of a connection of
# its own (rolled back when the module ends), and runs every test in a SAVEPOINT of that
# transaction, rolled back when the test ends: what a test changes is gone before the next one.
# Its fixtures: ``module_connection`` and ``connection`` (tests.support.transactions), and
# the objects found again by the test's session (``rows_of`` / ``found_again``). An xdist
# group keeps the module's tests on one worker, so it issues once per run.


def rows_of(objects: Mapping[str, Any]) -> dict[str, tuple[type, Any]]:
    """The class and primary key of each mapped object of ``objects``, by name."""
    return {
        name: (type(value), state.identity)
        for name, value in objects.items()
        if (state := inspect(value, raiseerr=False)) is not None
    }


def issue_for_module(
    module_connection: Connection,
    storage: Any,
    renderer: Any,
    prepare: Callable[[Session, CertificateWorld], None] | None = None,
) -> dict[str, Any]:
    """A certificate world whose certificate is issued, committed in ``module_connection``'s
    transaction (after ``prepare``, when given, has changed the world): the rows (``rows_of``)
    of the world, its ``certificate`` and the ``row`` of its first evidence commitment, the
    ``storage``, the ``pdf`` and the credential's ``json``."""
    session = session_on(module_connection)
    try:
        world = certificate_world(
            session, module_connection, assessment_world(session), storage, renderer
        )
        if prepare is not None:
            prepare(session, world)
            session.commit()
        certificate = issue(session, world)
        objects = {**vars(world), "certificate": certificate}
        if certificate.evidence_commitments:
            objects["row"] = certificate.evidence_commitments[0]
        return {
            "rows": rows_of(objects),
            "storage": storage,
            "pdf": storage.get(certificate.pdf_sha256),
            "json": storage.get(certificate.credential_sha256),
        }
    finally:
        session.close()


def found_again(db: Session, rows: Mapping[str, tuple[type, Any]]) -> dict[str, Any]:
    """The objects of ``rows`` (``rows_of``) as ``db`` sees them."""
    found = {name: db.get(kind, key) for name, (kind, key) in rows.items()}
    assert all(value is not None for value in found.values())
    return found

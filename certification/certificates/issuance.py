"""Running issuance: one certificate's transactions, and recovery after a crash.

Issuance is the one operation that spans transactions, by design (see
:mod:`certification.certificates.lifecycle`): the reservation commits first, the slow render and
seal run outside any transaction, and the completion commits the ISSUED state. So this module takes
a session *factory*; every other domain operation takes a session and never commits.

Each of those transactions is a unit of work run again from the start when the database was
busy (:func:`certification.db.retry_transient`): it did not commit, so a reservation is made
once and a completion (idempotent: it finds the certificate issued) never issues twice; the
bytes already produced are kept, not produced again.

:func:`issue_one` runs the three steps for one certificate, :func:`recover_pending` finishes what
a crash left; :func:`reserve`, :func:`complete` and their batch forms are the steps a bulk
request (:mod:`certification.certificates.bulk`) runs many of, on a worker pool. The crash points
(:mod:`certification.certificates.faults`) are all here, between those transactions.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from certification.certificates import credentials
from certification.certificates.content import CertificateContent
from certification.certificates.faults import crash_point
from certification.certificates.hashing import CredentialHasher
from certification.certificates.lifecycle import (
    PUBLIC_STATES,
    abandon_certificate,
    complete_certificate,
    reserve_certificate,
    stale_pending,
)
from certification.certificates.production import (
    IssuerSigner,
    ProducedCertificate,
    SignerMaterial,
    build_credential,
    produce_certificate,
    render_preview,
    signer_material,
    verification_method,
)
from certification.certificates.status_lists import publish_status_list, status_list
from certification.certificates.tsa import TimestampUnavailable
from certification.db import retry_transient
from certification.errors import Conflict, DomainError, NotFound
from certification.models import (
    AssessmentSession,
    Certificate,
    CertificateStatus,
    CertificationCase,
    KeyPurpose,
    Organisation,
    PanelMember,
    Person,
    Profile,
    ProfileCompetence,
    SigningKey,
    StatusPurpose,
    UserAccount,
)
from certification.rendering import DocumentRenderer
from certification.storage.blobs import BlobStorage

log = logging.getLogger(__name__)

#: A reservation older than this with no completion was left by a crash.
STALE_AFTER: Final = dt.timedelta(minutes=10)

T = TypeVar("T")
SessionFactory = Callable[[], Session]
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class RendererPaths:
    """Where the renderer's templates, assets and catalogues are (picklable for workers)."""

    templates: Path
    assets: Path
    translations: Path

    def renderer(self) -> DocumentRenderer:
        return DocumentRenderer(self.templates, self.assets, self.translations)


@dataclass
class Issuer:
    """What issuing needs, set up once per process: keys are parsed once per ente."""

    session_factory: SessionFactory
    storage: BlobStorage
    renderer: DocumentRenderer
    passphrase: bytes
    base_url: str
    clock: Clock
    renderer_paths: RendererPaths | None = None
    timestamp_url: str | None = None
    #: The roots (PEM) the TSA at ``timestamp_url`` chains to (``ATTESTA_TIMESTAMP_ROOTS``).
    timestamp_roots: tuple[str, ...] = ()
    #: Compute credential hashes in a helper process while pages are laid out (long-lived
    #: processes on more than one core: the web app); see :class:`CredentialHasher`.
    hasher: CredentialHasher | None = None
    #: Writes in the transaction that issues a certificate, however it is issued (one, bulk,
    #: recovery): the app enqueues the holder's e-mail there, so each holder is told exactly
    #: once, and never of a certificate that was not committed.
    on_issued: Callable[[Session, Certificate], None] | None = None
    #: Times each transaction is tried when the database is busy.
    db_attempts: int = 5
    #: At most this many certificates of a bulk request completed in one transaction.
    batch_size: int = 16
    _signers: dict[tuple[str, ...], IssuerSigner] = field(default_factory=dict)

    def unit(self, work: Callable[[], T]) -> T:
        """Run one transaction's work (it opens its session and commits) until the database
        lets it through, up to :attr:`db_attempts` times."""
        return retry_transient(work, attempts=self.db_attempts)

    def signer(self, material: SignerMaterial) -> IssuerSigner:
        key = (
            material.organisation_id,
            material.seal.kid,
            material.credential.kid,
            material.timestamping.kid if material.timestamping else "",
            repr(material.revoked),  # a key reported compromised: a new CRL
        )
        found = self._signers.get(key)
        if found is None:
            found = self._signers[key] = IssuerSigner(material, self.passphrase)
        return found


def _produce(issuer: Issuer, reserved: Reservation) -> ProducedCertificate:
    signer = issuer.signer(reserved.material)
    hasher = issuer.hasher.executor() if issuer.hasher is not None else None
    try:
        return produce_certificate(
            reserved.content,
            reserved.locale,
            signer,
            issuer.renderer,
            hasher=hasher,
            clock=issuer.clock,
        )
    except BrokenExecutor:  # the helper died (not our failure): once more without it
        if issuer.hasher is not None:
            issuer.hasher.shutdown()
        return produce_certificate(
            reserved.content, reserved.locale, signer, issuer.renderer, clock=issuer.clock
        )


@dataclass(frozen=True)
class ItemResult:
    """The outcome of issuing for one case."""

    case_id: str
    status: str  # "issued" | "failed"
    certificate_id: str | None = None
    number: str | None = None
    verification_code: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Reservation:
    """A committed reservation: what production needs, read before its transaction closed."""

    certificate_id: uuid.UUID
    content: CertificateContent
    locale: str
    material: SignerMaterial
    case_id: uuid.UUID


@functools.cache
def _for_content() -> tuple[Any, ...]:
    """What the certificate's content reads of its case (:func:`certificate_content`), loaded
    with the case: joined for the one-to-one, a query per collection (selectin) for the rest,
    so that one content build takes a bounded number of queries, however many competences,
    sessions, panel members or profile links the case has (each would otherwise be a lazy
    load of its own). Built once, on first use: building it configures every mapper, which a
    command that issues nothing need not pay (startup time, issue 20)."""
    return (
        joinedload(CertificationCase.candidate),
        joinedload(CertificationCase.snapshot),
        joinedload(CertificationCase.ente_titolato).joinedload(Organisation.accredited_by),
        joinedload(CertificationCase.target_profile).joinedload(Profile.framework),
        joinedload(CertificationCase.target_profile)
        .selectinload(Profile.competence_links)
        .joinedload(ProfileCompetence.competence),
        selectinload(CertificationCase.competences),
        selectinload(CertificationCase.outcomes),
        selectinload(CertificationCase.ratings),
        selectinload(CertificationCase.sessions)
        .selectinload(AssessmentSession.members)
        .joinedload(PanelMember.person),
    )


def reserve(
    issuer: Issuer,
    actor_id: uuid.UUID,
    case_id: uuid.UUID,
    *,
    supersedes_id: uuid.UUID | None = None,
    correction_note: str | None = None,
) -> Reservation:
    """Reserve one certificate in its own transaction (a correction when ``supersedes_id``)."""
    return issuer.unit(
        lambda: _reserve_once(
            issuer, actor_id, case_id, supersedes_id=supersedes_id, correction_note=correction_note
        )
    )


def _reserve_once(
    issuer: Issuer,
    actor_id: uuid.UUID,
    case_id: uuid.UUID,
    *,
    supersedes_id: uuid.UUID | None,
    correction_note: str | None,
) -> Reservation:
    with issuer.session_factory() as session:
        actor = session.get(UserAccount, actor_id)
        if actor is None:
            raise NotFound("no such case")
        reserved = _reserve_in(session, issuer, actor, case_id, supersedes_id, correction_note)
        try:
            session.commit()
        except IntegrityError:
            raise Conflict("this decision already has its certificate") from None
        crash_point("reserved")  # the number and the status index are taken
        return reserved


def reserve_batch(
    issuer: Issuer, actor_id: uuid.UUID, case_ids: Sequence[uuid.UUID]
) -> list[Reservation]:
    """:func:`reserve` for several cases in one transaction (a bulk request's): all reserved,
    or none (the first error is raised, nothing is committed). A crash after the commit leaves
    each of them PENDING, as one reserved alone: `certificates recover` finishes them."""

    def once() -> list[Reservation]:
        with issuer.session_factory() as session:
            actor = session.get(UserAccount, actor_id)
            if actor is None:
                raise NotFound("no such case")
            materials: dict[uuid.UUID, SignerMaterial] = {}  # read once per ente
            # The batch's cases with what their content reads, in one query per relationship
            # for the whole batch: each _reserve_in then finds its case in the session (which
            # holds loaded objects weakly: this list keeps them there until the commit).
            cases = session.scalars(
                select(CertificationCase)
                .where(CertificationCase.id.in_(case_ids))
                .options(*_for_content())
            ).all()
            reserved = []
            for case_id in case_ids:
                reserved.append(_reserve_in(session, issuer, actor, case_id, None, None, materials))
                crash_point("reserving")  # some of the batch reserved, none of it committed
            try:
                session.commit()
            except IntegrityError:
                raise Conflict("this decision already has its certificate") from None
            crash_point("reserved")  # the numbers and the status indices are taken
            del cases
            return reserved

    return issuer.unit(once)


def _reserve_in(
    session: Session,
    issuer: Issuer,
    actor: UserAccount,
    case_id: uuid.UUID,
    supersedes_id: uuid.UUID | None,
    correction_note: str | None,
    materials: dict[uuid.UUID, SignerMaterial] | None = None,
) -> Reservation:
    """Reserve one certificate in ``session`` (not committed); ``materials``: the entes' keys
    this transaction has read already."""
    case = session.get(CertificationCase, case_id, options=_for_content())
    if case is None:
        raise NotFound("no such case")
    supersedes = session.get(Certificate, supersedes_id) if supersedes_id else None
    if supersedes_id and (supersedes is None or supersedes.case_id != case.id):
        raise NotFound("no such certificate")
    # Keys first: a missing key or a wrong passphrase reserves nothing (the signer is
    # built, and the passphrase checked, once per process and key).
    material = (materials or {}).get(case.ente_titolato_id)
    if material is None:
        material = signer_material(
            session, case.ente_titolato_id, issuer.timestamp_url, issuer.timestamp_roots
        )
        if materials is not None:
            materials[case.ente_titolato_id] = material
    issuer.signer(material)
    certificate = reserve_certificate(
        session,
        actor,
        case,
        issuer.clock(),
        base_url=issuer.base_url,
        supersedes=supersedes,
        correction_note=correction_note,
    )
    return Reservation(
        certificate.id, certificate.content.copy(), certificate.locale, material, case.id
    )


def complete(
    issuer: Issuer,
    reserved: Reservation,
    produced: ProducedCertificate,
    *,
    also: Callable[[Session, Certificate], None] | None = None,
) -> Certificate:
    """Store the files and mark the reservation ISSUED; ``also`` writes in the same
    transaction (a bulk request's progress, so it can never disagree with the register)."""
    crash_point("produced")  # the sealed PDF exists in memory only
    return issuer.unit(lambda: _complete_once(issuer, reserved, produced, also))


def _complete_once(
    issuer: Issuer,
    reserved: Reservation,
    produced: ProducedCertificate,
    also: Callable[[Session, Certificate], None] | None,
) -> Certificate:
    with issuer.session_factory() as session:
        certificate = _complete_in(session, issuer, reserved, produced, also, set())
        crash_point("stored")  # the files are written, the ISSUED row is not committed
        session.commit()
        crash_point("committed")  # issued; the caller has not heard of it
        return certificate


#: A batch: a reservation, its produced bytes, and what to write with it (its bulk progress).
Completion = tuple[Reservation, ProducedCertificate, Callable[[Session, Certificate], None] | None]


def complete_batch(issuer: Issuer, batch: Sequence[Completion]) -> list[Certificate]:
    """:func:`complete` for several reservations in one transaction (a bulk request's
    certificates as they come back from the workers): one commit for the batch, each item's
    progress written in it. Crash-safe per item as one at a time is: until the commit every
    reservation of the batch is PENDING (finished by ``certificates recover`` or by the request
    run again), after it every one is ISSUED with its files, hashes and e-mail."""
    crash_point("produced")  # the sealed PDFs exist in memory only
    return issuer.unit(lambda: _complete_batch_once(issuer, batch))


@functools.cache
def _for_completion() -> tuple[Any, ...]:
    """What completing reads of a case: its transitions (the chain it extends) and its
    holder's account (the e-mail), loaded for a whole batch at once (built on first use)."""
    return (
        selectinload(CertificationCase.transitions),
        joinedload(CertificationCase.candidate).joinedload(Person.account),
    )


def _complete_batch_once(issuer: Issuer, batch: Sequence[Completion]) -> list[Certificate]:
    with issuer.session_factory() as session:
        # The batch's cases in two queries, not three lazy loads per certificate; the session
        # holds them weakly, this list keeps them until the commit. The certificates themselves
        # are read (and locked) one by one in _complete_in, never from an earlier read.
        cases = session.scalars(
            select(CertificationCase)
            .where(CertificationCase.id.in_([r.case_id for r, _p, _a in batch]))
            .options(*_for_completion())
        ).all()
        published: set[uuid.UUID] = set()
        done = []
        for reserved, produced, also in batch:
            done.append(_complete_in(session, issuer, reserved, produced, also, published))
            crash_point("batched")  # some of the batch written, none of it committed
        crash_point("stored")  # the files are written, the ISSUED rows are not committed
        session.commit()
        crash_point("committed")  # issued; the caller has not heard of them
        del cases
        return done


def _complete_in(
    session: Session,
    issuer: Issuer,
    reserved: Reservation,
    produced: ProducedCertificate,
    also: Callable[[Session, Certificate], None] | None,
    published: set[uuid.UUID],
) -> Certificate:
    """Store one reservation's files and mark it ISSUED in ``session`` (not committed);
    ``published``: the entes whose status lists this transaction has checked already."""
    # Locked: a retry and a recovery finishing the same reservation at once cannot both
    # complete it (the second finds it issued and returns it).
    certificate = session.get(Certificate, reserved.certificate_id, with_for_update=True)
    if certificate is None:  # pragma: no cover - rows are never deleted
        raise NotFound("no such certificate")
    if certificate.status in PUBLIC_STATES:  # finished by a concurrent run: bytes dropped
        if also is not None:
            also(session, certificate)
        return certificate
    complete_certificate(
        session,
        certificate,
        produced.pdf,
        produced.credential_json,
        seal_kid=reserved.material.seal.kid,
        credential_kid=reserved.material.credential.kid,
        storage=issuer.storage,
        now=issuer.clock(),
    )
    if certificate.organisation_id not in published:
        published.add(certificate.organisation_id)
        for purpose in StatusPurpose:  # published once, so readers never sign on the fly
            listed = status_list(session, certificate.organisation_id, purpose)
            if listed.credential is None:
                publish_status_list(
                    session, listed, issuer.passphrase, issuer.base_url, issuer.clock()
                )
    if issuer.on_issued is not None:
        issuer.on_issued(session, certificate)
    if also is not None:
        also(session, certificate)
    return certificate


def abandon(issuer: Issuer, certificate_id: uuid.UUID, reason: str) -> None:
    """Give a reservation up in its own transaction, if it is still PENDING."""

    def once() -> None:
        with issuer.session_factory() as session:
            certificate = session.get(Certificate, certificate_id)
            if certificate is not None and certificate.status == CertificateStatus.PENDING:
                abandon_certificate(session, certificate, reason, issuer.clock())
                session.commit()

    issuer.unit(once)


def issue_one(
    issuer: Issuer,
    actor_id: uuid.UUID,
    case_id: uuid.UUID,
    *,
    supersedes_id: uuid.UUID | None = None,
    correction_note: str | None = None,
) -> Certificate:
    """Reserve, produce and complete one certificate (a correction when ``supersedes_id``)."""
    reserved = reserve(
        issuer, actor_id, case_id, supersedes_id=supersedes_id, correction_note=correction_note
    )
    try:
        return complete(issuer, reserved, _produce(issuer, reserved))
    except TimestampUnavailable:
        # The TSA is down or answered garbage: nothing was sealed. The reservation (its
        # number, its status index) stays PENDING and `certificates recover` finishes it
        # once the TSA answers; the signatory is told so (timestamp_unavailable).
        log.warning(
            "time-stamping authority failed; certificate %s left pending",
            reserved.certificate_id,
        )
        raise
    except Exception as exc:
        # A failure we saw (not a crash): give the reservation up so the case can be retried.
        abandon(issuer, reserved.certificate_id, f"{type(exc).__name__}: {exc}")
        raise


def recover_pending(issuer: Issuer, *, stale_after: dt.timedelta = STALE_AFTER) -> list[ItemResult]:
    """Finish reservations a crash left behind (from their frozen content, with the ente's
    current keys), or abandon those that can no longer be finished."""

    def stale() -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, CertificateContent, str]]:
        with issuer.session_factory() as session:
            return [
                (c.id, c.case_id, c.organisation_id, c.content.copy(), c.locale)
                for c in stale_pending(session, issuer.clock() - stale_after)
            ]

    def material_of(organisation_id: uuid.UUID) -> SignerMaterial:
        with issuer.session_factory() as session:
            return signer_material(
                session, organisation_id, issuer.timestamp_url, issuer.timestamp_roots
            )

    results = []
    for certificate_id, case_id, organisation_id, content, locale in issuer.unit(stale):
        try:
            material = issuer.unit(lambda o=organisation_id: material_of(o))  # type: ignore[misc]
            reserved = Reservation(certificate_id, content, locale, material, case_id)
            produced = produce_certificate(
                content, locale, issuer.signer(material), issuer.renderer, clock=issuer.clock
            )
            done = complete(issuer, reserved, produced)
            results.append(
                ItemResult(
                    str(case_id), "issued", str(done.id), done.number, done.verification_code
                )
            )
        except DomainError as exc:
            if not isinstance(exc, TimestampUnavailable):  # else: still pending, try later
                abandon(issuer, certificate_id, f"{exc.code}: {exc}")
            results.append(ItemResult(str(case_id), "failed", str(certificate_id), error=exc.code))
    return results


def warm_up(issuer: Issuer) -> int:
    """Build now what a process's first issuance would: the query options (mappers configured),
    each ente's signer (keys parsed, CRL made) and, when a certificate was issued already, one
    render of one as a preview and its credential's hash (fonts loaded and shaped, the template
    compiled, the JSON-LD contexts processed: a forked process's first certificate took 0.69 s
    against 0.26 s for its second), for a process that forks the ones that issue (a queue
    worker): they start warm. The number of signers ready."""
    _for_content()
    _for_completion()
    with issuer.session_factory() as session:
        entes = session.scalars(
            select(SigningKey.organisation_id).where(
                SigningKey.purpose == KeyPurpose.PDF_SEAL,
                SigningKey.organisation_id.is_not(None),
                SigningKey.retired_at.is_(None),
                SigningKey.compromised_at.is_(None),
            )
        )
        for ente in {e for e in entes if e is not None}:
            material = signer_material(session, ente, issuer.timestamp_url, issuer.timestamp_roots)
            issuer.signer(material).crl(issuer.clock())
        sample = session.scalar(  # any one: found by the status index, however many there are
            select(Certificate.content)
            .where(Certificate.status == CertificateStatus.ISSUED)
            .limit(1)
        )
    if sample is not None:
        try:  # nothing leaves this process: the bytes are dropped
            render_preview(sample, issuer.renderer)
            credentials.signing_hash(
                credentials.prepare_signing(
                    build_credential(sample),
                    verification_method(sample["base_url"], sample["ente"]["id"], "warm-up"),
                    dt.datetime.fromisoformat(sample["issued_at"]),
                )
            )
        except Exception:  # the first certificate pays for it instead; the keys are ready
            log.warning("warm-up: the sample certificate was not rendered", exc_info=True)
    return len(issuer._signers)

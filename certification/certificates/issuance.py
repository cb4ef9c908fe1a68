"""Running issuance: one certificate, many on a worker pool, and recovery after a crash.

Issuance is the one operation that spans transactions, by design (see
:mod:`certification.certificates.lifecycle`): the reservation commits first, the slow render and
seal run outside any transaction, and the completion commits the ISSUED state. So this module takes
a session *factory*; every other domain operation takes a session and never commits.

Each of those transactions is a unit of work run again from the start when the database was
busy (:func:`certification.db.retry_transient`): it did not commit, so a reservation is made
once and a completion (idempotent: it finds the certificate issued) never issues twice; the
bytes already produced are kept, not produced again.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from certification.cases.states import CaseStatus
from certification.certificates.content import CertificateContent
from certification.certificates.faults import crash_point
from certification.certificates.hashing import CredentialHasher
from certification.certificates.lifecycle import (
    PUBLIC_STATES,
    AlreadyIssued,
    abandon_certificate,
    complete_certificate,
    publish_status_list,
    reserve_certificate,
    stale_pending,
    status_list,
)
from certification.certificates.production import (
    IssuerSigner,
    ProducedCertificate,
    SignerMaterial,
    produce_certificate,
    signer_material,
)
from certification.certificates.rendering_pool import produce_in_worker, rendering_pool
from certification.certificates.tsa import TimestampUnavailable
from certification.db import is_transient, retry_transient
from certification.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted
from certification.models import (
    AssessmentSession,
    BulkIssuance,
    BulkIssuanceItem,
    Certificate,
    CertificateStatus,
    CertificationCase,
    KeyPurpose,
    Organisation,
    PanelMember,
    Profile,
    ProfileCompetence,
    SigningKey,
    StatusPurpose,
    UserAccount,
)
from certification.people.roles import Role
from certification.rendering import DocumentRenderer
from certification.storage.blobs import BlobStorage

log = logging.getLogger(__name__)

#: A reservation older than this with no completion was left by a crash.
STALE_AFTER: Final = dt.timedelta(minutes=10)
MAX_BULK: Final = 1000
#: How long a bulk run waits for the workers to finish the rest of a batch once its first
#: certificate is back, before completing what it has (about one certificate's rendering).
BATCH_WAIT_SECONDS: Final = 1.0

T = TypeVar("T")
SessionFactory = Callable[[], Session]
Clock = Callable[[], dt.datetime]
Produce = Callable[[], "ProducedCertificate"]


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


def _produce(issuer: Issuer, reserved: _Reserved) -> ProducedCertificate:
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
class _Reserved:
    certificate_id: uuid.UUID
    content: CertificateContent
    locale: str
    material: SignerMaterial


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


def _reserve(
    issuer: Issuer,
    actor_id: uuid.UUID,
    case_id: uuid.UUID,
    *,
    supersedes_id: uuid.UUID | None = None,
    correction_note: str | None = None,
) -> _Reserved:
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
) -> _Reserved:
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


def _reserve_batch(
    issuer: Issuer, actor_id: uuid.UUID, case_ids: Sequence[uuid.UUID]
) -> list[_Reserved]:
    """:func:`_reserve` for several cases in one transaction (a bulk request's): all reserved,
    or none (the first error is raised, nothing is committed). A crash after the commit leaves
    each of them PENDING, as one reserved alone: `certificates recover` finishes them."""

    def once() -> list[_Reserved]:
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
) -> _Reserved:
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
    return _Reserved(certificate.id, certificate.content.copy(), certificate.locale, material)


def _complete(
    issuer: Issuer,
    reserved: _Reserved,
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
    reserved: _Reserved,
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
Completion = tuple[_Reserved, ProducedCertificate, Callable[[Session, Certificate], None] | None]


def _complete_batch(issuer: Issuer, batch: Sequence[Completion]) -> list[Certificate]:
    """:func:`_complete` for several reservations in one transaction (a bulk request's
    certificates as they come back from the workers): one commit for the batch, each item's
    progress written in it. Crash-safe per item as one at a time is: until the commit every
    reservation of the batch is PENDING (finished by ``certificates recover`` or by the request
    run again), after it every one is ISSUED with its files, hashes and e-mail."""
    crash_point("produced")  # the sealed PDFs exist in memory only
    return issuer.unit(lambda: _complete_batch_once(issuer, batch))


def _complete_batch_once(issuer: Issuer, batch: Sequence[Completion]) -> list[Certificate]:
    with issuer.session_factory() as session:
        published: set[uuid.UUID] = set()
        done = []
        for reserved, produced, also in batch:
            done.append(_complete_in(session, issuer, reserved, produced, also, published))
            crash_point("batched")  # some of the batch written, none of it committed
        crash_point("stored")  # the files are written, the ISSUED rows are not committed
        session.commit()
        crash_point("committed")  # issued; the caller has not heard of them
        return done


def _complete_in(
    session: Session,
    issuer: Issuer,
    reserved: _Reserved,
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


def _abandon(issuer: Issuer, certificate_id: uuid.UUID, reason: str) -> None:
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
    reserved = _reserve(
        issuer, actor_id, case_id, supersedes_id=supersedes_id, correction_note=correction_note
    )
    try:
        return _complete(issuer, reserved, _produce(issuer, reserved))
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
        _abandon(issuer, reserved.certificate_id, f"{type(exc).__name__}: {exc}")
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
            reserved = _Reserved(certificate_id, content, locale, material)
            produced = produce_certificate(
                content, locale, issuer.signer(material), issuer.renderer, clock=issuer.clock
            )
            done = _complete(issuer, reserved, produced)
            results.append(
                ItemResult(
                    str(case_id), "issued", str(done.id), done.number, done.verification_code
                )
            )
        except DomainError as exc:
            if not isinstance(exc, TimestampUnavailable):  # else: still pending, try later
                _abandon(issuer, certificate_id, f"{exc.code}: {exc}")
            results.append(ItemResult(str(case_id), "failed", str(certificate_id), error=exc.code))
    return results


# --- bulk -------------------------------------------------------------------------------------


def warm_up(issuer: Issuer) -> int:
    """Build now what a process's first issuance would: the query options (mappers configured),
    each ente's signer (keys parsed, CRL made), for a process that forks the ones that issue (a
    queue worker): they start warm. The number of signers ready."""
    _for_content()
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
    return len(issuer._signers)


def start_bulk(
    session: Session,
    actor: UserAccount,
    idempotency_key: str,
    case_ids: Sequence[uuid.UUID],
    now: dt.datetime,
) -> tuple[BulkIssuance, bool]:
    """Record a bulk request, or return the earlier one with the same idempotency key
    (``created`` False). The same key with other cases is refused, and so is anyone who is
    not a signatory (each case is checked again when it is issued)."""
    if not actor.has_role(Role.SIGNATORY):
        raise NotPermitted("only signatories issue certificates")
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 100 or not key.isprintable():
        raise InvalidInput("idempotency key", errors={"idempotency_key": ["invalid"]})
    ids = [str(c) for c in dict.fromkeys(case_ids)]
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput("cases", errors={"case_ids": ["bulk_size"]})
    existing = bulk_request_by_key(session, actor, key)
    if existing is not None:
        if existing.case_ids != ids:
            raise Conflict("this idempotency key was used for other cases")
        return existing, False
    bulk = BulkIssuance(
        idempotency_key=key,
        requested_by_id=actor.id,
        case_ids=ids,
        entries=[
            BulkIssuanceItem(position=n, case_id=i, status="pending") for n, i in enumerate(ids)
        ],
        created_at=now,
    )
    session.add(bulk)
    session.flush()
    return bulk, True


def bulk_request_by_key(session: Session, actor: UserAccount, key: str) -> BulkIssuance | None:
    """The actor's earlier bulk request with this idempotency key, if any."""
    return session.scalar(
        select(BulkIssuance).where(
            BulkIssuance.requested_by_id == actor.id, BulkIssuance.idempotency_key == key.strip()
        )
    )


def is_stalled(bulk: BulkIssuance, now: dt.datetime) -> bool:
    """Unfinished long after it started: its run died with its process (run it again)."""
    return bulk.finished_at is None and bulk.created_at < now - STALE_AFTER


def awaiting_certificate(session: Session, actor: UserAccount) -> Sequence[CertificationCase]:
    """The CERTIFIED cases of the entes where ``actor`` is a signatory: certificates to issue."""
    entes = {r.organisation_id for r in actor.person.staff_roles if r.role == Role.SIGNATORY}
    if not entes:
        return []
    return session.scalars(
        select(CertificationCase)
        .where(
            CertificationCase.status == CaseStatus.CERTIFIED,
            CertificationCase.ente_titolato_id.in_(entes),
        )
        .order_by(CertificationCase.status_changed_at)
    ).all()


def bulk_requests_of(
    session: Session, actor: UserAccount, limit: int = 10
) -> Sequence[BulkIssuance]:
    """The actor's latest bulk requests, newest first."""
    return session.scalars(
        select(BulkIssuance)
        .where(BulkIssuance.requested_by_id == actor.id)
        .order_by(BulkIssuance.created_at.desc())
        .limit(limit)
    ).all()


def _record_item(issuer: Issuer, bulk_id: uuid.UUID, result: ItemResult) -> None:
    def once() -> None:
        with issuer.session_factory() as session:
            _set_item(session, bulk_id, result, issuer.clock())
            session.commit()

    issuer.unit(once)


def _set_item(session: Session, bulk_id: uuid.UUID, result: ItemResult, now: dt.datetime) -> None:
    """Write one item's row (never the others'), and close the request when none is pending:
    the same few statements for the first item of a request as for its thousandth."""
    session.execute(
        update(BulkIssuanceItem)
        .where(BulkIssuanceItem.bulk_id == bulk_id, BulkIssuanceItem.case_id == result.case_id)
        .values(
            status=result.status,
            certificate_id=result.certificate_id,
            number=result.number,
            verification_code=result.verification_code,
            error=result.error,
        )
        .execution_options(synchronize_session=False)
    )
    if _pending_cases(session, bulk_id, limit=1):
        return
    session.execute(
        update(BulkIssuance)
        .where(BulkIssuance.id == bulk_id, BulkIssuance.finished_at.is_(None))
        .values(finished_at=now)
        .execution_options(synchronize_session=False)
    )


def _pending_cases(session: Session, bulk_id: uuid.UUID, limit: int | None = None) -> list[str]:
    """The cases of the request still pending, in its order (found by the index on the bulk
    and status)."""
    return list(
        session.scalars(
            select(BulkIssuanceItem.case_id)
            .where(BulkIssuanceItem.bulk_id == bulk_id, BulkIssuanceItem.status == "pending")
            .order_by(BulkIssuanceItem.position)
            .limit(limit)
        )
    )


def _already_issued(issuer: Issuer, case_id: uuid.UUID) -> ItemResult:
    found = issuer.unit(lambda: _issued_for(issuer, case_id))
    if found is None:  # pragma: no cover - AlreadyIssued means there is one
        return ItemResult(str(case_id), "failed", error="already_issued")
    return found


def _issued_for(issuer: Issuer, case_id: uuid.UUID) -> ItemResult | None:
    """The item result of the case's public certificate, if it has one."""
    with issuer.session_factory() as session:
        done = session.scalar(
            select(Certificate).where(
                Certificate.case_id == case_id, Certificate.status.in_(PUBLIC_STATES)
            )
        )
        if done is None:
            return None
        return ItemResult(str(case_id), "issued", str(done.id), done.number, done.verification_code)


def fail_pending(issuer: Issuer, bulk_id: uuid.UUID, error: str) -> int:
    """Close a bulk request whose run stopped on an error: each item still pending is marked
    failed with ``error`` (or issued, when its case's certificate was issued all the same), so
    nothing is left pending; returns how many were marked failed."""

    def once() -> int:
        with issuer.session_factory() as session:
            bulk = session.get(BulkIssuance, bulk_id)
            if bulk is None:
                return 0
            now = issuer.clock()
            failed = 0
            for case_id in _pending_cases(session, bulk_id):
                done = _issued_for(issuer, uuid.UUID(case_id))
                if done is None:
                    failed += 1
                    done = ItemResult(case_id, "failed", error=error)
                _set_item(session, bulk_id, done, now)
            if bulk.finished_at is None:
                bulk.finished_at = now
            session.commit()
            return failed

    return issuer.unit(once)


def run_bulk(
    issuer: Issuer,
    bulk_id: uuid.UUID,
    *,
    workers: int = 2,
    progress: Callable[[ItemResult], None] | None = None,
    fork: bool = False,
) -> list[ItemResult]:
    """Issue every still-pending item of a bulk request: reservations one by one, rendering and
    sealing on a pool of ``workers`` processes (0: in this process), completions as they come.
    Items already done (a repeated run) are not touched: no double issuance. ``fork``: the
    rendering processes are forked from this one, warm (only for a single-threaded caller:
    :mod:`~certification.certificates.rendering_pool`)."""

    def load() -> tuple[uuid.UUID, list[uuid.UUID]]:
        with issuer.session_factory() as session:
            requested_by = session.scalar(
                select(BulkIssuance.requested_by_id).where(BulkIssuance.id == bulk_id)
            )
            if requested_by is None:
                raise NotFound("no such bulk issuance")
            return requested_by, [uuid.UUID(c) for c in _pending_cases(session, bulk_id)]

    actor_id, todo = issuer.unit(load)
    results: list[ItemResult] = []

    def announce(result: ItemResult) -> None:  # to the caller (already recorded)
        results.append(result)
        if progress:
            progress(result)

    def report(result: ItemResult) -> None:  # record, then announce
        _record_item(issuer, bulk_id, result)
        announce(result)

    def reserve_one(case_id: uuid.UUID) -> Iterator[tuple[uuid.UUID, _Reserved]]:
        try:
            yield case_id, _reserve(issuer, actor_id, case_id)
        except AlreadyIssued:
            # Issued by an earlier run of this request that died before recording it (or
            # by someone else): the item's goal is met, and nothing is issued twice.
            report(_already_issued(issuer, case_id))
        except DomainError as exc:
            report(ItemResult(str(case_id), "failed", error=exc.code))
        except Exception as exc:  # the database stayed busy, or a bug: this item only
            log.exception("bulk %s: case %s not reserved", bulk_id, case_id)
            code = "database_busy" if is_transient(exc) else "production_failed"
            report(ItemResult(str(case_id), "failed", error=code))

    def reservations() -> Iterator[tuple[uuid.UUID, _Reserved]]:
        """In batches, one transaction each: 1, 2, 4... up to the batch size, so the workers
        start on the first at once. A batch with an item that cannot be reserved (a case not
        ready, already issued) is reserved again one by one, each item on its own."""
        at, step = 0, 1
        while at < len(todo):
            chunk = todo[at : at + step]
            at, step = at + len(chunk), min(step * 2, max(1, issuer.batch_size))
            if len(chunk) > 1:
                try:
                    batch = _reserve_batch(issuer, actor_id, chunk)
                except Exception:  # each item then reserved, or reported, alone
                    log.info("bulk %s: a batch of %d reserved one by one", bulk_id, len(chunk))
                else:
                    yield from zip(chunk, batch, strict=True)
                    continue
            for case_id in chunk:
                yield from reserve_one(case_id)

    def issued(case_id: uuid.UUID, certificate: Certificate) -> ItemResult:
        return ItemResult(
            str(case_id),
            "issued",
            str(certificate.id),
            certificate.number,
            certificate.verification_code,
        )

    def progress_of(case_id: uuid.UUID) -> Callable[[Session, Certificate], None]:
        # The item's progress commits with the certificate: one transaction, not two.
        return lambda session, c: _set_item(session, bulk_id, issued(case_id, c), issuer.clock())

    def failed(case_id: uuid.UUID, reserved: _Reserved, exc: Exception) -> None:
        if not isinstance(exc, TimestampUnavailable):  # else: pending, for `recover`
            _abandon(issuer, reserved.certificate_id, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, DomainError):
            code = exc.code
        else:
            log.exception("bulk %s: case %s not completed", bulk_id, case_id, exc_info=exc)
            code = "database_busy" if is_transient(exc) else "production_failed"
        report(ItemResult(str(case_id), "failed", str(reserved.certificate_id), error=code))

    def finish(case_id: uuid.UUID, reserved: _Reserved, produced: ProducedCertificate) -> None:
        try:
            done = _complete(issuer, reserved, produced, also=progress_of(case_id))
        except Exception as exc:
            failed(case_id, reserved, exc)
        else:
            announce(issued(case_id, done))

    def finish_batch(batch: Sequence[tuple[uuid.UUID, _Reserved, Produce]]) -> None:
        """Complete what the workers produced in one transaction; a batch that fails is
        completed again item by item, so one bad item fails alone."""
        ready: list[tuple[uuid.UUID, _Reserved, ProducedCertificate]] = []
        for case_id, reserved, produce in batch:
            try:
                ready.append((case_id, reserved, produce()))
            except Exception as exc:
                failed(case_id, reserved, exc)
        if len(ready) == 1:
            finish(*ready[0])
            return
        if not ready:
            return
        try:
            done = _complete_batch(
                issuer, [(reserved, produced, progress_of(c)) for c, reserved, produced in ready]
            )
        except Exception:
            log.warning("bulk %s: a batch of %d completed one by one", bulk_id, len(ready))
            for item in ready:
                finish(*item)
        else:
            for (case_id, _reserved, _produced), certificate in zip(ready, done, strict=True):
                announce(issued(case_id, certificate))

    size = max(1, issuer.batch_size)
    if workers <= 0 or issuer.renderer_paths is None:

        def here(r: _Reserved) -> Produce:
            return lambda: produce_certificate(
                r.content, r.locale, issuer.signer(r.material), issuer.renderer, clock=issuer.clock
            )

        pending: list[tuple[uuid.UUID, _Reserved, Produce]] = []
        for case_id, reserved in reservations():
            pending.append((case_id, reserved, here(reserved)))
            if len(pending) >= size:
                finish_batch(pending)
                pending = []
        finish_batch(pending)
        return results
    # Forked from a warm caller (fork=True: its renderer and keys), else spawned.
    warm = issuer if fork else None
    with rendering_pool(workers, issuer.renderer_paths, issuer.passphrase, warm=warm) as pool:
        futures: list[tuple[uuid.UUID, _Reserved, Future[ProducedCertificate]]] = [
            (
                case_id,
                reserved,
                pool.submit(
                    produce_in_worker, reserved.material, reserved.content, reserved.locale
                ),
            )
            for case_id, reserved in reservations()
        ]
        # In order; with the next one, every one after it the workers finish within
        # BATCH_WAIT_SECONDS (up to the batch size): one transaction for those. A commit's
        # fixed cost (the audit chains' signed heads, the sync to disk) is then shared by a
        # batch instead of paid per certificate on the cores the workers render on.
        at = 0
        while at < len(futures):
            futures[at][2].exception()  # wait for it (its error is raised by result())
            wait([f for _c, _r, f in futures[at + 1 : at + size]], timeout=BATCH_WAIT_SECONDS)
            end = at + 1
            while end < len(futures) and end - at < size and futures[end][2].done():
                end += 1
            finish_batch([(c, r, f.result) for c, r, f in futures[at:end]])
            at = end
    return results

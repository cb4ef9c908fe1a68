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

import ctypes
import datetime as dt
import functools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from certification.cases.states import CaseStatus
from certification.certificates.content import CertificateContent
from certification.certificates.faults import crash_point
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
from certification.certificates.tsa import TimestampUnavailable
from certification.db import is_transient, retry_transient
from certification.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted
from certification.models import (
    BulkIssuance,
    BulkIssuanceItem,
    Certificate,
    CertificateStatus,
    CertificationCase,
    Organisation,
    Profile,
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


class CredentialHasher:
    """One helper process that computes credential hashes (:func:`produce_certificate`).

    Started in the background on first use, and used only once it answers: starting Python
    and pyld costs more than one hash saves, so a short-lived process (a CLI command) never
    waits for it. It dies with the thread that started it (Linux's parent-death signal); a
    broken helper is replaced on the next use. Under gunicorn's threaded workers (``gthread``,
    as served) that thread is one of the worker's request threads, which live as long as the
    worker (its thread pool never replaces them), so the helper is not lost between requests;
    it is thread-safe (a lock guards its start, the executor takes submissions from any thread).
    """

    def __init__(self, wanted: Callable[[], bool] = lambda: True) -> None:
        self._wanted = wanted  # asked before starting it: is this process one that lives on?
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._ready: Future[None] | None = None
        self._pid = 0

    def executor(self) -> Executor | None:
        """The helper when it is up, else None (it is then being started)."""
        with self._lock:
            if self._executor is None or self._pid != os.getpid():  # first use, or forked
                if not self._wanted():
                    return None
                self._pid = os.getpid()
                try:
                    self._executor = ProcessPoolExecutor(
                        max_workers=1,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_die_with_parent,
                    )
                    self._ready = self._executor.submit(_hasher_up)
                except Exception:  # no helper here (e.g. no process may be started): go on
                    log.warning("no credential hashing helper", exc_info=True)
                    self._wanted = lambda: False
                    self._executor = self._ready = None
                    return None
            ready = self._ready
        if ready is not None and ready.done() and ready.exception() is None:
            return self._executor
        return None

    def shutdown(self) -> None:
        """Stop the helper (or forget one that died); the next use starts another."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _hasher_up() -> None:
    """Runs once the helper has imported this module (and so pyld): it is ready."""


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
    """What the certificate's content reads of its case, in the case's own query (each would be
    a query of its own when first touched). Built once, on first use: building it configures
    every mapper, which a command that issues nothing need not pay (startup time, issue 20)."""
    return (
        joinedload(CertificationCase.candidate),
        joinedload(CertificationCase.snapshot),
        joinedload(CertificationCase.ente_titolato).joinedload(Organisation.accredited_by),
        joinedload(CertificationCase.target_profile).joinedload(Profile.framework),
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
        case = session.get(CertificationCase, case_id, options=_for_content())
        if actor is None or case is None:
            raise NotFound("no such case")
        supersedes = session.get(Certificate, supersedes_id) if supersedes_id else None
        if supersedes_id and (supersedes is None or supersedes.case_id != case.id):
            raise NotFound("no such certificate")
        # Keys first: a missing key or a wrong passphrase reserves nothing (the signer is
        # built, and the passphrase checked, once per process and key).
        material = signer_material(
            session, case.ente_titolato_id, issuer.timestamp_url, issuer.timestamp_roots
        )
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
        reserved = _Reserved(
            certificate.id, certificate.content.copy(), certificate.locale, material
        )
        try:
            session.commit()
        except IntegrityError:
            raise Conflict("this decision already has its certificate") from None
        crash_point("reserved")  # the number and the status index are taken
        return reserved


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
        # Locked: a retry and a recovery finishing the same reservation at once cannot both
        # complete it (the second finds it issued and returns it).
        certificate = session.get(Certificate, reserved.certificate_id, with_for_update=True)
        if certificate is None:  # pragma: no cover - rows are never deleted
            raise NotFound("no such certificate")
        if certificate.status in PUBLIC_STATES:  # finished by a concurrent run: bytes dropped
            if also is not None:
                also(session, certificate)
                session.commit()
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
        crash_point("stored")  # the files are written, the ISSUED row is not committed
        session.commit()
        crash_point("committed")  # issued; the caller has not heard of it
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

_worker_state: dict[str, Any] = {}


def _die_with_parent() -> None:
    """A rendering process dies with the process that started it (Linux's parent-death
    signal): an issuer killed mid-run leaves no orphans holding memory and its pipes."""
    if sys.platform != "linux":  # pragma: no cover
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the signal was asked for
        os._exit(1)


def _worker_init(paths: RendererPaths, passphrase: bytes) -> None:
    _die_with_parent()
    _worker_state["renderer"] = paths.renderer()
    _worker_state["passphrase"] = passphrase
    _worker_state["signers"] = {}


def _worker_produce(
    material: SignerMaterial, content: CertificateContent, locale: str
) -> ProducedCertificate:
    signers: dict[str, IssuerSigner] = _worker_state["signers"]
    key = f"{material.seal.kid}:{material.credential.kid}"
    if key not in signers:
        signers[key] = IssuerSigner(material, _worker_state["passphrase"])
    return produce_certificate(content, locale, signers[key], _worker_state["renderer"])


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
) -> list[ItemResult]:
    """Issue every still-pending item of a bulk request: reservations one by one, rendering and
    sealing on a pool of ``workers`` processes (0: in this process), completions as they come.
    Items already done (a repeated run) are not touched: no double issuance."""

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

    def reservations() -> Iterator[tuple[uuid.UUID, _Reserved]]:
        for case_id in todo:
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

    def finish(
        case_id: uuid.UUID, reserved: _Reserved, produce: Callable[[], ProducedCertificate]
    ) -> None:
        def issued(certificate: Certificate) -> ItemResult:
            return ItemResult(
                str(case_id),
                "issued",
                str(certificate.id),
                certificate.number,
                certificate.verification_code,
            )

        try:
            done = _complete(
                issuer,
                reserved,
                produce(),
                # The item's progress commits with the certificate: one transaction, not two.
                also=lambda session, c: _set_item(session, bulk_id, issued(c), issuer.clock()),
            )
        except Exception as exc:
            if not isinstance(exc, TimestampUnavailable):  # else: pending, for `recover`
                _abandon(issuer, reserved.certificate_id, f"{type(exc).__name__}: {exc}")
            if isinstance(exc, DomainError):
                code = exc.code
            else:
                log.exception("bulk %s: case %s not completed", bulk_id, case_id)
                code = "database_busy" if is_transient(exc) else "production_failed"
            report(ItemResult(str(case_id), "failed", str(reserved.certificate_id), error=code))
        else:
            announce(issued(done))

    if workers <= 0 or issuer.renderer_paths is None:
        for case_id, reserved in reservations():
            finish(
                case_id,
                reserved,
                lambda r=reserved: produce_certificate(  # type: ignore[misc]
                    r.content,
                    r.locale,
                    issuer.signer(r.material),
                    issuer.renderer,
                    clock=issuer.clock,
                ),
            )
        return results
    # Spawned (not forked) workers: no inherited database connections or threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(issuer.renderer_paths, issuer.passphrase),
    ) as pool:
        futures: list[tuple[uuid.UUID, _Reserved, Future[ProducedCertificate]]] = [
            (
                case_id,
                reserved,
                pool.submit(_worker_produce, reserved.material, reserved.content, reserved.locale),
            )
            for case_id, reserved in reservations()
        ]
        for case_id, reserved, future in futures:
            finish(case_id, reserved, future.result)
    return results

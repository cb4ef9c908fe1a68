"""Bulk issuance: a signatory's request to issue the certificates of many cases at once.

A request (:class:`~certification.models.BulkIssuance`) is recorded once per idempotency key
(:func:`start_bulk`), then run (:func:`run_bulk`, by the CLI or a queue job): reservations in
batches, rendering and sealing on a pool of worker processes
(:mod:`~certification.certificates.rendering_pool`), completions in batches, each item's
progress committed with its certificate through the transactions of
:mod:`~certification.certificates.issuance`. Run again, a request issues only what is still
pending; :func:`fail_pending` closes one whose run stopped.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, wait
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.certificates.issuance import (
    STALE_AFTER,
    Issuer,
    ItemResult,
    Reservation,
    abandon,
    complete,
    complete_batch,
    reserve,
    reserve_batch,
)
from certification.certificates.lifecycle import PUBLIC_STATES, AlreadyIssued
from certification.certificates.production import ProducedCertificate, produce_certificate
from certification.certificates.rendering_pool import produce_in_worker, rendering_pool
from certification.certificates.tsa import TimestampUnavailable
from certification.db import is_transient
from certification.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted
from certification.models import (
    BulkIssuance,
    BulkIssuanceItem,
    Certificate,
    CertificationCase,
    UserAccount,
)
from certification.people.roles import Role

log = logging.getLogger(__name__)

MAX_BULK: Final = 1000
#: How long a bulk run waits for the workers to finish the rest of a batch once its first
#: certificate is back, before completing what it has (about one certificate's rendering).
BATCH_WAIT_SECONDS: Final = 1.0

Produce = Callable[[], ProducedCertificate]


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


def _set_item(
    session: Session,
    bulk_id: uuid.UUID,
    result: ItemResult,
    now: dt.datetime,
    *,
    close: bool = True,
) -> None:
    """Write one item's row (never the others'), and (``close``) close the request when none
    is pending: the same few statements for the first item of a request as for its
    thousandth. A batch written in one transaction asks that once, with its last item."""
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
    if not close or _pending_cases(session, bulk_id, limit=1):
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

    def reserve_one(case_id: uuid.UUID) -> Iterator[tuple[uuid.UUID, Reservation]]:
        try:
            yield case_id, reserve(issuer, actor_id, case_id)
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

    def reservations() -> Iterator[tuple[uuid.UUID, Reservation]]:
        """In batches, one transaction each: 1, 2, 4... up to the batch size, so the workers
        start on the first at once. A batch with an item that cannot be reserved (a case not
        ready, already issued) is reserved again one by one, each item on its own."""
        at, step = 0, 1
        while at < len(todo):
            chunk = todo[at : at + step]
            at, step = at + len(chunk), min(step * 2, max(1, issuer.batch_size))
            if len(chunk) > 1:
                try:
                    batch = reserve_batch(issuer, actor_id, chunk)
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

    def progress_of(
        case_id: uuid.UUID, close: bool = True
    ) -> Callable[[Session, Certificate], None]:
        # The item's progress commits with the certificate: one transaction, not two.
        return lambda session, c: _set_item(
            session, bulk_id, issued(case_id, c), issuer.clock(), close=close
        )

    def failed(case_id: uuid.UUID, reserved: Reservation, exc: Exception) -> None:
        if not isinstance(exc, TimestampUnavailable):  # else: pending, for `recover`
            abandon(issuer, reserved.certificate_id, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, DomainError):
            code = exc.code
        else:
            log.exception("bulk %s: case %s not completed", bulk_id, case_id, exc_info=exc)
            code = "database_busy" if is_transient(exc) else "production_failed"
        report(ItemResult(str(case_id), "failed", str(reserved.certificate_id), error=code))

    def finish(case_id: uuid.UUID, reserved: Reservation, produced: ProducedCertificate) -> None:
        try:
            done = complete(issuer, reserved, produced, also=progress_of(case_id))
        except Exception as exc:
            failed(case_id, reserved, exc)
        else:
            announce(issued(case_id, done))

    def finish_batch(batch: Sequence[tuple[uuid.UUID, Reservation, Produce]]) -> None:
        """Complete what the workers produced in one transaction; a batch that fails is
        completed again item by item, so one bad item fails alone."""
        ready: list[tuple[uuid.UUID, Reservation, ProducedCertificate]] = []
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
            last = len(ready) - 1
            done = complete_batch(
                issuer,
                [
                    (reserved, produced, progress_of(c, close=n == last))
                    for n, (c, reserved, produced) in enumerate(ready)
                ],
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

        def here(r: Reservation) -> Produce:
            return lambda: produce_certificate(
                r.content, r.locale, issuer.signer(r.material), issuer.renderer, clock=issuer.clock
            )

        pending: list[tuple[uuid.UUID, Reservation, Produce]] = []
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
        futures: list[tuple[uuid.UUID, Reservation, Future[ProducedCertificate]]] = [
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

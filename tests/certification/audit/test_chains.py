"""The tamper-evident history: case chains and the audit chain, their signed heads and the
daily checkpoints. Each attack of issue 17 (truncation, edit with full re-hashing, audit events
edited or deleted, heads re-signed with another key, a rolled-back chain against a checkpoint)
is caught; normal operation verifies."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from certification.audit import chains
from certification.audit.chains import (
    AUDIT_CHAIN,
    SIGNER,
    AuditSigner,
    case_chain,
    create_checkpoint,
    event_record,
    head_message,
    link_hash,
    sign_head,
    sign_unsigned_heads,
    verify_history,
)
from certification.audit.events import record_event
from certification.cases import workflow
from certification.cases.states import CaseStatus
from certification.keys.management import _store, init_keys
from certification.models import (
    AuditEvent,
    CaseTransition,
    CertificationCase,
    ChainHead,
    KeyPurpose,
)
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import make_account, make_case, make_organisation

PASS = b"the audit passphrase"
DAY = dt.date(2026, 11, 2)


@pytest.fixture
def history(db: Session) -> dict[str, Any]:
    """Signed history: a case taken through three transitions, a login, all committed."""
    signer = AuditSigner(PASS)
    db.info[SIGNER] = signer
    init_keys(db, None, PASS, NOW)
    sign_unsigned_heads(db, signer, NOW)
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    operator = make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente)
    tutor = make_account(db, roles=(Role.TUTOR,), organisation=ente)
    case = make_case(db, ente=ente, status=CaseStatus.SUBMITTED)
    db.commit()
    workflow.take_charge(db, operator, case, NOW)
    db.commit()
    workflow.admit_case(db, operator, case, tutor.person, NOW + dt.timedelta(hours=1))
    record_event(db, operator, "login.succeeded", "user_account", operator.id, NOW)
    db.commit()
    return {"case": case, "operator": operator, "signer": signer}


def _problems(db: Session, *checkpoints: tuple[str, dict[str, Any]]) -> list[str]:
    db.expire_all()
    return [str(p) for p in verify_history(db, PASS, checkpoints)]


def _rehash_case(db: Session, case: CertificationCase) -> None:
    """What an attacker with the database can do: recompute every hash after an edit."""
    db.flush()
    prev = chains.GENESIS_HASH
    for row in case.transitions:
        row.prev_hash = prev
        row.hash = chains.transition_hash(prev, chains.transition_record(row))
        prev = row.hash
    db.flush()


def _rehash_audit(db: Session) -> None:
    prev = "0" * 64
    for number, row in enumerate(db.scalars(select(AuditEvent).order_by(AuditEvent.sequence)), 1):
        row.sequence, row.prev_hash = number, prev
        row.hash = link_hash(prev, event_record(row))
        prev = row.hash
    db.flush()


def test_normal_operation_verifies(db: Session, history: dict[str, Any]) -> None:
    case = history["case"]
    assert _problems(db) == []
    head = db.get_one(ChainHead, case_chain(case.id))
    assert (head.length, head.head_hash) == (2, case.transitions[-1].hash)
    assert head.signature and head.kid
    audit = db.get_one(ChainHead, AUDIT_CHAIN)
    last = db.scalar(select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(1))
    assert last is not None and (audit.length, audit.head_hash) == (last.sequence, last.hash)
    # The audit event of each transition names its link of the case's chain.
    admitted = db.scalar(select(AuditEvent).where(AuditEvent.action == "case.admit"))
    assert admitted is not None
    assert admitted.details["chain"] == {"sequence": 2, "hash": case.transitions[1].hash}
    create_checkpoint(db, history["signer"], DAY, NOW)
    record_event(db, None, "login.failed", "user_account", "x", NOW)
    db.commit()
    assert _problems(db) == []
    # The case moves on after the checkpoint: its chain as of the checkpoint still gives the root.
    workflow.apply_transition(db, None, case, "suspend", NOW + dt.timedelta(days=1))
    db.commit()
    assert _problems(db) == []


def test_truncating_a_case_chain_is_caught(db: Session, history: dict[str, Any]) -> None:
    case = history["case"]
    db.execute(
        delete(CaseTransition).where(
            CaseTransition.case_id == case.id, CaseTransition.sequence == 2
        )
    )
    db.execute(
        update(CertificationCase)
        .where(CertificationCase.id == case.id)
        .values(status=CaseStatus.IN_ACCOGLIENZA.value)
    )
    problems = _problems(db)
    chain = case_chain(case.id)
    assert (
        f"{chain} at #2: the signed head has 2 entries, the chain has 1 (entries were removed)"
        in problems
    )
    assert any(p.startswith(f"{chain} at #2: audit event #") and "missing" in p for p in problems)


def test_truncation_with_an_older_genuine_head_is_caught_by_the_audit_chain(
    db: Session, history: dict[str, Any]
) -> None:
    case = history["case"]
    first = case.transitions[0]
    older = head_message(case_chain(case.id), 1, first.hash, NOW)
    kid, signature = history["signer"].sign(db, older)  # a head the service once signed
    db.execute(delete(CaseTransition).where(CaseTransition.id == case.transitions[1].id))
    db.execute(
        update(ChainHead)
        .where(ChainHead.chain == case_chain(case.id))
        .values(length=1, head_hash=first.hash, signed_at=NOW, kid=kid, signature=signature)
    )
    db.execute(
        update(CertificationCase)
        .where(CertificationCase.id == case.id)
        .values(status=CaseStatus.IN_ACCOGLIENZA.value)
    )
    problems = _problems(db)
    assert len(problems) == 1 and "records this transition, which is missing" in problems[0]


def test_editing_a_case_chain_and_rehashing_is_caught(db: Session, history: dict[str, Any]) -> None:
    case = history["case"]
    case.transitions[0].payload = {"note": "rewritten"}
    _rehash_case(db, case)
    chain = case_chain(case.id)
    problems = _problems(db)
    assert f"{chain} at #2: the last entry differs from the signed head" in problems
    # Also moving the head along without the key: the signature no longer holds.
    db.execute(
        update(ChainHead)
        .where(ChainHead.chain == chain)
        .values(head_hash=case.transitions[-1].hash)
    )
    problems = _problems(db)
    assert any(p.startswith(f"{chain}: head: the signature does not verify") for p in problems)
    assert any("audit event #" in p and "which has changed" in p for p in problems)


@pytest.mark.parametrize("attack", ["edit", "edit_and_rehash", "delete_middle", "delete_last"])
def test_tampering_with_audit_events_is_caught(
    db: Session, history: dict[str, Any], attack: str
) -> None:
    login = db.scalar(select(AuditEvent).where(AuditEvent.action == "login.succeeded"))
    middle = db.scalar(select(AuditEvent).where(AuditEvent.action == "case.take_charge"))
    assert login is not None and middle is not None and middle.sequence is not None
    if attack == "edit":
        db.execute(update(AuditEvent).where(AuditEvent.id == middle.id).values(action="case.x"))
        expected = f"audit at #{middle.sequence}: content changed (case.x)"
    elif attack == "edit_and_rehash":
        db.execute(update(AuditEvent).where(AuditEvent.id == middle.id).values(entity_id="x"))
        db.expire_all()
        _rehash_audit(db)
        expected = "audit at #"
    elif attack == "delete_middle":
        db.execute(delete(AuditEvent).where(AuditEvent.id == middle.id))
        n = middle.sequence
        expected = f"audit at #{n}: event(s) #{n}-#{n} are missing"
    else:
        db.execute(delete(AuditEvent).where(AuditEvent.id == login.id))
        expected = f"audit at #{login.sequence}: the signed head has {login.sequence} entries"
    problems = _problems(db)
    assert any(p.startswith(expected) for p in problems), problems
    if attack == "edit_and_rehash":
        assert "audit at #" in problems[0] and "differs from the signed head" in problems[0]


@pytest.mark.parametrize("registered", [False, True])
def test_a_head_resigned_with_another_key_is_caught(
    db: Session, history: dict[str, Any], registered: bool
) -> None:
    case = history["case"]
    chain = case_chain(case.id)
    case.transitions[1].payload = {"tutor": "someone else"}
    _rehash_case(db, case)
    forged = ed25519.Ed25519PrivateKey.generate()
    if registered:  # even stored as an audit key: it does not open with our passphrase
        kid = _store(db, forged, KeyPurpose.AUDIT, None, None, b"the attacker's", NOW).kid
    else:
        from certification.keys.material import key_id

        kid = key_id(forged.public_key())
    head = case.transitions[-1].hash
    signature = forged.sign(head_message(chain, 2, head, NOW)).hex()
    db.execute(
        update(ChainHead)
        .where(ChainHead.chain == chain)
        .values(head_hash=head, signed_at=NOW, kid=kid, signature=signature)
    )
    problems = _problems(db)
    assert (
        f"{chain}: head: signed with key {kid[:16]}, which is not an audit key of this service"
        in problems
    )


def test_a_rolled_back_audit_chain_disagrees_with_the_checkpoint(
    db: Session, history: dict[str, Any]
) -> None:
    signer = history["signer"]
    saved = db.get_one(ChainHead, AUDIT_CHAIN)
    older = (saved.length, saved.head_hash, saved.signed_at, saved.kid, saved.signature)
    record_event(db, None, "login.failed", "user_account", "mallory", NOW)
    db.commit()
    checkpoint, created = create_checkpoint(db, signer, DAY, NOW)
    assert created and create_checkpoint(db, signer, DAY, NOW) == (checkpoint, False)
    document = json.loads(checkpoint.document)
    assert _problems(db) == []
    # Remove the last event and put back the head the service signed before it: only the
    # checkpoint, which outside parties keep, tells.
    db.execute(delete(AuditEvent).where(AuditEvent.sequence == older[0] + 1))
    db.execute(
        update(ChainHead)
        .where(ChainHead.chain == AUDIT_CHAIN)
        .values(
            length=older[0],
            head_hash=older[1],
            signed_at=older[2],
            kid=older[3],
            signature=older[4],
        )
    )
    stored = _problems(db)
    assert len(stored) == 1 and "events were removed" in stored[0], stored
    db.execute(delete(type(checkpoint)))  # the stored checkpoints deleted too: the kept file
    kept = _problems(db, ("kept.json", document))
    assert kept == stored
    forged = {**document, "chains": {"audit": {"length": 1, "head": "f" * 64}}}
    assert _problems(db, ("forged.json", forged))[-1].startswith(
        "checkpoint forged.json: the signature does not verify"
    )


def test_unsigned_heads_are_reported_and_keys_init_signs_them(db: Session) -> None:
    make_case(db, status=CaseStatus.SUBMITTED)
    record_event(db, None, "login.failed", "user_account", "x", NOW)
    db.commit()  # no signer on this session: the head moves, unsigned
    assert "audit: the head is not signed (run `keys init`)" in _problems(db)
    signer = AuditSigner(PASS)
    db.info[SIGNER] = signer
    init_keys(db, None, PASS, NOW)
    assert sign_unsigned_heads(db, signer, NOW) >= 1
    db.commit()
    assert _problems(db) == []


def test_a_case_chain_rolled_back_before_it_was_recorded_disagrees_with_the_checkpoint(
    db: Session, history: dict[str, Any]
) -> None:
    """A chain from before the audit chain recorded transitions (migrated): only the
    checkpoint's root of the case chains tells that it was rolled back to an older head."""
    signer = history["signer"]
    case = make_case(db, status=CaseStatus.IN_ACCOGLIENZA)
    prev = chains.GENESIS_HASH
    for sequence, (event, source, target) in enumerate(
        [("submit", "draft", "submitted"), ("take_charge", "submitted", "in_accoglienza")], 1
    ):
        row = CaseTransition(
            case_id=case.id,
            sequence=sequence,
            event=event,
            from_status=source,
            to_status=target,
            at=NOW,
            payload={},
            prev_hash=prev,
        )
        row.hash = prev = chains.transition_hash(prev, chains.transition_record(row))
        db.add(row)
    db.flush()
    chain = case_chain(case.id)
    head = ChainHead(chain=chain, length=2, head_hash=prev)
    db.add(head)
    sign_head(db, head, signer, NOW)
    db.commit()
    first = db.scalar(
        select(CaseTransition).where(
            CaseTransition.case_id == case.id, CaseTransition.sequence == 1
        )
    )
    assert first is not None
    older = signer.sign(db, head_message(chain, 1, first.hash, NOW))  # once genuinely signed
    assert older is not None
    checkpoint, _ = create_checkpoint(db, signer, DAY, NOW)
    assert _problems(db) == []
    db.execute(
        delete(CaseTransition).where(
            CaseTransition.case_id == case.id, CaseTransition.sequence == 2
        )
    )
    db.execute(
        update(CertificationCase)
        .where(CertificationCase.id == case.id)
        .values(status=CaseStatus.SUBMITTED.value)
    )
    db.execute(
        update(ChainHead)
        .where(ChainHead.chain == chain)
        .values(length=1, head_hash=first.hash, signed_at=NOW, kid=older[0], signature=older[1])
    )
    problems = _problems(db)
    assert len(problems) == 1 and problems[0].startswith("case chains: as of the checkpoint")
    assert _problems(db, ("kept.json", json.loads(checkpoint.document))) == [problems[0]]


def test_savepoints_neither_seal_the_chain_nor_forget_what_came_before(
    db: Session, history: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain is sealed once, at the transaction's commit: a savepoint's release seals
    nothing (a bulk reservation has one per certificate), and a savepoint rolled back drops
    only what it added; the events recorded before it are chained all the same."""
    operator = history["operator"]
    sealed: list[int] = []
    real = chains.seal_chains
    monkeypatch.setattr(
        "certification.audit.events.seal_chains", lambda s: (sealed.append(1), real(s))
    )
    before = record_event(db, operator, "login.succeeded", "user_account", operator.id, NOW)
    with db.begin_nested():
        inside = record_event(db, operator, "login.failed", "user_account", operator.id, NOW)
    assert sealed == [] and before.hash is None and inside.hash is None
    nested = db.begin_nested()
    lost = record_event(db, operator, "logout", "user_account", operator.id, NOW)
    db.flush()
    nested.rollback()
    db.commit()
    assert sealed == [1]
    assert before.hash is not None and inside.hash is not None
    assert inside.sequence == before.sequence + 1
    assert lost not in db
    assert _problems(db) == []

"""The tamper-evident history: hash chains whose heads are signed with the audit key.

Two kinds of chain (security.md §3.9):

- ``case:<id>``: one case's transitions (:class:`CaseTransition`, each hashed with the one
  before by :func:`transition_hash` when :mod:`certification.cases.workflow` writes it);
- ``audit``: every :class:`AuditEvent`, in one global order. The event written with a case
  transition names the transition's sequence and hash, so the global chain also commits to
  every case chain.

When a session commits, :func:`seal_chains` (from a ``before_commit`` hook on every session,
registered in :mod:`certification.audit.events`)
chains the audit events it added and updates the head row of every chain it touched, then signs
each head with the audit key (an Ed25519 key of purpose ``audit``, made by ``keys init``) when
the session carries an :class:`AuditSigner` in ``session.info["audit_signer"]``. Appends are
serialised by the lock on the head row (taken with an UPDATE, so it is a row lock on
PostgreSQL and the writer lock on SQLite), always last in the transaction: two writers never
fork the chain and never deadlock on it.

Every day a checkpoint (the audit chain's length and head, and a Merkle root of the case
chains' heads) is signed and published, for outside parties to keep; :func:`verify_history`
checks every chain against its signed head and against a checkpoint.

One module over 600 lines because hashing, head signing, appending at commit, checkpoints and
verification must agree byte for byte on the same records and messages; kept together, a change
to one is read beside the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from certification.keys.material import ed25519_public_key, load_private_key
from certification.models import (
    AuditCheckpoint,
    AuditEvent,
    CaseTransition,
    CertificationCase,
    ChainHead,
    KeyPurpose,
    SigningKey,
)

GENESIS_HASH: Final = "0" * 64
AUDIT_CHAIN: Final = "audit"
CHECKPOINT_FORMAT: Final = "attesta-audit-checkpoint/1"
SIGNER: Final = "audit_signer"
#: session.info keys: the events to chain and the cases whose chain head changes at commit.
PENDING_EVENTS: Final = "attesta.audit_pending"
TOUCHED_CASES: Final = "attesta.cases_touched"


# --- case chains ------------------------------------------------------------------------------


def transition_hash(prev_hash: str, record: dict[str, Any]) -> str:
    """sha256 over the previous hash and the canonical JSON of this record."""
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def transition_record(row: CaseTransition) -> dict[str, Any]:
    return {
        "case": str(row.case_id),
        "sequence": row.sequence,
        "event": row.event,
        "from": row.from_status,
        "to": row.to_status,
        "actor": str(row.actor_user_id) if row.actor_user_id else None,
        "at": row.at.astimezone(dt.UTC).isoformat(),
        "payload": row.payload,
    }


@dataclass(frozen=True)
class ChainBreak:
    """The first transition whose hash does not match its content or its predecessor."""

    case_id: uuid.UUID
    sequence: int
    reason: str


def verify_case_chain(case: CertificationCase) -> ChainBreak | None:
    """Check a case's transition chain; None when every link holds."""
    prev = GENESIS_HASH
    for expected_sequence, row in enumerate(case.transitions, start=1):
        if row.sequence != expected_sequence:
            return ChainBreak(case.id, row.sequence, "sequence gap")
        if row.prev_hash != prev:
            return ChainBreak(case.id, row.sequence, "previous hash does not match")
        if transition_hash(prev, transition_record(row)) != row.hash:
            return ChainBreak(case.id, row.sequence, "content changed")
        prev = row.hash
    if case.transitions and case.transitions[-1].to_status != case.status.value:
        return ChainBreak(case.id, case.transitions[-1].sequence, "status differs from chain")
    return None


def verify_all_chains(session: Session) -> list[ChainBreak]:
    """Every broken chain, case by case."""
    breaks = []
    for case in session.scalars(select(CertificationCase).order_by(CertificationCase.opened_at)):
        found = verify_case_chain(case)
        if found is not None:
            breaks.append(found)
    return breaks


def canonical(value: Any) -> bytes:
    """The canonical JSON of ``value``: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev_hash: str, record: dict[str, Any]) -> str:
    """sha256 over the previous hash and the canonical JSON of this record."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(record)).hexdigest()


def case_chain(case_id: uuid.UUID) -> str:
    return f"case:{case_id}"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def event_record(row: AuditEvent) -> dict[str, Any]:
    """What an audit event's hash covers (details as they read back from the database)."""
    return {
        "sequence": row.sequence,
        "at": _iso(row.at),
        "actor": str(row.actor_user_id) if row.actor_user_id else None,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "organisation": str(row.organisation_id) if row.organisation_id else None,
        "details": json.loads(json.dumps(row.details or {})),
    }


def head_message(chain: str, length: int, head_hash: str, signed_at: dt.datetime) -> bytes:
    """The bytes a chain head's signature covers."""
    return canonical(
        {"chain": chain, "length": length, "head": head_hash, "signed_at": _iso(signed_at)}
    )


# --- signing ------------------------------------------------------------------------------------


class AuditSigner:
    """Signs with the active audit key, opened with the key passphrase (once per key)."""

    def __init__(self, passphrase: bytes) -> None:
        self._passphrase = passphrase
        self._opened: dict[str, ed25519.Ed25519PrivateKey] = {}

    def key(self, session: Session) -> SigningKey | None:
        return session.scalar(
            select(SigningKey)
            .where(
                SigningKey.purpose == KeyPurpose.AUDIT,
                SigningKey.retired_at.is_(None),
                SigningKey.compromised_at.is_(None),
            )
            .order_by(SigningKey.activated_at.desc())
            .limit(1)
        )

    def sign(self, session: Session, message: bytes) -> tuple[str, str] | None:
        """(kid, hex signature) with the active audit key; None while there is none."""
        key = self.key(session)
        if key is None:
            return None
        private = self._opened.get(key.kid)
        if private is None:
            loaded = load_private_key(key, self._passphrase)
            if not isinstance(loaded, ed25519.Ed25519PrivateKey):
                return None
            private = self._opened[key.kid] = loaded
        return key.kid, private.sign(message).hex()


def sign_head(
    session: Session, head: ChainHead, signer: AuditSigner | None, now: dt.datetime
) -> None:
    """Sign the head as it stands (unsigned when there is no signer or no audit key yet)."""
    signed = (
        signer.sign(session, head_message(head.chain, head.length, head.head_hash, now))
        if signer
        else None
    )
    head.kid, head.signature = signed if signed else (None, None)
    head.signed_at = now if signed else None


def signer_of(session: Session) -> AuditSigner | None:
    found = session.info.get(SIGNER)
    return found if isinstance(found, AuditSigner) else None


# --- appending (at commit) -----------------------------------------------------------------------


def _lock_head(session: Session, chain: str) -> ChainHead | None:
    """The head row of ``chain``, locked for this transaction (None if the chain has none)."""
    session.execute(
        update(ChainHead)
        .where(ChainHead.chain == chain)
        .values(length=ChainHead.length)
        .execution_options(synchronize_session=False)
    )
    return session.scalar(
        select(ChainHead)
        .where(ChainHead.chain == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _head(session: Session, chain: str) -> ChainHead:
    head = _lock_head(session, chain)
    if head is None:
        head = ChainHead(chain=chain, length=0, head_hash=GENESIS_HASH)
        session.add(head)
    return head


def seal_chains(session: Session) -> None:
    """Chain the session's new audit events and renew the heads it changed (before commit)."""
    touched: set[uuid.UUID] = session.info.pop(TOUCHED_CASES, set())
    pending: list[AuditEvent] = session.info.pop(PENDING_EVENTS, [])
    if not touched and not pending:
        return
    signer = signer_of(session)
    now = dt.datetime.now(dt.UTC)
    session.flush()
    for case_id in sorted(touched):
        last = session.scalar(
            select(CaseTransition)
            .where(CaseTransition.case_id == case_id)
            .order_by(CaseTransition.sequence.desc())
            .limit(1)
        )
        if last is None:
            continue
        head = _head(session, case_chain(case_id))
        head.length, head.head_hash = last.sequence, last.hash
        sign_head(session, head, signer, now)
    events = [row for row in pending if row in session and row.hash is None]
    if events:
        head = _head(session, AUDIT_CHAIN)  # the global lock: taken last, held until commit
        for row in events:
            row.sequence = head.length + 1
            row.prev_hash = head.head_hash
            row.hash = link_hash(row.prev_hash, event_record(row))
            head.length, head.head_hash = row.sequence, row.hash
        sign_head(session, head, signer, now)
    session.flush()


def sign_unsigned_heads(session: Session, signer: AuditSigner, now: dt.datetime) -> int:
    """Sign the heads written before an audit key existed, once their chain verifies; how many."""
    signed = 0
    for head in session.scalars(select(ChainHead).where(ChainHead.signature.is_(None))):
        if _chain_state(session, head.chain) != (head.length, head.head_hash):
            continue  # a chain that does not match its head is never blessed
        sign_head(session, head, signer, now)
        signed += head.signature is not None
    session.flush()
    return signed


# --- checkpoints ---------------------------------------------------------------------------------


def merkle_root(leaves: Iterable[bytes]) -> str:
    """RFC 6962-style root (leaf 0x00, node 0x01) over the leaves in order; empty: sha256('')."""
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def case_leaf(chain: str, length: int, head_hash: str) -> bytes:
    return canonical({"chain": chain, "length": length, "head": head_hash})


def _case_heads(session: Session) -> list[tuple[str, int, str]]:
    rows = session.execute(
        select(ChainHead.chain, ChainHead.length, ChainHead.head_hash)
        .where(ChainHead.chain.like("case:%"))
        .order_by(ChainHead.chain)
    )
    return [(chain, length, head) for chain, length, head in rows]


class NoAuditKey(Exception):
    """There is no active audit key: run ``keys init``."""


def create_checkpoint(
    session: Session, signer: AuditSigner, day: dt.date, now: dt.datetime
) -> tuple[AuditCheckpoint, bool]:
    """The day's signed checkpoint, made now if missing; (checkpoint, created)."""
    audit = _lock_head(session, AUDIT_CHAIN)  # first: no append can happen while we read
    existing = session.get(AuditCheckpoint, day)
    if existing is not None:
        return existing, False
    cases = _case_heads(session)
    body: dict[str, Any] = {
        "type": CHECKPOINT_FORMAT,
        "date": day.isoformat(),
        "created_at": _iso(now),
        "chains": {
            AUDIT_CHAIN: {
                "length": audit.length if audit else 0,
                "head": audit.head_hash if audit else GENESIS_HASH,
            }
        },
        "cases": {
            "chains": len(cases),
            "root": merkle_root(case_leaf(*row) for row in cases),
        },
    }
    signed = signer.sign(session, canonical(body))
    if signed is None:
        raise NoAuditKey("no active audit key")
    body["kid"], body["signature"] = signed
    checkpoint = AuditCheckpoint(
        day=day, created_at=now, document=json.dumps(body, indent=2, sort_keys=True)
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint, True


def checkpoint_body(document: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint's signature covers: the document without kid and signature."""
    return {k: v for k, v in document.items() if k not in ("kid", "signature")}


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.day.desc()).limit(1))


def checkpoint_days(session: Session) -> list[dt.date]:
    return list(session.scalars(select(AuditCheckpoint.day).order_by(AuditCheckpoint.day.desc())))


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something that does not hold: which chain, where, what."""

    chain: str
    position: int | None
    reason: str

    def __str__(self) -> str:
        where = f" at #{self.position}" if self.position is not None else ""
        return f"{self.chain}{where}: {self.reason}"


class _Keys:
    """The audit keys that are really ours: their private half opens with the passphrase."""

    def __init__(self, session: Session, passphrase: bytes) -> None:
        self.session = session
        self.passphrase = passphrase
        self.checked: dict[str, SigningKey | None] = {}

    def trusted(self, kid: str | None) -> tuple[SigningKey | None, str]:
        if kid is None:
            return None, "not signed"
        if kid not in self.checked:
            key = self.session.get(SigningKey, kid)
            if key is None or key.purpose != KeyPurpose.AUDIT:
                self.checked[kid] = None
            else:
                try:
                    private = serialization.load_pem_private_key(
                        key.private_key_pem.encode(), self.passphrase
                    )
                except (ValueError, TypeError):
                    private = None
                public = ed25519_public_key(key).public_bytes(
                    serialization.Encoding.Raw, serialization.PublicFormat.Raw
                )
                ours = isinstance(private, ed25519.Ed25519PrivateKey) and (
                    private.public_key().public_bytes(
                        serialization.Encoding.Raw, serialization.PublicFormat.Raw
                    )
                    == public
                )
                self.checked[kid] = key if ours else None
        key = self.checked[kid]
        if key is None:
            return None, f"signed with key {kid[:16]}, which is not an audit key of this service"
        return key, ""

    def check(self, kid: str | None, signature: str | None, message: bytes, at: dt.datetime) -> str:
        """'' when the signature is good, else why not."""
        key, why = self.trusted(kid)
        if key is None:
            return why
        if key.compromised_at is not None and at >= key.compromised_at:
            return f"signed with key {key.kid[:16]} after it was compromised"
        try:
            ed25519_public_key(key).verify(bytes.fromhex(signature or ""), message)
        except (InvalidSignature, ValueError):
            return f"the signature does not verify with key {key.kid[:16]}"
        return ""


def _chain_state(session: Session, chain: str) -> tuple[int, str]:
    """(length, last hash) of a chain as its rows stand."""
    if chain == AUDIT_CHAIN:
        row = session.execute(
            select(AuditEvent.sequence, AuditEvent.hash)
            .where(AuditEvent.sequence.is_not(None))
            .order_by(AuditEvent.sequence.desc())
            .limit(1)
        ).first()
    else:
        case_id = uuid.UUID(chain.removeprefix("case:"))
        row = session.execute(
            select(CaseTransition.sequence, CaseTransition.hash)
            .where(CaseTransition.case_id == case_id)
            .order_by(CaseTransition.sequence.desc())
            .limit(1)
        ).first()
    return (int(row[0] or 0), str(row[1])) if row else (0, GENESIS_HASH)


def _check_head(
    keys: _Keys, head: ChainHead | None, chain: str, length: int, last_hash: str
) -> Iterator[Problem]:
    if head is None:
        if length:
            yield Problem(chain, None, f"{length} entries but no signed head")
        return
    if head.length != length:
        yield Problem(
            chain,
            head.length,
            f"the signed head has {head.length} entries, the chain has {length}"
            + (" (entries were removed)" if length < head.length else ""),
        )
    elif head.head_hash != last_hash:
        yield Problem(chain, length, "the last entry differs from the signed head")
    if head.signed_at is None or head.signature is None:
        yield Problem(chain, None, "the head is not signed (run `keys init`)")
        return
    why = keys.check(
        head.kid,
        head.signature,
        head_message(chain, head.length, head.head_hash, head.signed_at),
        head.signed_at,
    )
    if why:
        yield Problem(chain, None, f"head: {why}")


def _verify_audit_chain(
    session: Session, keys: _Keys, hashes: dict[int, str], wanted: set[int]
) -> Iterator[Problem]:
    """Check the global chain; keep in ``hashes`` the hash at each ``wanted`` position (and
    the length under key -1)."""
    unchained = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.sequence.is_(None))
    )
    if unchained:
        yield Problem(AUDIT_CHAIN, None, f"{unchained} event(s) outside the chain")
    prev, expected = GENESIS_HASH, 1
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.sequence.is_not(None))
        .order_by(AuditEvent.sequence)
        .execution_options(yield_per=1000)
    )
    for row in rows:
        assert row.sequence is not None
        if row.sequence != expected:
            yield Problem(
                AUDIT_CHAIN, expected, f"event(s) #{expected}-#{row.sequence - 1} are missing"
            )
        if row.prev_hash != prev:
            yield Problem(AUDIT_CHAIN, row.sequence, "previous hash does not match")
        if link_hash(row.prev_hash or "", event_record(row)) != row.hash:
            yield Problem(AUDIT_CHAIN, row.sequence, f"content changed ({row.action})")
        if row.sequence in wanted:
            hashes[row.sequence] = row.hash or ""
        prev, expected = row.hash or "", row.sequence + 1
    hashes[-1] = str(expected - 1)
    yield from _check_head(
        keys, session.get(ChainHead, AUDIT_CHAIN), AUDIT_CHAIN, expected - 1, prev
    )


def _verify_case_chains(session: Session, keys: _Keys) -> Iterator[Problem]:
    heads = {
        h.chain: h for h in session.scalars(select(ChainHead).where(ChainHead.chain.like("case:%")))
    }
    seen: set[str] = set()
    for case in session.scalars(
        select(CertificationCase).order_by(CertificationCase.opened_at, CertificationCase.id)
    ):
        chain = case_chain(case.id)
        seen.add(chain)
        found = verify_case_chain(case)
        if found is not None:
            yield Problem(chain, found.sequence, found.reason)
        last = case.transitions[-1] if case.transitions else None
        yield from _check_head(
            keys,
            heads.get(chain),
            chain,
            last.sequence if last else 0,
            last.hash if last else GENESIS_HASH,
        )
    for chain in sorted(set(heads) - seen):
        yield Problem(
            chain, None, f"the case is gone, its signed head has {heads[chain].length} entries"
        )


def _verify_bindings(session: Session) -> Iterator[Problem]:
    """Every case transition recorded in the audit chain is still in its case's chain."""
    recorded = session.execute(
        select(AuditEvent.sequence, AuditEvent.entity_id, AuditEvent.details)
        .where(AuditEvent.entity_type == "case", AuditEvent.action.like("case.%"))
        .order_by(AuditEvent.sequence)
        .execution_options(yield_per=1000)
    )
    for sequence, case_id, details in recorded:
        link = (details or {}).get("chain")
        if not isinstance(link, dict):
            continue
        try:
            found = session.scalar(
                select(CaseTransition.hash).where(
                    CaseTransition.case_id == uuid.UUID(case_id),
                    CaseTransition.sequence == link.get("sequence"),
                )
            )
        except ValueError:
            yield Problem(AUDIT_CHAIN, sequence, f"event names no case ({case_id!r})")
            continue
        if found != link.get("hash"):
            yield Problem(
                f"case:{case_id}",
                link.get("sequence"),
                f"audit event #{sequence} records this transition, "
                + ("which is missing" if found is None else "which has changed"),
            )


def verify_checkpoint(
    keys: _Keys, document: dict[str, Any], hashes: dict[int, str], name: str
) -> Iterator[Problem]:
    """The checkpoint is signed by our audit key and the audit chain extends it."""
    chain = f"checkpoint {name}"
    try:
        created = dt.datetime.fromisoformat(str(document["created_at"]))
        state = document["chains"][AUDIT_CHAIN]
        length, head = int(state["length"]), str(state["head"])
    except (KeyError, TypeError, ValueError):
        yield Problem(chain, None, "not a checkpoint of this service")
        return
    why = keys.check(
        document.get("kid"),
        str(document.get("signature") or ""),
        canonical(checkpoint_body(document)),
        created,
    )
    if why:
        yield Problem(chain, None, why)
        return
    current = int(hashes.get(-1, "0"))
    if length > current:
        yield Problem(
            AUDIT_CHAIN,
            length,
            f"the checkpoint of {document.get('date')} has {length} events, the chain {current}"
            " (events were removed)",
        )
    elif hashes.get(length, GENESIS_HASH) != head:
        yield Problem(
            AUDIT_CHAIN,
            length,
            f"event #{length} differs from the checkpoint of {document.get('date')}"
            " (the history before it was rewritten)",
        )


def verify_history(
    session: Session, passphrase: bytes, checkpoints: Iterable[tuple[str, dict[str, Any]]] = ()
) -> list[Problem]:
    """Every problem of every chain, of their signed heads and against the checkpoints given
    (by default the latest one stored)."""
    keys = _Keys(session, passphrase)
    given = list(checkpoints)
    if not given:
        stored = latest_checkpoint(session)
        if stored is not None:
            given = [(f"{stored.day.isoformat()} (stored)", json.loads(stored.document))]
    wanted = set()
    for _name, document in given:
        try:
            wanted.add(int(document["chains"][AUDIT_CHAIN]["length"]))
        except (KeyError, TypeError, ValueError):
            continue
    hashes: dict[int, str] = {}
    problems = list(_verify_audit_chain(session, keys, hashes, wanted))
    problems += _verify_case_chains(session, keys)
    problems += _verify_bindings(session)
    for name, document in given:
        found = list(verify_checkpoint(keys, document, hashes, name))
        problems += found or _verify_checkpoint_cases(session, document, name)
    return problems


def _case_states_at(session: Session, length: int) -> list[tuple[str, int, str]]:
    """Each case chain's (name, length, head) when the audit chain had ``length`` events: every
    transition since chains were signed is recorded in the audit chain, so a case's length then
    is the last one recorded up to there (or, for a chain that grew only later, the length
    before its first recorded transition; a chain never recorded has not changed)."""
    upto: dict[str, int] = {}
    first: dict[str, int] = {}
    recorded = session.execute(
        select(AuditEvent.sequence, AuditEvent.entity_id, AuditEvent.details)
        .where(AuditEvent.entity_type == "case", AuditEvent.action.like("case.%"))
        .execution_options(yield_per=1000)
    )
    for sequence, case_id, details in recorded:
        link = (details or {}).get("chain")
        if not isinstance(link, dict) or not isinstance(link.get("sequence"), int):
            continue
        chain = f"case:{case_id}"
        first[chain] = min(first.get(chain, link["sequence"]), link["sequence"])
        if sequence is not None and sequence <= length:
            upto[chain] = max(upto.get(chain, 0), link["sequence"])
    states = []
    rows = session.execute(
        select(CaseTransition.case_id, CaseTransition.sequence, CaseTransition.hash).order_by(
            CaseTransition.case_id, CaseTransition.sequence
        )
    )
    hashes: dict[str, dict[int, str]] = {}
    for case_id, sequence, digest in rows:
        hashes.setdefault(case_chain(case_id), {})[sequence] = digest
    for chain in sorted(hashes):
        chain_hashes = hashes[chain]
        then = upto.get(chain, first[chain] - 1 if chain in first else max(chain_hashes))
        if then > 0:
            states.append((chain, then, chain_hashes.get(then, GENESIS_HASH)))
    return states


def _verify_checkpoint_cases(
    session: Session, document: dict[str, Any], name: str
) -> list[Problem]:
    """The case chains, as they stood at the checkpoint, give its root."""
    try:
        length = int(document["chains"][AUDIT_CHAIN]["length"])
        expected = (int(document["cases"]["chains"]), str(document["cases"]["root"]))
    except (KeyError, TypeError, ValueError):
        return [Problem(f"checkpoint {name}", None, "not a checkpoint of this service")]
    states = _case_states_at(session, length)
    found = (len(states), merkle_root(case_leaf(*state) for state in states))
    if found == expected:
        return []
    return [
        Problem(
            "case chains",
            None,
            f"as of the checkpoint of {document.get('date')} they were {expected[0]} with root "
            f"{expected[1][:16]}; the history now gives {found[0]} with root {found[1][:16]}"
            " (a case's history was rewritten or removed)",
        )
    ]

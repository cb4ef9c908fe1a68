"""Passkeys (WebAuthn) as a second factor for logging in and for sensitive acts (security.md §3.1).

The ceremonies are checked by ``webauthn`` (py_webauthn), a maintained library: the CBOR
attestation object, COSE keys, the client data and the signature have details a home-made
version gets subtly wrong. Around it this module keeps what the library does not:

- the challenge of each ceremony on the server (a row, not the cookie), used once and refused
  after :data:`CHALLENGE_LIFETIME`, bound to the account and to what it is for;
- the relying party (id and origin) from the instance's base URL, never from the request;
- the signature counter: a counter that does not grow, on an authenticator that keeps one, is a
  sign of a cloned authenticator; the use is refused and ``second_factor.passkey_counter_regressed``
  goes to the audit (security) log;
- the rule that an account whose role requires a second factor keeps at least one.

User verification (a PIN or a fingerprint on the authenticator) is preferred, not required:
the passkey is the second factor after the password.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlsplit

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import InvalidInput, LastSecondFactor, NotFound
from certification.models import PasskeyChallenge, PasskeyCredential, UserAccount
from certification.people import second_factor as SF

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

#: How long the browser has between asking for options and answering with the authenticator.
CHALLENGE_LIFETIME: Final = dt.timedelta(minutes=5)
TIMEOUT_MS: Final = 120_000
NAME_LENGTH: Final = 80
#: A credential JSON larger than this is not from an authenticator.
MAX_RESPONSE_BYTES: Final = 64 * 1024

Purpose = Literal["register", "login", "step_up"]


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the host name (rp id) and the origin of the instance."""

    id: str
    name: str
    origin: str


def relying_party(base_url: str, name: str = SF.ISSUER_NAME) -> RelyingParty:
    """The relying party of an instance served at ``base_url`` (ATTESTA_BASE_URL)."""
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"the base URL {base_url!r} has no host for passkeys")
    return RelyingParty(id=parts.hostname, name=name, origin=f"{parts.scheme}://{parts.netloc}")


def browsers_accept(rp: RelyingParty) -> bool:
    """Whether browsers take this relying party: WebAuthn refuses an IP address as rp id, so
    an instance reached as ``http://127.0.0.1:5000`` offers no passkeys (``localhost`` works)."""
    try:
        ipaddress.ip_address(rp.id)
    except ValueError:
        return True
    return False


def passkeys_of(session: Session, account: UserAccount) -> list[PasskeyCredential]:
    return list(
        session.scalars(
            select(PasskeyCredential)
            .where(PasskeyCredential.user_id == account.id)
            .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
        )
    )


def has_passkey(session: Session, account: UserAccount) -> bool:
    return (
        session.scalar(select(PasskeyCredential.id).where(PasskeyCredential.user_id == account.id))
        is not None
    )


# --- challenges ---------------------------------------------------------------------------------


def _new_challenge(
    session: Session, account: UserAccount, purpose: Purpose, now: dt.datetime
) -> PasskeyChallenge:
    """A fresh challenge; earlier ones of the account for the same purpose, and expired ones,
    are dropped (one ceremony at a time)."""
    session.execute(
        delete(PasskeyChallenge).where(
            PasskeyChallenge.user_id == account.id,
            or_(PasskeyChallenge.purpose == purpose, PasskeyChallenge.expires_at < now),
        )
    )
    row = PasskeyChallenge(
        user_id=account.id,
        purpose=purpose,
        challenge=secrets.token_bytes(32),
        expires_at=now + CHALLENGE_LIFETIME,
    )
    session.add(row)
    session.flush()
    return row


def _take_challenge(
    session: Session,
    account: UserAccount,
    challenge_id: uuid.UUID | None,
    purpose: Purpose,
    now: dt.datetime,
) -> bytes | None:
    """The challenge, used up now; None if unknown, someone else's, for another act or late."""
    row = session.get(PasskeyChallenge, challenge_id) if challenge_id else None
    if row is None or row.user_id != account.id or row.purpose != purpose:
        return None
    session.delete(row)
    session.flush()
    return row.challenge if row.expires_at >= now else None


def _descriptors(session: Session, account: UserAccount) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers.structs import (  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        AuthenticatorTransport,
        PublicKeyCredentialDescriptor,
    )

    return [
        PublicKeyCredentialDescriptor(
            id=p.credential_id,
            transports=[AuthenticatorTransport(t) for t in p.transports if _known_transport(t)],
        )
        for p in passkeys_of(session, account)
    ]


def _known_transport(name: str) -> bool:
    from webauthn.helpers.structs import AuthenticatorTransport  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    return name in {t.value for t in AuthenticatorTransport}


# --- registration -------------------------------------------------------------------------------


def registration_options(
    session: Session, account: UserAccount, rp: RelyingParty, now: dt.datetime
) -> tuple[uuid.UUID, str]:
    """Options for ``navigator.credentials.create()`` (JSON) and the id of their challenge."""
    from webauthn import generate_registration_options, options_to_json  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from webauthn.helpers.structs import (  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    row = _new_challenge(session, account, "register", now)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=account.id.bytes,  # not the e-mail: the authenticator may show the handle
        user_name=account.email,
        user_display_name=account.person.full_name,
        challenge=row.challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(session, account),
    )
    return row.id, options_to_json(options)


def _parse(response: str) -> dict[str, object]:
    if len(response) > MAX_RESPONSE_BYTES:
        raise ValueError("too large")
    data = json.loads(response)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def register_passkey(
    session: Session,
    account: UserAccount,
    rp: RelyingParty,
    challenge_id: uuid.UUID | None,
    response: str,
    name: str,
    now: dt.datetime,
) -> PasskeyCredential:
    """Check the authenticator's answer to :func:`registration_options` and keep the passkey.

    Raises :class:`InvalidInput` (``errors["passkey"]``) when the answer is not valid: a wrong,
    used or late challenge, another origin or relying party, a malformed answer, a credential
    already registered.
    """
    from webauthn import verify_registration_response  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from webauthn.helpers.exceptions import (  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        InvalidJSONStructure,
        InvalidRegistrationResponse,
    )

    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH:
        raise InvalidInput("passkey name", errors={"name": ["passkey_name"]})
    challenge = _take_challenge(session, account, challenge_id, "register", now)
    if challenge is None:
        raise InvalidInput("no valid challenge", errors={"passkey": ["passkey_expired"]})
    try:
        data = _parse(response)
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (ValueError, KeyError, TypeError, InvalidRegistrationResponse, InvalidJSONStructure):
        raise InvalidInput(
            "passkey not verified", errors={"passkey": ["passkey_invalid"]}
        ) from None
    taken = session.scalar(
        select(PasskeyCredential.id).where(
            PasskeyCredential.credential_id == verified.credential_id
        )
    )
    if taken is not None:
        raise InvalidInput("passkey already registered", errors={"passkey": ["passkey_invalid"]})
    inner = data.get("response")
    transports = inner.get("transports") if isinstance(inner, dict) else None
    passkey = PasskeyCredential(
        user_id=account.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name,
        transports=[t for t in transports if isinstance(t, str) and _known_transport(t)]
        if isinstance(transports, list)
        else [],
        created_at=now,
    )
    session.add(passkey)
    session.flush()
    record_event(
        session,
        account,
        "second_factor.enrolled",
        "user_account",
        account.id,
        now,
        method="passkey",
        passkey=str(passkey.id),
    )
    return passkey


# --- authentication -----------------------------------------------------------------------------


def authentication_options(
    session: Session, account: UserAccount, rp: RelyingParty, purpose: Purpose, now: dt.datetime
) -> tuple[uuid.UUID, str]:
    """Options for ``navigator.credentials.get()`` (JSON), limited to the account's passkeys."""
    from webauthn import generate_authentication_options, options_to_json  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from webauthn.helpers.structs import UserVerificationRequirement  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    if purpose == "register":
        raise ValueError("not an authentication purpose")
    row = _new_challenge(session, account, purpose, now)
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=row.challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(session, account),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return row.id, options_to_json(options)


def verify_passkey(
    session: Session,
    account: UserAccount,
    rp: RelyingParty,
    challenge_id: uuid.UUID | None,
    response: str,
    now: dt.datetime,
    purpose: SF.Purpose = "login",
) -> bool:
    """Check an assertion of one of the account's passkeys; True if it passes.

    A failure counts towards the second factor's back-off (:class:`SF.SecondFactorThrottled`
    is raised, without looking, while blocked) and is recorded: the caller commits either way.
    """
    SF.check_throttle(session, account, now)
    passkey = _verified(session, account, rp, challenge_id, response, now, purpose)
    if passkey is None:
        SF.failed(session, account, "passkey", purpose, now)
        return False
    passkey.last_used_at = now
    SF.succeeded(session, account, "passkey", purpose, now)
    return True


def _verified(
    session: Session,
    account: UserAccount,
    rp: RelyingParty,
    challenge_id: uuid.UUID | None,
    response: str,
    now: dt.datetime,
    purpose: SF.Purpose,
) -> PasskeyCredential | None:
    from webauthn import base64url_to_bytes, verify_authentication_response  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from webauthn.helpers.exceptions import (  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        InvalidAuthenticationResponse,
        InvalidJSONStructure,
    )

    challenge = _take_challenge(session, account, challenge_id, purpose, now)
    if challenge is None:
        return None
    try:
        data = _parse(response)
        raw_id = data.get("rawId")
        if not isinstance(raw_id, str):
            return None
        credential_id = base64url_to_bytes(raw_id)
    except ValueError:
        return None
    # Only the account's own passkeys: another person's credential is refused like a wrong one.
    passkey = session.scalar(
        select(PasskeyCredential).where(
            PasskeyCredential.user_id == account.id,
            PasskeyCredential.credential_id == credential_id,
        )
    )
    if passkey is None:
        return None
    try:
        # The counter is checked below, after the signature: a regression with a valid
        # signature is the sign of a clone, worth its own audit event.
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
        )
    except (ValueError, KeyError, TypeError, InvalidAuthenticationResponse, InvalidJSONStructure):
        return None
    new, stored = verified.new_sign_count, passkey.sign_count
    if (new > 0 or stored > 0) and new <= stored:
        record_event(
            session,
            account,
            "second_factor.passkey_counter_regressed",
            "user_account",
            account.id,
            now,
            passkey=str(passkey.id),
            stored=stored,
            received=new,
        )
        return None
    passkey.sign_count = new
    return passkey


# --- removal ------------------------------------------------------------------------------------


def remove_passkey(
    session: Session,
    account: UserAccount,
    passkey_id: uuid.UUID,
    required: bool,
    now: dt.datetime,
) -> PasskeyCredential:
    """Remove one of the account's passkeys. ``required``: the account's role needs a second
    factor, so its last one (no other passkey, no authenticator app) stays."""
    passkey = session.get(PasskeyCredential, passkey_id)
    if passkey is None or passkey.user_id != account.id:
        raise NotFound("no such passkey")
    others = [p for p in passkeys_of(session, account) if p.id != passkey.id]
    totp = SF.totp_of(session, account)
    if required and not others and (totp is None or totp.confirmed_at is None):
        raise LastSecondFactor("the last second factor of a role that requires one")
    session.delete(passkey)
    session.flush()
    SF.drop_orphan_recovery_codes(session, account)
    record_event(
        session,
        account,
        "second_factor.removed",
        "user_account",
        account.id,
        now,
        method="passkey",
        passkey=str(passkey.id),
    )
    session.flush()
    return passkey

"""Privacy notices (informativa, art. 13 GDPR): one numbered series per ente, and the platform's
own for sign-up. A published version is kept as written: changing the text means publishing a
new version, and each consent names the version it was given under (Consent.privacy_notice_id),
so publishing never changes what earlier consents were given under."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import Conflict, InvalidInput, NotFound, NotPermitted
from certification.models import PLATFORM_SCOPE, Organisation, PrivacyNotice, UserAccount
from certification.policy import can_publish_privacy_notice

MAX_BODY = 100_000
LANGUAGES = ("it", "en")


class NoticeImmutable(Conflict):
    """A published notice is never edited: publish a new version instead."""

    code = "notice_immutable"


def scope_of(organisation: Organisation | None) -> str:
    """The numbering a notice belongs to: the ente's, or the platform's."""
    return PLATFORM_SCOPE if organisation is None else str(organisation.id)


def current_notice(session: Session, organisation: Organisation | None) -> PrivacyNotice | None:
    """The latest published version of the ente's (or, with None, the platform's) notice."""
    return session.scalar(
        select(PrivacyNotice)
        .where(PrivacyNotice.scope == scope_of(organisation))
        .order_by(PrivacyNotice.version.desc())
        .limit(1)
    )


def notice_version(
    session: Session, organisation: Organisation | None, version: int
) -> PrivacyNotice:
    """One version, current or old; :class:`NotFound` if it was never published."""
    notice = session.scalar(
        select(PrivacyNotice).where(
            PrivacyNotice.scope == scope_of(organisation), PrivacyNotice.version == version
        )
    )
    if notice is None:
        raise NotFound("no such version of the privacy notice")
    return notice


def notice_versions(session: Session, organisation: Organisation | None) -> list[PrivacyNotice]:
    """Every published version, newest first."""
    return list(
        session.scalars(
            select(PrivacyNotice)
            .where(PrivacyNotice.scope == scope_of(organisation))
            .order_by(PrivacyNotice.version.desc())
        )
    )


def organisation_by_code(session: Session, code: str) -> Organisation:
    """The organisation whose short code (as in /privacy/CML) this is, case aside."""
    code = code.strip().upper()
    organisation = (
        session.scalar(select(Organisation).where(func.upper(Organisation.code) == code))
        if 0 < len(code) <= 12
        else None
    )
    if organisation is None:
        raise NotFound("no such organisation")
    return organisation


def publish_notice(
    session: Session,
    actor: UserAccount | None,
    organisation: Organisation | None,
    *,
    title: str,
    body: str,
    language: str,
    now: dt.datetime,
) -> PrivacyNotice:
    """Publish the next version of a notice. An ente's is published by one of its
    administrators; the platform's (``organisation`` None) by the operator at the command line
    (``actor`` None)."""
    if organisation is not None and (
        actor is None or not can_publish_privacy_notice(actor, organisation)
    ):
        raise NotPermitted("only an administrator of the ente publishes its privacy notice")
    errors: dict[str, list[str]] = {}
    title, body = title.strip(), body.strip()
    if not title:
        errors["title"] = ["required"]
    elif len(title) > 200:
        errors["title"] = ["too_long"]
    if not body:
        errors["body"] = ["required"]
    elif len(body) > MAX_BODY:
        errors["body"] = ["too_long"]
    if language not in LANGUAGES:
        errors["language"] = ["unsupported"]
    if errors:
        raise InvalidInput("privacy notice", errors=errors)
    scope = scope_of(organisation)
    latest = session.scalar(
        select(func.max(PrivacyNotice.version)).where(PrivacyNotice.scope == scope)
    )
    notice = PrivacyNotice(
        organisation_id=organisation.id if organisation else None,
        scope=scope,
        version=(latest or 0) + 1,
        title=title,
        body=body + "\n",
        language=language,
        published_at=now,
        published_by_id=actor.id if actor else None,
    )
    session.add(notice)
    session.flush()
    record_event(
        session,
        actor,
        "privacy_notice.published",
        "privacy_notice",
        notice.id,
        now,
        organisation_id=notice.organisation_id,
        version=notice.version,
    )
    return notice


@event.listens_for(PrivacyNotice, "before_update")
def _refuse_edits(_mapper: Any, _connection: Any, target: PrivacyNotice) -> None:
    # What a consent was given under must stay readable as it was.
    raise NoticeImmutable(f"privacy notice {target.scope} v{target.version} is published")

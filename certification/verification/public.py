"""What the public check shows of a certificate, and the holder's choices behind it
(security.md §3.11): the minimum to anyone (initials, number, ente, profile, competences as
signed, status), the full name and the learning context with the evidence only with the
holder's consent. Everything shown comes from the register, never from a checked file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.certificates.content import Competence, Criterion
from certification.certificates.coverage import Coverage
from certification.certificates.lifecycle import PUBLIC_STATES, certificate_coverage
from certification.errors import NotPermitted
from certification.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    Consent,
    ConsentPurpose,
    UserAccount,
)
from certification.numbering.codes import format_code
from certification.people.privacy import current_notice

#: The personal-data choices a holder makes for the public check.
PUBLIC_CONSENTS: Final = (ConsentPurpose.PUBLIC_VERIFICATION_PAGE, ConsentPurpose.PUBLIC_EVIDENCE)


def live_consents(person: Any, case: Any) -> tuple[Any, ...]:
    """Conditions on Consent: given by ``person`` for ``case`` (values or columns), not
    withdrawn."""
    return (Consent.person_id == person, Consent.case_id == case, Consent.withdrawn_at.is_(None))


def public_consents(session: Session, certificate: Certificate) -> set[ConsentPurpose]:
    """The holder's current choices for the public check of this certificate."""
    return set(
        session.scalars(
            select(Consent.purpose).where(
                *live_consents(certificate.holder_person_id, certificate.case_id),
                Consent.purpose.in_(PUBLIC_CONSENTS),
            )
        )
    )


def set_public_consents(
    session: Session,
    actor: UserAccount,
    certificate: Certificate,
    *,
    show_name: bool,
    show_evidence: bool,
    text_version: str,
    now: dt.datetime,
) -> set[ConsentPurpose]:
    """The holder (only) chooses what the public check shows beyond the minimum: the full name
    (otherwise initials) and the learning context with the evidence list."""
    if actor.person_id != certificate.holder_person_id:
        raise NotPermitted("only the holder chooses what the public check shows")
    wanted = {
        purpose
        for purpose, chosen in zip(PUBLIC_CONSENTS, (show_name, show_evidence), strict=True)
        if chosen
    }
    current = session.scalars(
        select(Consent).where(
            *live_consents(certificate.holder_person_id, certificate.case_id),
            Consent.purpose.in_(PUBLIC_CONSENTS),
        )
    ).all()
    for consent in current:
        if consent.purpose not in wanted:
            consent.withdrawn_at = now
    notice = current_notice(session, certificate.organisation)
    for purpose in wanted - {c.purpose for c in current}:
        session.add(
            Consent(
                person_id=certificate.holder_person_id,
                case_id=certificate.case_id,
                purpose=purpose,
                text_version=text_version,
                granted_at=now,
                privacy_notice_id=notice.id if notice else None,
            )
        )
    session.flush()
    return wanted


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _initials(*names: str) -> str:
    return " ".join(f"{part[0]}." for name in names for part in name.split() if part)


def _level_label(criterion: Criterion, code: str | None) -> dict[str, str | None] | None:
    level = next((lvl for lvl in criterion["levels"] if lvl["code"] == code), None)
    return {"it": level["label_it"], "en": level.get("label_en")} if level else None


def _public_competence(competence: Competence) -> dict[str, Any]:
    """A certified competence as the verifier sees it, from the certificate's frozen content
    (never today's catalogue): what it means (abilità, conoscenze), each criterion and the level
    reached on it."""
    criteria = competence["criteria"]
    return {
        "code": competence["code"],
        "title_it": competence["title_it"],
        "title_en": competence.get("title_en"),
        "eqf_level": competence["eqf_level"],
        "abilita": list(competence["abilita"]),
        "conoscenze": list(competence["conoscenze"]),
        "achieved_level": _level_label(criteria[0], competence.get("achieved_level"))
        if criteria
        else None,
        "criteria": [
            {
                "code": c["code"],
                "text_it": c["text_it"],
                "text_en": c.get("text_en"),
                "level": _level_label(c, c.get("level")),
            }
            for c in criteria
        ],
    }


def public_view(
    session: Session,
    certificate: Certificate,
    consents: frozenset[ConsentPurpose] | set[ConsentPurpose] | None = None,
) -> dict[str, Any]:
    """What a verifier may see of a certificate (security.md §3.11): holder name, number and
    date, ente titolato and titolare, profile and competences with codes and EQF levels,
    assessment methods, status with its date. Never the codice fiscale, birth date, e-mail,
    assessors, or why a certificate was revoked. The full name needs the holder's consent
    (initials otherwise), and so do the learning context and the evidence list: ``consents``
    when the caller read them already (a verification does), else read now."""
    if consents is None:
        consents = public_consents(session, certificate)
    successor = (
        session.get(Certificate, certificate.superseded_by_id)
        if certificate.superseded_by_id
        else None
    )
    c = certificate
    facts = PublicFacts(
        *(c.number, c.verification_code, c.issued_at, c.locale, c.kind, c.status),
        *(c.status_changed_at, c.content, certificate_coverage(c)),
        successor.verification_code
        if successor is not None and successor.status in PUBLIC_STATES
        else None,
    )
    return shown(facts, consents)


class PublicFacts(NamedTuple):
    """What :func:`shown` reads of a certificate (from an ORM row or from plain columns)."""

    number: str
    verification_code: str
    issued_at: dt.datetime
    locale: str
    kind: CertificateKind
    status: CertificateStatus
    status_changed_at: dt.datetime | None
    content: Any
    coverage: Coverage
    #: The public successor's code (a correction), unformatted; None without one.
    superseded_by: str | None


def _competence_summary(competence: Competence) -> dict[str, Any]:
    """A certified competence as the API's answer gives it: code, titles and EQF level."""
    return {
        "code": competence["code"],
        "title_it": competence["title_it"],
        "title_en": competence.get("title_en"),
        "eqf_level": competence["eqf_level"],
    }


def shown(
    certificate: PublicFacts,
    consents: frozenset[ConsentPurpose] | set[ConsentPurpose],
    *,
    details: bool = True,
) -> dict[str, Any]:
    """:func:`public_view` of the facts read already; without ``details``, each competence is
    only its code, titles and EQF level (the API's answer shows no more of it)."""
    content = certificate.content
    holder = content["holder"]
    titolare = content.get("titolare")
    show_name = ConsentPurpose.PUBLIC_VERIFICATION_PAGE in consents
    view: dict[str, Any] = {
        "number": certificate.number,
        "code": format_code(certificate.verification_code),
        "issued_on": certificate.issued_at.date(),
        "locale": certificate.locale,
        "kind": certificate.kind.value,
        "illustrative": bool(content.get("illustrative")),
        "holder": {
            "name": f"{holder['given_name']} {holder['family_name']}"
            if show_name
            else _initials(holder["given_name"], holder["family_name"]),
            "full_name_shown": show_name,
        },
        "ente_titolato": content["ente"]["legal_name"],
        # The regional accreditation the ente holds, as signed.
        "accreditation": {
            "number": content["ente"].get("accreditation_number"),
            "register": content["ente"].get("accreditation_register"),
        },
        "ente_titolare": titolare["legal_name"] if titolare else None,
        # Content frozen without an English text gives None: pages show the Italian.
        "standard": {
            key: content["standard"].get(key)
            for key in (
                "framework_title_it",
                "framework_title_en",
                "profile_code",
                "profile_title_it",
                "profile_title_en",
                "eqf_level",
            )
        },
        "competences": [
            (_public_competence if details else _competence_summary)(c)
            for c in content["competences"]  # as signed; CertificateCompetence rows copy it
        ],
        "framework_code": content["standard"]["framework_code"],
        "framework_version": content["standard"]["framework_version"],
        # A certificate of single competences says so, and which of the profile's it lacks.
        "coverage": certificate.coverage,
        "assessment_methods": list(content["assessment"]["methods"]),
        "status": certificate.status.value,
        "status_changed_on": certificate.status_changed_at.date()
        if certificate.status_changed_at and certificate.status != CertificateStatus.ISSUED
        else None,
        "superseded_by": format_code(certificate.superseded_by)
        if certificate.superseded_by
        else None,
        # Salted evidence commitments (certification.certificates.commitments): the holder can
        # reveal a file.
        "evidence_revealable": content.get("evidence_format", 1) >= 2,
        # The profile's badge as the credential carries it (none before badges): image, caption.
        "badge": content.get("badge"),
    }
    if ConsentPurpose.PUBLIC_EVIDENCE in consents:
        view["learning"] = {
            "contexts": list(content["learning"]["contexts"]),
            "experiences": [
                {**x, "start": _date(x["start"]), "end": _date(x["end"])}
                for x in content["learning"]["experiences"]
            ],
        }
        view["evidence"] = [{**e, "date": _date(e["date"])} for e in content["evidence"]]
    return view

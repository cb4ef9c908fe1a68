"""Documents of a case, rendered once and stored: the Documento di trasparenza first.

The PDF is made from a plain snapshot of the data (kept with the document), stored in the
blob storage by its sha256, and never rendered again: downloads serve the stored bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from certification.cases.assessment import current_outcomes, current_ratings, snapshot_competences
from certification.cases.panels import current_session
from certification.cases.states import CaseEvent
from certification.cases.workflow import apply_transition, linked_evidence_for_case
from certification.clock import local_text
from certification.errors import InvalidInput
from certification.models import (
    CertificationCase,
    Document,
    DocumentKind,
    Evidence,
    Experience,
    UserAccount,
)
from certification.numbering.counters import next_number
from certification.portfolio.operations import evidence_digest, store_file
from certification.rendering import DocumentRenderer
from certification.storage.blobs import BlobStorage
from certification.vocabulary import (
    ASSESSMENT_METHODS,
    EVIDENCE_TYPES,
    EXPERIENCE_KINDS,
    LEARNING_CONTEXTS,
    OUTCOMES,
    PANEL_FUNCTIONS,
    text,
)


def _tr(obj: Any, field: str, locale: str) -> str:
    return str(getattr(obj, f"{field}_{locale}", None) or getattr(obj, f"{field}_it"))


def _period(experience: Experience, locale: str) -> str:
    start = experience.start_date.strftime("%m/%Y")
    if experience.end_date is None:
        return f"{start} – " + ("in corso" if locale == "it" else "ongoing")
    return f"{start} – {experience.end_date.strftime('%m/%Y')}"


def _evidence_detail(evidence: Evidence, locale: str) -> str:
    if evidence.url:
        return evidence.url
    if evidence.type.value == "testimonianza_terzi":
        confirmed = evidence.referee_confirmed_at is not None
        status = {
            ("it", True): "confermata dal referente",
            ("it", False): "non ancora confermata",
            ("en", True): "confirmed by the referee",
            ("en", False): "not yet confirmed",
        }
        return f"{evidence.referee_name} — {status[(locale, confirmed)]}"
    return evidence.file_name or ""


def _holder(case: CertificationCase) -> dict[str, Any]:
    person = case.candidate
    return {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "codice_fiscale": person.codice_fiscale,
        "birth_date": local_text(person.birth_date, style="numeric") or None,
        "birth_place": person.birth_place,
    }


def _ente(case: CertificationCase) -> dict[str, Any]:
    ente = case.ente_titolato
    return {
        "legal_name": ente.legal_name,
        "short_name": ente.short_name,
        "tax_code": ente.tax_code,
        "accreditation_number": ente.accreditation_number,
        "address": ente.address,
    }


def transparency_content(
    session: Session,
    case: CertificationCase,
    tutor: UserAccount,
    number: str,
    now: dt.datetime,
    locale: str,
) -> dict[str, Any]:
    """The data printed in the Documento di trasparenza (domain.md §3.5, §8)."""
    linked = linked_evidence_for_case(session, case)
    evidence: list[Evidence] = []
    for items in linked.values():
        for item in items:
            if item not in evidence:
                evidence.append(item)
    evidence.sort(key=lambda e: (e.experience.start_date, e.created_at))
    refs = {e.id: f"E{i}" for i, e in enumerate(evidence, start=1)}
    experiences: list[Experience] = []
    for item in evidence:
        if item.experience not in experiences:
            experiences.append(item.experience)
    profile = case.target_profile
    framework = profile.framework
    ente = case.ente_titolato
    return {
        "number": number,
        "issued_on": local_text(now, style="numeric", with_time=False),
        "place": ente.city,
        "protocol_number": case.protocol_number,
        "illustrative": framework.illustrative,
        "holder": _holder(case),
        "ente": _ente(case),
        "titolare": case.ente_titolato.accredited_by.legal_name
        if case.ente_titolato.accredited_by
        else None,
        "standard": {
            "framework_title": _tr(framework, "title", locale),
            "framework_version": framework.version,
            "legal_reference": _tr(framework, "legal_reference", locale),
            "profile_code": profile.code,
            "profile_title": _tr(profile, "title", locale),
            "eqf_level": profile.eqf_level,
        },
        "competences": [
            {
                "code": cc.competence.code,
                "title": _tr(cc.competence, "title", locale),
                "eqf_level": cc.competence.eqf_level,
                "ada_codes": cc.competence.ada_codes,
                "evidence_refs": [refs[e.id] for e in linked[cc.competence_id]],
            }
            for cc in case.competences
        ],
        "experiences": [
            {
                "role_title": x.role_title,
                "host": x.host_display,
                "kind": EXPERIENCE_KINDS[x.kind].in_language(locale),
                "learning_context": LEARNING_CONTEXTS[x.learning_context].in_language(locale),
                "period": _period(x, locale),
                "hours": x.hours_estimate,
                "description": x.description,
                "referee": x.referee_name,
            }
            for x in experiences
        ],
        "evidence": [
            {
                "ref": refs[e.id],
                "title": e.title,
                "type": EVIDENCE_TYPES[e.type].in_language(locale),
                "date": local_text(e.issued_on or e.created_at, style="numeric", with_time=False),
                "sha256": evidence_digest(e),
                "detail": _evidence_detail(e, locale),
            }
            for e in evidence
        ],
        "tutor_name": tutor.person.full_name,
    }


def _store_document(
    session: Session,
    storage: BlobStorage,
    renderer: DocumentRenderer,
    actor: UserAccount,
    case: CertificationCase,
    kind: DocumentKind,
    template: str,
    content: dict[str, Any],
    now: dt.datetime,
    locale: str,
) -> Document:
    pdf = renderer.render_pdf(template, content, locale)
    sha256 = store_file(session, storage, pdf, "application/pdf", now)
    document = Document(
        case_id=case.id,
        kind=kind,
        number=content["number"],
        locale=locale,
        content=content,
        pdf_sha256=sha256,
        issued_at=now,
        issued_by_id=actor.id,
    )
    case.documents.append(document)
    session.flush()
    return document


def _number(session: Session, case: CertificationCase, prefix: str, now: dt.datetime) -> str:
    code = case.ente_titolato.code or "ATT"
    value = next_number(session, f"{prefix.lower()}:{code}:{now.year}")
    return f"{prefix}-{code}-{now.year}-{value:06d}"


def _locale(case: CertificationCase) -> str:
    account = case.candidate.account
    return account.locale if account is not None else "it"


def issue_transparency_document(
    session: Session,
    storage: BlobStorage,
    renderer: DocumentRenderer,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    locale: str = "it",
    expected_version: int | None = None,
) -> Document:
    """The tutor issues the Documento di trasparenza (transition 7).

    Needs at least one requested competence with linked evidence. The evidence listed becomes
    locked; the PDF is rendered once and stored.
    """
    linked = linked_evidence_for_case(session, case)
    if not any(linked.values()):
        raise InvalidInput("no evidence", errors={"case": ["no_linked_evidence"]})
    apply_transition(
        session, actor, case, CaseEvent.ISSUE_TRANSPARENCY, now, expected_version=expected_version
    )
    number = _number(session, case, "DT", now)
    content = transparency_content(session, case, actor, number, now, locale)
    document = _store_document(
        session,
        storage,
        renderer,
        actor,
        case,
        DocumentKind.DOCUMENTO_TRASPARENZA,
        "trasparenza.html",
        content,
        now,
        locale,
    )
    for items in linked.values():
        for evidence in items:
            evidence.locked_at = evidence.locked_at or now
    session.flush()
    return document


# --- assessment documents ---------------------------------------------------------------------

#: Documents print Italian local time (the service runs in Lombardy).


def _base_content(
    case: CertificationCase, number: str, now: dt.datetime, locale: str
) -> dict[str, Any]:
    snapshot_competences(case)  # raises NotFound without a snapshot
    snapshot = case.snapshot.content if case.snapshot else {}
    ente = case.ente_titolato
    return {
        "number": number,
        "issued_on": local_text(now, style="numeric", with_time=False),
        "place": ente.city,
        "protocol_number": case.protocol_number,
        "illustrative": bool(snapshot["framework"]["illustrative"]),
        "holder": _holder(case),
        "ente": _ente(case),
        "titolare": case.ente_titolato.accredited_by.legal_name
        if case.ente_titolato.accredited_by
        else None,
        "standard": {
            "framework_title": snapshot["framework"][f"title_{locale}"],
            "framework_version": snapshot["framework"]["version"],
            "profile_code": snapshot["profile"]["code"],
            "profile_title": snapshot["profile"][f"title_{locale}"],
            "eqf_level": snapshot["profile"]["eqf_level"],
        },
    }


def verbale_content(
    session: Session, case: CertificationCase, number: str, now: dt.datetime, locale: str
) -> dict[str, Any]:
    """The assessment record: panel, declarations, ratings and outcomes with their reasons."""
    assessment = current_session(case)
    ratings = current_ratings(case)
    evidence = {
        str(e.id): e for items in linked_evidence_for_case(session, case).values() for e in items
    }
    outcomes = {o.competence_code: o for o in current_outcomes(case)}
    content = _base_content(case, number, now, locale)
    content.update(
        {
            "round": case.assessment_round,
            "session": {
                "date": local_text(assessment.scheduled_at, style="numeric") if assessment else "",
                "location": assessment.location if assessment else "",
                "methods": [
                    text(ASSESSMENT_METHODS, m, locale)
                    for m in (assessment.methods if assessment else [])
                ],
                "panel": [
                    {
                        "name": m.person.full_name,
                        "function": PANEL_FUNCTIONS[m.function].in_language(locale),
                        "declared": local_text(m.declared_at, style="numeric", with_time=False)
                        or None,
                    }
                    for m in (assessment.members if assessment else [])
                ],
            },
            "competences": [
                {
                    "code": c["code"],
                    "title": c[f"title_{locale}"],
                    "outcome": OUTCOMES[outcomes[c["code"]].outcome].in_language(locale)
                    if c["code"] in outcomes
                    else "—",
                    "validated": c["code"] in outcomes
                    and outcomes[c["code"]].outcome.value == "validata",
                    "rationale": outcomes[c["code"]].rationale if c["code"] in outcomes else "",
                    "feedback": outcomes[c["code"]].feedback if c["code"] in outcomes else "",
                    "methods": [
                        text(ASSESSMENT_METHODS, m, locale) for m in outcomes[c["code"]].methods
                    ]
                    if c["code"] in outcomes
                    else [],
                    "evidence": [
                        {"title": evidence[i].title, "sha256": evidence_digest(evidence[i])}
                        for i in (outcomes[c["code"]].evidence_ids if c["code"] in outcomes else [])
                        if i in evidence
                    ],
                    "criteria": [
                        {
                            "code": k["code"],
                            "text": k[f"text_{locale}"],
                            "level": ratings[k["code"]].level_code if k["code"] in ratings else "—",
                            "passing": bool(ratings[k["code"]].passing)
                            if k["code"] in ratings
                            else False,
                            "note": ratings[k["code"]].note if k["code"] in ratings else "",
                        }
                        for k in c["criteria"]
                    ],
                }
                for c in snapshot_competences(case)
            ],
        }
    )
    return content


def issue_verbale(
    session: Session,
    storage: BlobStorage,
    renderer: DocumentRenderer,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
) -> Document:
    """Render and store the verbale of the round just decided (after ``record_outcomes``)."""
    number = _number(session, case, "VB", now)
    content = verbale_content(session, case, number, now, _locale(case))
    return _store_document(
        session,
        storage,
        renderer,
        actor,
        case,
        DocumentKind.VERBALE,
        "verbale.html",
        content,
        now,
        _locale(case),
    )


def issue_validation_document(
    session: Session,
    storage: BlobStorage,
    renderer: DocumentRenderer,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> Document:
    """The Documento di validazione (#17): only the validated competences, with their Atlante
    ADA codes; it lets the holder go on to certification later."""
    apply_transition(
        session, actor, case, CaseEvent.ISSUE_VALIDATION_DOC, now, expected_version=expected_version
    )
    locale = _locale(case)
    validated = {o.competence_code for o in current_outcomes(case) if o.outcome.value == "validata"}
    methods = sorted({m for o in current_outcomes(case) for m in o.methods})
    contexts = sorted(
        {
            x.learning_context.value
            for items in linked_evidence_for_case(session, case).values()
            for e in items
            for x in [e.experience]
        }
    )
    number = _number(session, case, "DV", now)
    content = _base_content(case, number, now, locale)
    content.update(
        {
            "competences": [
                {
                    "code": c["code"],
                    "title": c[f"title_{locale}"],
                    "eqf_level": c["eqf_level"],
                    "ada_codes": c["ada_codes"],
                }
                for c in snapshot_competences(case)
                if c["code"] in validated
            ],
            "methods": [text(ASSESSMENT_METHODS, m, locale) for m in methods],
            "contexts": [text(LEARNING_CONTEXTS, c, locale) for c in contexts],
            "assessed_on": (
                local_text(case.sessions[-1].scheduled_at, style="numeric", with_time=False)
                if case.sessions
                else ""
            ),
        }
    )
    return _store_document(
        session,
        storage,
        renderer,
        actor,
        case,
        DocumentKind.DOCUMENTO_VALIDAZIONE,
        "validazione.html",
        content,
        now,
        locale,
    )

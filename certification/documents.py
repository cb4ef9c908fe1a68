"""Documents of a case, rendered once and stored: the Documento di trasparenza first.

The PDF is made from a plain snapshot of the data (kept with the document), stored in the
blob storage by its sha256, and never rendered again: downloads serve the stored bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from certification.errors import InvalidInput
from certification.models import (
    CertificationCase,
    Document,
    DocumentKind,
    Evidence,
    Experience,
    StoredFile,
    UserAccount,
)
from certification.numbering import next_number
from certification.portfolio import evidence_digest
from certification.rendering import DocumentRenderer
from certification.storage import BlobStorage
from certification.workflow import _transition, linked_evidence_for_case

#: Labels printed in documents, per language (the web layer has its own translated labels).
EXPERIENCE_KINDS = {
    "it": {
        "volontariato": "Volontariato",
        "tirocinio": "Tirocinio",
        "organizzazione_evento": "Organizzazione di eventi",
        "animazione_coworking": "Animazione di spazi di coworking",
        "progetto_startup": "Progetto d'impresa / start-up",
        "lavoro": "Lavoro",
        "servizio_civile": "Servizio civile",
        "formazione_non_formale": "Formazione non formale",
        "altro": "Altro",
    },
    "en": {
        "volontariato": "Volunteering",
        "tirocinio": "Internship",
        "organizzazione_evento": "Event organisation",
        "animazione_coworking": "Co-working animation",
        "progetto_startup": "Business / start-up project",
        "lavoro": "Work",
        "servizio_civile": "Civil service",
        "formazione_non_formale": "Non-formal training",
        "altro": "Other",
    },
}
CONTEXTS = {
    "it": {
        "formale": "apprendimento formale",
        "non_formale": "apprendimento non formale",
        "informale": "apprendimento informale",
    },
    "en": {
        "formale": "formal learning",
        "non_formale": "non-formal learning",
        "informale": "informal learning",
    },
}
EVIDENCE_TYPES = {
    "it": {
        "documento_attestazione": "Documento / attestazione",
        "prodotto": "Prodotto",
        "foto_video": "Foto",
        "testimonianza_terzi": "Testimonianza di terzi",
        "autodichiarazione_dpr445": "Autodichiarazione (DPR 445/2000)",
        "link": "Collegamento",
    },
    "en": {
        "documento_attestazione": "Document / attestation",
        "prodotto": "Product",
        "foto_video": "Photo",
        "testimonianza_terzi": "Third-party testimonial",
        "autodichiarazione_dpr445": "Self-declaration (DPR 445/2000)",
        "link": "Link",
    },
}


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
    person = case.candidate
    profile = case.target_profile
    framework = profile.framework
    ente = case.ente_titolato
    return {
        "number": number,
        "issued_on": now.date().strftime("%d/%m/%Y"),
        "place": ente.city,
        "protocol_number": case.protocol_number,
        "illustrative": framework.illustrative,
        "holder": {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "codice_fiscale": person.codice_fiscale,
            "birth_date": person.birth_date.strftime("%d/%m/%Y") if person.birth_date else None,
            "birth_place": person.birth_place,
        },
        "ente": {
            "legal_name": ente.legal_name,
            "short_name": ente.short_name,
            "tax_code": ente.tax_code,
            "accreditation_number": ente.accreditation_number,
            "address": ente.address,
        },
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
                "kind": EXPERIENCE_KINDS[locale][x.kind.value],
                "learning_context": CONTEXTS[locale][x.learning_context.value],
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
                "type": EVIDENCE_TYPES[locale][e.type.value],
                "date": (e.issued_on or e.created_at.date()).strftime("%d/%m/%Y"),
                "sha256": evidence_digest(e),
                "detail": _evidence_detail(e, locale),
            }
            for e in evidence
        ],
        "tutor_name": tutor.person.full_name,
    }


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
    _transition(session, actor, case, "issue_transparency", now, expected_version=expected_version)
    prefix = case.ente_titolato.code or "ATT"
    number = f"DT-{prefix}-{now.year}-{next_number(session, f'dt:{prefix}:{now.year}'):06d}"
    content = transparency_content(session, case, actor, number, now, locale)
    pdf = renderer.render_pdf("trasparenza.html", content, locale)
    sha256 = storage.put(pdf)
    if session.get(StoredFile, sha256) is None:
        session.add(
            StoredFile(sha256=sha256, size=len(pdf), media_type="application/pdf", created_at=now)
        )
    document = Document(
        case_id=case.id,
        kind=DocumentKind.DOCUMENTO_TRASPARENZA,
        number=number,
        locale=locale,
        content=content,
        pdf_sha256=sha256,
        issued_at=now,
        issued_by_id=actor.id,
    )
    session.add(document)
    for items in linked.values():
        for evidence in items:
            evidence.locked_at = evidence.locked_at or now
    session.flush()
    return document

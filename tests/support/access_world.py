"""The world of the access matrices (``test_access_matrix``, ``test_action_matrix``).

One accredited body (``org``) with a member of staff for each role, another body, the region
that accredits ``org``, a partner business of ``org``; a candidate with a portfolio (an
experience, a file evidence), a case in identification, one under review and one in assessment
before a panel of ``certifier`` and ``assessor`` (all with ``tutor`` assigned), certificates
issued and pending, a talent card and a convention. The matrices look at it as each of
``ROLES``; ``other_assessor`` is an assessor of ``org`` on no panel (found by an outside attack
run rating a case it had no role on).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, fields
from typing import Any, Final

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from certification.models import BulkIssuance, CertificateStatus, UserAccount
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import PASSWORD, make_account, make_organisation
from tests.support.web import login


@dataclass
class World:
    """The objects of the world by the names the URL templates give them (``{cert}``), and the
    accounts by role."""

    accounts: dict[str, UserAccount]
    ente: str  # the accredited body's code
    card: uuid.UUID
    card_number: str
    card_payload: str
    partner: uuid.UUID
    convention: uuid.UUID
    cert: uuid.UUID  # issued
    pending: uuid.UUID
    cert_code: str
    pending_code: str
    bulk: uuid.UUID  # any id: tokens only
    web_bulk: uuid.UUID  # the signatory's bulk request, followed on its page
    org: uuid.UUID
    other_org: uuid.UUID
    member: uuid.UUID  # the tutor's person
    pid: uuid.UUID  # the candidate's person
    exp: uuid.UUID
    ev: uuid.UUID
    case: uuid.UUID  # in identification
    doc: uuid.UUID
    rcase: uuid.UUID  # under review
    pcase: uuid.UUID  # in assessment, before a panel
    kid: str  # the ente's seal
    day: str  # an audit checkpoint's

    def names(self) -> dict[str, Any]:
        """What a URL template may name: every attribute but the accounts."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "accounts"}


#: Who looks, in the matrices' column order. "other_*" are the same kind of person with no
#: relation to the world's objects (another candidate, a tutor not assigned, another body's
#: administrator).
ROLES: Final = [
    "anonymous",
    "candidate",
    "other_candidate",
    "tutor",
    "other_tutor",
    "operator",
    "admin",
    "other_admin",
    "region_supervisor",
    "certifier",
    "assessor",
    "partner",
    "signatory",
    "other_assessor",
]
_A, C, OC, T, OT, OP, AD, OA, R, CE, AS, PA, SG, OAS = range(14)
N: Final = len(ROLES)

#: How the matrices write the variable parts of a URL rule: {name} -> the rule's converter.
#: The world gives each {name} its value.
PLACEHOLDERS: Final = {
    "{org}": "<uuid:organisation_id>",
    "{other_org}": "<uuid:organisation_id>",
    "{member}": "<uuid:person_id>",
    "{pid}": "<uuid:person_id>",
    "{exp}": "<uuid:experience_id>",
    "{ev}": "<uuid:evidence_id>",
    "{case}": "<uuid:case_id>",
    "{doc}": "<uuid:document_id>",
    "{rcase}": "<uuid:case_id>",
    "{pcase}": "<uuid:case_id>",
    "{kid}": "<kid>",
    "{day}": "<day>",
    "{cert}": "<uuid:certificate_id>",
    "{pending}": "<uuid:certificate_id>",
    "{bulk}": "<uuid:bulk_id>",
    "{web_bulk}": "<uuid:bulk_id>",
    "{card}": "<uuid:card_id>",
    "{partner}": "<uuid:partner_id>",
    "{convention}": "<uuid:convention_id>",
    "{card_payload}": "DEMO-LOMBARDIA",
    "{ente}": "<ente>",
    # Instances of /verify/<code> (the route check below writes <code> as DEMO-LOMBARDIA).
    "{cert_code}": "DEMO-LOMBARDIA",
    "{pending_code}": "DEMO-LOMBARDIA",
}

#: The fixed parts of URL rules, as the matrices write them.
_LITERALS: Final = {
    "<code>": "DEMO-LOMBARDIA",
    "<version>": "1.0",
    "<profile_code>": "DEMO-P01",
    "<competence_code>": "DEMO-C01",
    "/<token>": "/invalid-token",
    "<purpose>": "revocation",
    "<payload>": "DEMO-LOMBARDIA",
    "<change>": "suspended",
    "<result_id>": "no-such-result-kept",
    "<lang>": "en",
    "<int:version>": "1",
    # An employer's wallet check: its page secret and its public request id (OpenID4VP).
    "<secret>": "no-such-request",
    "<uuid:request_id>": "00000000-0000-0000-0000-000000000000",
}


def missing_routes(
    app: Flask, method: str, templates: list[str], placeholders: dict[str, str]
) -> list[str]:
    """The URL rules accepting ``method`` that no template stands for."""
    listed = set()
    for template in templates:
        for placeholder, converter in placeholders.items():
            template = template.replace(placeholder, converter)
        listed.add(template)
    missing = []
    for rule in app.url_map.iter_rules():
        if method not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        generic = rule.rule
        for part, literal in _LITERALS.items():
            generic = generic.replace(part, literal)
        if generic not in listed:
            missing.append(rule.rule)
    return missing


def fill(template: str, world: World) -> str:
    """The URL a template stands for in ``world``."""
    return template.format(**world.names())


def build_world(db: Session, app: Flask) -> World:
    """The world (committed); ids by name, and the accounts by role under ``accounts``."""
    from certification.cases.states import CaseStatus
    from certification.models import Document, DocumentKind, EvidenceType, StoredFile
    from tests.support.factories import make_case, make_evidence, make_experience

    org = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    other_org = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
    accounts = {
        "candidate": make_account(db, is_candidate=True),
        "other_candidate": make_account(db, is_candidate=True),
        "tutor": make_account(db, roles=(Role.TUTOR,), organisation=org),
        "other_tutor": make_account(db, roles=(Role.TUTOR,), organisation=org),
        "operator": make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=org),
        "admin": make_account(db, roles=(Role.ADMIN,), organisation=org),
        "other_admin": make_account(db, roles=(Role.ADMIN,), organisation=other_org),
        "region_supervisor": make_account(db, roles=(Role.REGION_SUPERVISOR,), organisation=region),
        "certifier": make_account(db, roles=(Role.CERTIFICATORE,), organisation=org),
        "assessor": make_account(db, roles=(Role.ASSESSOR,), organisation=org),
        "signatory": make_account(db, roles=(Role.SIGNATORY,), organisation=org),
        "other_assessor": make_account(db, roles=(Role.ASSESSOR,), organisation=org),
    }
    partner = make_organisation(db, OrganisationKind.PARTNER_BUSINESS)
    partner.managed_by_id = org.id
    accounts["partner"] = make_account(db, roles=(Role.PARTNER,), organisation=partner)
    org.accredited_by = region
    person = accounts["candidate"].person
    experience = make_experience(db, person)
    blob = app.extensions["attesta.storage"].put(b"%PDF-1.7 test\n%%EOF")
    db.add(StoredFile(sha256=blob, size=18, media_type="application/pdf", created_at=NOW))
    evidence = make_evidence(
        db,
        experience,
        type=EvidenceType.DOCUMENTO_ATTESTAZIONE,
        url=None,
        file_sha256=blob,
        file_name="prova.pdf",
    )
    case = make_case(
        db,
        candidate=accounts["candidate"],
        ente=org,
        status=CaseStatus.IDENTIFICATION,
        tutor=accounts["tutor"],
    )
    document = Document(
        case_id=case.id,
        kind=DocumentKind.DOCUMENTO_TRASPARENZA,
        number="DT-TEST-1",
        locale="it",
        content={},
        pdf_sha256=blob,
        issued_at=NOW,
    )
    db.add(document)
    # a second case of the same candidate, under review: the rubric frozen, the evidence linked
    from certification.cases.assessment import request_validation
    from certification.portfolio.operations import link_evidence
    from tests.support.factories import competence

    review_case = make_case(
        db,
        candidate=accounts["candidate"],
        ente=org,
        status=CaseStatus.TRANSPARENCY_ISSUED,
        tutor=accounts["tutor"],
    )
    link_evidence(db, accounts["candidate"], evidence, competence(db, "DEMO-C01"), None, "", NOW)
    request_validation(db, accounts["candidate"], review_case, NOW)
    panel_case = _in_assessment(db, accounts, org)
    from certification.keys.management import init_keys

    seal = next(
        k
        for k in init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
        if k.organisation_id == org.id
    )
    from certification.audit.chains import AuditSigner, create_checkpoint

    checkpoint, _ = create_checkpoint(
        db, AuditSigner(app.config["KEY_PASSPHRASE"].encode()), NOW.date(), NOW
    )
    certificates = {
        status: _certificate(db, case, org, accounts["candidate"], blob, status)
        for status in (CertificateStatus.ISSUED, CertificateStatus.PENDING)
    }
    card, convention = _card(db, accounts["candidate"], org, partner)
    web_bulk = BulkIssuance(
        idempotency_key="web-access-matrix",
        requested_by_id=accounts["signatory"].id,
        case_ids=[],
        created_at=NOW,
        finished_at=NOW,
    )
    db.add(web_bulk)
    # Privacy notices: the platform's, and the ente's in two versions (the old one readable).
    from certification.people.privacy import publish_notice

    org.code = "ENTEW"
    publish_notice(db, None, None, title="Piattaforma", body="Testo.", language="it", now=NOW)
    for version in (1, 2):
        publish_notice(
            db,
            accounts["admin"],
            org,
            title="Ente",
            body=f"Testo {version}.",
            language="it",
            now=NOW,
        )
    db.commit()
    return World(
        ente=org.code,
        card=card.id,
        card_number=card.number,
        card_payload=_payload(db, app, card),
        partner=partner.id,
        convention=convention.id,
        cert=certificates[CertificateStatus.ISSUED].id,
        pending=certificates[CertificateStatus.PENDING].id,
        cert_code=certificates[CertificateStatus.ISSUED].verification_code,
        pending_code=certificates[CertificateStatus.PENDING].verification_code,
        bulk=certificates[CertificateStatus.PENDING].id,  # any id: tokens only
        web_bulk=web_bulk.id,  # the signatory's bulk request, followed on its page
        org=org.id,
        other_org=other_org.id,
        member=accounts["tutor"].person_id,
        pid=person.id,
        exp=experience.id,
        ev=evidence.id,
        case=case.id,
        doc=document.id,
        rcase=review_case.id,
        pcase=panel_case.id,
        kid=seal.kid,
        day=checkpoint.day.isoformat(),
        accounts=accounts,
    )


def _certificate(db: Session, case: Any, org: Any, holder: Any, blob: str, status: Any) -> Any:
    from certification.certificates.lifecycle import new_verification_code
    from certification.models import Certificate, CertificateKind

    n = 1 if status == CertificateStatus.ISSUED else 2
    content = {
        "base_url": "http://localhost",
        "holder": {"given_name": "Giulia", "family_name": "Rossi"},
        "ente": {"legal_name": "Ente"},
        "titolare": None,
        "standard": {
            "framework_code": "DEMO-LOMBARDIA",
            "framework_version": "1.0",
            "framework_title_it": "Quadro",
            "framework_title_en": "Framework",
            "profile_code": "DEMO-P01",
            "profile_title_it": "Profilo",
            "profile_title_en": "Profile",
            "eqf_level": 4,
        },
        "competences": [
            {
                "code": "DEMO-C01",
                "title_it": "Competenza",
                "title_en": "Competence",
                "eqf_level": 4,
                "abilita": [],
                "conoscenze": [],
                "achieved_level": None,
                "criteria": [],
            }
        ],
        "assessment": {"methods": ["colloquio_tecnico"]},
    }
    certificate = Certificate(
        case_id=case.id,
        generation=n,
        organisation_id=org.id,
        number=f"LOM-TEST-{n}",
        verification_code=new_verification_code(),
        status_index=n,
        kind=CertificateKind.COMPETENZE_SINGOLE,
        locale="it",
        status=status,
        content=content,
        holder_person_id=holder.person_id,
        issued_at=NOW,
        reserved_at=NOW,
        pdf_sha256=blob,
        credential_sha256=blob,
    )
    db.add(certificate)
    db.flush()
    return certificate


def _in_assessment(db: Session, accounts: dict[str, Any], org: Any) -> Any:
    """A case of the candidate in assessment, before a panel of ``certifier`` and ``assessor``
    (both declared no conflict, the session open)."""
    from certification.cases import assessment as A
    from certification.cases import panels
    from certification.cases.states import CaseStatus
    from certification.models import AssessmentMethod, PanelFunction
    from tests.support.factories import make_case, profile

    sector = profile(db).sep_code
    for name in ("assessor", "other_assessor"):  # both fit for a Lombardy panel
        for role in accounts[name].person.staff_roles:
            role.years_experience, role.sectors = 15, [sector]
    case = make_case(
        db,
        candidate=accounts["candidate"],
        ente=org,
        status=CaseStatus.TRANSPARENCY_ISSUED,
        tutor=accounts["tutor"],
    )
    A.request_validation(db, accounts["candidate"], case, NOW)
    members = (accounts["certifier"], accounts["assessor"])
    panels.plan_assessment(
        db,
        members[0],
        case,
        methods=[AssessmentMethod.COLLOQUIO_TECNICO],
        scheduled_at=NOW + dt.timedelta(days=7),
        location="Cremona",
        panel=[
            panels.PanelChoice(members[0].person, PanelFunction.CERTIFICATORE),
            panels.PanelChoice(members[1].person, PanelFunction.ASSESSOR),
        ],
        now=NOW,
    )
    for member in members:
        panels.declare_conflict(db, member, case, False, "", NOW)
    panels.open_session(db, members[0], case, identity_checked=True, now=NOW)
    return case


def _card(db: Session, holder: Any, org: Any, partner: Any) -> tuple[Any, Any]:
    from tests.support.factories import make_card, make_convention

    return make_card(db, holder.person, org), make_convention(db, partner)


def _payload(db: Session, app: Flask, card: Any) -> str:
    from certification.cards import qr_payload

    return qr_payload(db, card, app.config["KEY_PASSPHRASE"].encode())


def client_for(app: Flask, world: World, role: str) -> FlaskClient:
    """A browser for ``role``: logged in, except the anonymous one."""
    client = app.test_client()
    if role != "anonymous":
        login(client, world.accounts[role].email, PASSWORD)
    return client

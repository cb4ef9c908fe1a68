"""Role × page → status: every role gets exactly what domain.md gives it, nothing more.

The rows cover every GET route of the URL map (a test fails when a new route is not listed).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from certification.models import CertificateStatus
from certification.roles import OrganisationKind, Role
from tests.conftest import NOW, login
from tests.factories import PASSWORD, make_account, make_organisation

ROLES = [
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
]
_A, C, OC, T, OT, OP, AD, OA, R, CE, AS, PA = range(12)
N = len(ROLES)


def only(status: int, *allowed: int, default: int = 404, anonymous: int = 302) -> list[int]:
    """``status`` for the listed roles, ``default`` for the other logged-in ones."""
    return [anonymous] + [status if i in allowed else default for i in range(1, N)]


EVERYONE = [200] * N
LOGGED_IN = only(200, C, OC, T, OT, OP, AD, OA, R, CE, AS, PA)
CARD_VIEW = only(200, C, OP, AD)  # the holder and the operators of the issuing ente
PROGRAMME = only(200, OP, AD)  # the operators and administrators running the card programme
VIEW_PORTFOLIO = only(200, C, T, OP, CE, AS)  # owner, assigned tutor, the ente's case staff
STAFF_VIEW = only(200, T, OP, CE, AS)  # the review: staff who see the case, not the candidate
EDIT_PORTFOLIO = only(200, C, T)  # owner, assigned tutor during identification
CERTIFICATE_VIEW = only(200, C, T, OT, OP, AD, CE, AS)  # the holder and the issuing ente's staff

# url template -> expected status per role, in ROLES order. {org} is the accredited body the
# staff work for, {other_org} another body, {member} a staff member of {org}; {pid}, {exp},
# {ev}, {case}, {doc} are the candidate's portfolio, an experience, a file evidence, their case
# (in identification, "tutor" assigned) and a document of it.
MATRIX: dict[str, list[int]] = {
    "/": EVERYONE,
    "/healthz": EVERYONE,
    "/login": [200] + [302] * (N - 1),
    "/signup": [200] + [302] * (N - 1),
    "/password/forgot": EVERYONE,
    "/password/reset/invalid-token": [400] * N,
    "/dashboard": LOGGED_IN,
    "/account/": LOGGED_IN,
    "/account/tokens": LOGGED_IN,
    "/catalogue/": EVERYONE,
    "/catalogue/DEMO-LOMBARDIA/1.0/profiles/DEMO-P01": EVERYONE,
    "/catalogue/DEMO-LOMBARDIA/1.0/competences/DEMO-C01": EVERYONE,
    # An administrator of the ente also manages its partners' users: two organisations, a list.
    "/staff/": [302, 403, 403, 403, 403, 302, 200, 302, 403, 403, 403, 403],
    "/staff/{org}/": only(200, AD),
    "/staff/{org}/add": only(200, AD),
    "/staff/{org}/members/{member}": only(200, AD),
    "/staff/{other_org}/": only(200, OA),
    "/portfolio/": only(302, C, OC, T, OT, OP, AD, OA, R, CE, AS, PA),
    "/portfolio/{pid}/": VIEW_PORTFOLIO,
    "/portfolio/{pid}/mapping": VIEW_PORTFOLIO,
    "/portfolio/{pid}/experiences/new": EDIT_PORTFOLIO,
    "/portfolio/{pid}/experiences/{exp}": VIEW_PORTFOLIO,
    "/portfolio/{pid}/experiences/{exp}/edit": EDIT_PORTFOLIO,
    "/portfolio/{pid}/experiences/{exp}/evidence/new": EDIT_PORTFOLIO,
    "/portfolio/{pid}/evidence/{ev}": VIEW_PORTFOLIO,
    "/portfolio/{pid}/evidence/{ev}/file": VIEW_PORTFOLIO,
    "/portfolio/{pid}/export": only(200, C),
    "/portfolio/{pid}/erase": only(200, C),
    "/cases/": LOGGED_IN,
    "/cases/new": only(200, C, OC, default=403),
    "/cases/{case}": VIEW_PORTFOLIO,
    "/cases/{case}/documents/{doc}": VIEW_PORTFOLIO,
    "/cases/{case}/review": only(404),  # no review before validation is asked for
    "/cases/{rcase}/review": STAFF_VIEW,
    "/cases/{rcase}/evidence/{ev}/view": VIEW_PORTFOLIO,
    "/cases/{rcase}/outcomes": only(404),  # only the panel, only during the session
    "/register/": only(200, R, default=403),
    "/register/cases.csv": only(200, R, default=403),
    "/referee/invalid-token": [404] * N,
    "/keys/": EVERYONE,
    "/keys/root-ca.pem": EVERYONE,
    "/keys/{kid}.pem": EVERYONE,
    "/issuers/{org}.json": EVERYONE,
    "/outbox/": EVERYONE,  # development-only page (DEV_OUTBOX in tests)
    "/api/v1/openapi.json": EVERYONE,
    "/api/v1/frameworks": EVERYONE,
    "/api/v1/profiles": EVERYONE,
    "/api/v1/frameworks/DEMO-LOMBARDIA/1.0/profiles/DEMO-P01": EVERYONE,
    "/api/v1/frameworks/DEMO-LOMBARDIA/1.0/competences/DEMO-C01": EVERYONE,
    "/certificates/{cert}": CERTIFICATE_VIEW,
    "/certificates/{cert}/certificate.pdf": CERTIFICATE_VIEW,
    "/certificates/{cert}/credential.json": CERTIFICATE_VIEW,
    "/certificates/{pending}": only(404),  # a reservation is nobody's certificate yet
    "/status/{org}/revocation.json": EVERYONE,
    "/status/{org}/nonsense.json": [404] * N,
    # The public check: anyone, logged in or not; unknown and pending codes are not found.
    "/verify": EVERYONE,
    "/verify/DEMO-LOMBARDIA": [404] * N,
    "/verify/{cert_code}": EVERYONE,
    "/verify/{pending_code}": [404] * N,
    "/api/v1/verify/DEMO-LOMBARDIA": [404] * N,
    "/api/v1/verify/{cert_code}": EVERYONE,
    # Talent cards: the holder's card, the ente's programme, partners, the public counter check.
    "/cards/": LOGGED_IN,
    "/cards/{card}": CARD_VIEW,
    "/cards/{card}/card.pdf": CARD_VIEW,
    "/cards/{card}/card.png": CARD_VIEW,
    "/cards/{card}/photo.jpg": only(404),  # no photo was added
    "/programme/": only(302, OP, AD, OA, default=403),  # every ente runs its own programme
    "/programme/{org}/": PROGRAMME,
    "/programme/{org}/cards/new": PROGRAMME,
    "/programme/{org}/partners/new": PROGRAMME,
    "/programme/partners/{partner}/": PROGRAMME,
    "/programme/partners/{partner}/conventions/new": PROGRAMME,
    "/programme/conventions/{convention}/edit": PROGRAMME,
    "/staff/{partner}/": PROGRAMME,  # the programme's staff manage the partner's users
    "/partner/": only(200, PA, default=403),
    "/conventions/": EVERYONE,
    "/card/verify": EVERYONE,
    "/card/verify/{card_payload}": EVERYONE,
    "/card/verify/DEMO-LOMBARDIA": [404] * N,
    "/card/keys.json": EVERYONE,
    "/api/v1/me": [401] * N,
    "/api/v1/certificates/bulk/{bulk}": [401]
    * N,  # tokens only: a browser session is no API credential
}

PLACEHOLDERS = {
    "{org}": "<uuid:organisation_id>",
    "{other_org}": "<uuid:organisation_id>",
    "{member}": "<uuid:person_id>",
    "{pid}": "<uuid:person_id>",
    "{exp}": "<uuid:experience_id>",
    "{ev}": "<uuid:evidence_id>",
    "{case}": "<uuid:case_id>",
    "{doc}": "<uuid:document_id>",
    "{rcase}": "<uuid:case_id>",
    "{kid}": "<kid>",
    "{cert}": "<uuid:certificate_id>",
    "{pending}": "<uuid:certificate_id>",
    "{bulk}": "<uuid:bulk_id>",
    "{card}": "<uuid:card_id>",
    "{partner}": "<uuid:partner_id>",
    "{convention}": "<uuid:convention_id>",
    "{card_payload}": "DEMO-LOMBARDIA",
    # Instances of /verify/<code> (the route check below writes <code> as DEMO-LOMBARDIA).
    "{cert_code}": "DEMO-LOMBARDIA",
    "{pending_code}": "DEMO-LOMBARDIA",
}


@pytest.fixture
def world(db: Session, app: Flask) -> dict[str, Any]:
    from certification.models import Document, DocumentKind, EvidenceType, StoredFile
    from certification.states import CaseStatus
    from tests.factories import make_case, make_evidence, make_experience

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
    from certification.assessment import request_validation
    from certification.portfolio import link_evidence
    from tests.factories import competence

    review_case = make_case(
        db,
        candidate=accounts["candidate"],
        ente=org,
        status=CaseStatus.TRANSPARENCY_ISSUED,
        tutor=accounts["tutor"],
    )
    link_evidence(db, accounts["candidate"], evidence, competence(db, "DEMO-C01"), None, "", NOW)
    request_validation(db, accounts["candidate"], review_case, NOW)
    from certification.keys import init_keys

    seal = next(
        k
        for k in init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
        if k.organisation_id == org.id
    )
    certificates = {
        status: _certificate(db, case, org, accounts["candidate"], blob, status)
        for status in (CertificateStatus.ISSUED, CertificateStatus.PENDING)
    }
    card, convention = _card(db, app, accounts["candidate"], org, partner)
    db.commit()
    return {
        "card": card.id,
        "card_payload": _payload(db, app, card),
        "partner": partner.id,
        "convention": convention.id,
        "cert": certificates[CertificateStatus.ISSUED].id,
        "pending": certificates[CertificateStatus.PENDING].id,
        "cert_code": certificates[CertificateStatus.ISSUED].verification_code,
        "pending_code": certificates[CertificateStatus.PENDING].verification_code,
        "bulk": certificates[CertificateStatus.PENDING].id,  # any id: tokens only
        "org": org.id,
        "other_org": other_org.id,
        "member": accounts["tutor"].person_id,
        "pid": person.id,
        "exp": experience.id,
        "ev": evidence.id,
        "case": case.id,
        "doc": document.id,
        "rcase": review_case.id,
        "kid": seal.kid,
        "accounts": accounts,
    }


def _certificate(db: Session, case: Any, org: Any, holder: Any, blob: str, status: Any) -> Any:
    from certification.certificates import new_verification_code
    from certification.models import Certificate, CertificateKind

    n = 1 if status == CertificateStatus.ISSUED else 2
    content = {
        "base_url": "http://localhost",
        "holder": {"given_name": "Giulia", "family_name": "Rossi"},
        "ente": {"legal_name": "Ente"},
        "titolare": None,
        "standard": {
            "framework_title_it": "Quadro",
            "framework_title_en": "Framework",
            "profile_code": "DEMO-P01",
            "profile_title_it": "Profilo",
            "profile_title_en": "Profile",
            "eqf_level": 4,
        },
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


def _card(db: Session, app: Flask, holder: Any, org: Any, partner: Any) -> tuple[Any, Any]:
    from tests.factories import make_card, make_convention

    return make_card(db, holder.person, org), make_convention(db, partner)


def _payload(db: Session, app: Flask, card: Any) -> str:
    from certification.cards import qr_payload

    return qr_payload(db, card, app.config["KEY_PASSPHRASE"].encode())


def _client_for(app: Flask, world: dict[str, Any], role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        login(client, world["accounts"][role].email, PASSWORD)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app: Flask, world: dict[str, Any], role: str) -> None:
    client = _client_for(app, world, role)
    index = ROLES.index(role)
    results = {}
    for template, expected in MATRIX.items():
        url = template.format(**{k: v for k, v in world.items() if k != "accounts"})
        results[template] = (client.get(url).status_code, expected[index])
    assert {k: v for k, v in results.items() if v[0] != v[1]} == {}


def test_every_get_route_is_in_the_matrix(app: Flask) -> None:
    listed = set()
    for template in MATRIX:
        for placeholder, converter in PLACEHOLDERS.items():
            template = template.replace(placeholder, converter)
        listed.add(template)
    missing = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        path = rule.rule
        generic = (
            path.replace("<code>", "DEMO-LOMBARDIA")
            .replace("<version>", "1.0")
            .replace("<profile_code>", "DEMO-P01")
            .replace("<competence_code>", "DEMO-C01")
            .replace("/<token>", "/invalid-token")
            .replace("<purpose>", "revocation")
            .replace("<payload>", "DEMO-LOMBARDIA")
        )
        if generic not in listed:
            missing.append(path)
    assert missing == []


def test_a_tutor_cannot_manage_staff_by_posting(
    app: Flask, world: dict[str, Any], db: Session
) -> None:
    from tests.conftest import csrf_token

    client = _client_for(app, world, "tutor")
    token = csrf_token(client, "/dashboard")
    response = client.post(
        f"/staff/{world['org']}/add",
        data={
            "csrf_token": token,
            "email": "intruder@example.org",
            "given_name": "X",
            "family_name": "Y",
            "roles": ["admin"],
        },
    )
    assert response.status_code == 404
    from certification.accounts import find_account

    assert find_account(db, "intruder@example.org") is None

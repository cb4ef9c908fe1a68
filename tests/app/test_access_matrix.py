"""Role × page → status: every role gets exactly what domain.md gives it, nothing more.

The rows cover every GET route of the URL map (a test fails when a new route is not listed).
The world and the roles are in ``access_world`` (shared with the POST matrix,
``test_action_matrix``).
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.support.access_world import (
    AD,
    AS,
    CE,
    OA,
    OAS,
    OC,
    OP,
    OT,
    PA,
    PLACEHOLDERS,
    ROLES,
    SG,
    C,
    N,
    R,
    T,
    World,
    build_world,
    client_for,
    fill,
    missing_routes,
)


def only(status: int, *allowed: int, default: int = 404, anonymous: int = 302) -> list[int]:
    """``status`` for the listed roles, ``default`` for the other logged-in ones."""
    return [anonymous] + [status if i in allowed else default for i in range(1, N)]


EVERYONE = [200] * N
LOGGED_IN = only(200, *range(1, N))
CARD_VIEW = only(200, C, OP, AD)  # the holder and the operators of the issuing ente
PROGRAMME = only(200, OP, AD)  # the operators and administrators running the card programme
# Staff see a case only through a role on it (certification/policy.py): its tutor, the
# certifiers once under review, its panel, the region that supervises the ente. The portfolio
# is the dossier of the cases: whoever sees one of them sees it.
VIEW_PORTFOLIO = only(200, C, T, CE, AS, R)
IDENTIFICATION = only(200, C, T, R)  # the case in identification: the candidate and its tutor
REVIEW = only(200, T, CE, R)  # the review page: staff who see the case, not the candidate
# In assessment: the panel (certifier and assessor), never an assessor on no panel
PANEL_CASE = only(200, C, T, CE, AS, R)
EDIT_PORTFOLIO = only(200, C, T)  # owner, assigned tutor during identification
# its holder, its ente's signatories, whoever sees its case, the supervising region
CERTIFICATE_VIEW = only(200, C, T, R, SG)

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
    # A forged confirmation link: the page says so and offers a new one (to who is logged in).
    "/email/confirm/invalid-token": [400] * N,
    # Privacy notices are public: the platform's and each ente's, every version.
    "/privacy": EVERYONE,
    "/privacy/v1": EVERYONE,
    "/privacy/{ente}": EVERYONE,
    "/privacy/{ente}/v1": EVERYONE,
    "/dashboard": LOGGED_IN,
    "/account/": LOGGED_IN,
    "/account/tokens": LOGGED_IN,
    # The login's second step: without a password just given, back to the login page.
    "/login/second-factor": [302] * N,
    "/login/second-factor/setup": [302] * N,
    "/account/security": LOGGED_IN,
    # Adding the app: those whose role required it have one already (sent back to the page).
    "/account/security/totp": only(200, C, OC, T, OT, OP, R, AS, PA, OAS, default=302),
    "/catalogue/": EVERYONE,
    "/catalogue/DEMO-LOMBARDIA/1.0/profiles/DEMO-P01": EVERYONE,
    "/catalogue/DEMO-LOMBARDIA/1.0/competences/DEMO-C01": EVERYONE,
    # An administrator of the ente also manages its partners' users: two organisations, a list.
    "/staff/": [302, 403, 403, 403, 403, 302, 200, 302, 403, 403, 403, 403, 403, 403],
    "/staff/{org}/": only(200, AD),
    "/staff/{org}/add": only(200, AD),
    "/staff/{org}/members/{member}": only(200, AD),
    "/staff/{other_org}/": only(200, OA),
    "/portfolio/": only(302, *range(1, N)),
    "/portfolio/{pid}/": VIEW_PORTFOLIO,
    "/portfolio/{pid}/mapping": VIEW_PORTFOLIO,
    "/portfolio/{pid}/experiences/new": EDIT_PORTFOLIO,
    "/portfolio/{pid}/experiences/{exp}": VIEW_PORTFOLIO,
    "/portfolio/{pid}/experiences/{exp}/edit": EDIT_PORTFOLIO,
    "/portfolio/{pid}/experiences/{exp}/evidence/new": EDIT_PORTFOLIO,
    "/portfolio/{pid}/evidence/{ev}": VIEW_PORTFOLIO,
    "/portfolio/{pid}/evidence/{ev}/file": VIEW_PORTFOLIO,
    # The inline preview and the thumbnail: the owner only; staff keep the download above.
    "/portfolio/{pid}/evidence/{ev}/preview": only(200, C),
    # ({ev} is a PDF: no thumbnail, even for its owner; images: test_portfolio_faster.py)
    "/portfolio/{pid}/evidence/{ev}/thumbnail": only(404),
    # Linking one evidence to several criteria (without ?evidence=: which one?)
    "/portfolio/{pid}/mapping/links": EDIT_PORTFOLIO,
    "/portfolio/{pid}/export": only(200, C),
    "/portfolio/{pid}/erase": only(200, C),
    "/cases/": LOGGED_IN,
    "/cases/new": only(200, C, OC, default=403),
    "/cases/{case}": IDENTIFICATION,
    "/cases/{case}/documents/{doc}": IDENTIFICATION,
    "/cases/{case}/review": only(404),  # no review before validation is asked for
    "/cases/{rcase}": only(200, C, T, CE, R),
    "/cases/{rcase}/review": REVIEW,
    "/cases/{rcase}/evidence/{ev}/view": only(200, C, T, CE, R),
    "/cases/{rcase}/outcomes": only(404),  # only the panel, only during the session
    "/cases/{pcase}": PANEL_CASE,
    "/cases/{pcase}/review": only(200, T, CE, AS, R),
    "/cases/{pcase}/evidence/{ev}/view": PANEL_CASE,
    "/cases/{pcase}/outcomes": only(200, CE, AS),  # the panel records the outcomes
    # The certificate's preview: a signatory's, of a certified case (tests/app/test_confirmations)
    "/cases/{pcase}/certificate/preview.pdf": only(403, C, T, CE, AS, R),
    # Confirmations naming the consequence (GET asks, POST acts): the candidate withdraws, the
    # administrator cancels, a signatory suspends (the revocation asks for the number).
    # (staff who see the case are sent back to it: theirs is not this step)
    "/cases/{case}/withdraw": [302 if i in (T, R) else s for i, s in enumerate(only(200, C))],
    # Stopping after the Documento di trasparenza: not now (in identification), so whoever
    # sees the case is sent back to it.
    "/cases/{case}/stop": [302 if s == 200 else s for s in IDENTIFICATION],
    # Who sees the case or certificate without the right is refused (403), the rest find nothing.
    # The certifier confirms the certification (of a case decided: here, none yet).
    "/cases/{pcase}/certify": only(302, C, T, CE, AS, R),  # ... sent back to the case
    "/cases/{case}/cancel": [403 if i in (C, T, R) else s for i, s in enumerate(only(200, AD))],
    "/certificates/{cert}/suspend": [
        403 if i in (C, T, R) else s for i, s in enumerate(only(200, SG))
    ],
    # Into a wallet: the holder only; who sees the certificate without holding it is refused.
    "/certificates/{cert}/wallet": [
        403 if i in (T, R, SG) else s for i, s in enumerate(only(200, C))
    ],
    "/certificates/{pending}/wallet": only(404),
    "/register/": only(200, R, default=403),
    "/register/cases.csv": only(200, R, default=403),
    "/register/certificates/": only(200, R, default=403),
    "/register/certificates.csv": only(200, R, default=403),
    "/register/dashboard": only(200, R, default=403),
    "/referee/invalid-token": [404] * N,
    "/keys/": EVERYONE,
    "/keys/root-ca.pem": EVERYONE,
    "/pki/root.crl": EVERYONE,
    "/keys/{kid}.pem": EVERYONE,
    "/audit/checkpoints/": EVERYONE,
    "/audit/checkpoints/{day}.json": EVERYONE,
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
    "/certificates/{cert}/qr": CERTIFICATE_VIEW,
    "/certificates/{cert}/qr.svg": CERTIFICATE_VIEW,
    "/certificates/{cert}/qr.png": CERTIFICATE_VIEW,
    "/certificates/{pending}": only(404),  # a reservation is nobody's certificate yet
    # A profile's badge image: public; an unknown profile or language is not found.
    "/badges/DEMO-P01.png": EVERYONE,
    "/badges/en/DEMO-P01.png": EVERYONE,
    "/badges/NO-SUCH-PROFILE.png": [404] * N,
    "/badges/de/DEMO-P01.png": [404] * N,
    "/status/{org}/revocation.json": EVERYONE,
    "/status/{org}/nonsense.json": [404] * N,
    # The wallet issuer's public metadata (OpenID4VCI, SD-JWT VC): anyone, wallets included.
    "/.well-known/openid-credential-issuer": EVERYONE,
    "/.well-known/oauth-authorization-server": EVERYONE,
    "/.well-known/jwt-vc-issuer": EVERYONE,
    "/wallet/vct/certificate": EVERYONE,
    # The authorization endpoint: a request without client_id and redirect_uri is refused on
    # our own page, for anyone (tests/app/test_wallet_authorization.py drives a real one).
    "/wallet/authorize": [400] * N,
    # An ente's Token Status List: public; this world's ente never issued to a wallet (no list:
    # tests/app/test_wallet_flow.py reads one that exists).
    "/wallet/status/{org}": [404] * N,
    # The public check: anyone, logged in or not; unknown and pending codes are not found.
    "/verify": EVERYONE,
    "/verify/DEMO-LOMBARDIA": [404] * N,
    "/verify/{cert_code}": EVERYONE,
    "/verify/{pending_code}": [404] * N,
    # A kept result is found by its random address only (tests/app/test_verification_web.py).
    "/verify/r/no-such-result-kept": [404] * N,
    "/verify/r/no-such-result-kept/report.pdf": [404] * N,
    "/api/v1/verify/DEMO-LOMBARDIA": [404] * N,
    # An employer's wallet check (OpenID4VP): the form for anyone; a request's page and its
    # state are found by their random address only (tests/app/test_wallet_presentation.py).
    "/verify/wallet": EVERYONE,
    "/verify/wallet/no-such-request": [404] * N,
    "/verify/wallet/no-such-request/state": [404] * N,
    # The request object a wallet fetches by reference: an unknown request is refused (404,
    # invalid_request_uri) for anyone (tests/app/test_wallet_presentation.py fetches real ones).
    "/verify/wallet/request/00000000-0000-0000-0000-000000000000": [404] * N,
    "/api/v1/verify/{cert_code}": EVERYONE,
    # Talent cards: the holder's card, the ente's programme, partners, the public counter check.
    "/cards/": LOGGED_IN,
    "/cards/{card}": CARD_VIEW,
    "/cards/{card}/card.pdf": CARD_VIEW,
    "/cards/{card}/card.png": CARD_VIEW,
    "/cards/{card}/qr.svg": CARD_VIEW,
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
    "/certificates/bulk/": only(200, SG, default=403),  # the signatories' bulk issuance
    "/certificates/bulk/{web_bulk}": only(200, SG),  # its requester's progress page
    "/api/v1/certificates/bulk/{bulk}": [401]
    * N,  # tokens only: a browser session is no API credential
}


@pytest.fixture
def world(db: Session, app: Flask) -> World:
    return build_world(db, app)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app: Flask, world: World, role: str) -> None:
    client = client_for(app, world, role)
    index = ROLES.index(role)
    results = {}
    for template, expected in MATRIX.items():
        results[template] = (client.get(fill(template, world)).status_code, expected[index])
    assert {k: v for k, v in results.items() if v[0] != v[1]} == {}


def test_every_get_route_is_in_the_matrix(app: Flask) -> None:
    assert missing_routes(app, "GET", list(MATRIX), PLACEHOLDERS) == []


def test_a_tutor_cannot_manage_staff_by_posting(app: Flask, world: World, db: Session) -> None:
    from tests.support.web import csrf_token

    client = client_for(app, world, "tutor")
    token = csrf_token(client, "/dashboard")
    response = client.post(
        f"/staff/{world.org}/add",
        data={
            "csrf_token": token,
            "email": "intruder@example.org",
            "given_name": "X",
            "family_name": "Y",
            "roles": ["admin"],
        },
    )
    assert response.status_code == 404
    from certification.people.accounts import find_account

    assert find_account(db, "intruder@example.org") is None

"""Role × page → status: every role gets exactly what domain.md gives it, nothing more.

The rows cover every GET route of the URL map (a test fails when a new route is not listed).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from certification.roles import OrganisationKind, Role
from tests.conftest import login
from tests.factories import PASSWORD, make_account, make_organisation

ROLES = ["anonymous", "candidate", "tutor", "admin", "other_admin", "region_supervisor"]

# url template -> expected status per role, in ROLES order. {org} is the accredited body the
# staff work for, {other_org} another body, {member} a staff member of {org}.
MATRIX: dict[str, list[int]] = {
    "/": [200, 200, 200, 200, 200, 200],
    "/healthz": [200, 200, 200, 200, 200, 200],
    "/login": [200, 302, 302, 302, 302, 302],
    "/signup": [200, 302, 302, 302, 302, 302],
    "/password/forgot": [200, 200, 200, 200, 200, 200],
    "/password/reset/invalid-token": [400, 400, 400, 400, 400, 400],
    "/dashboard": [302, 200, 200, 200, 200, 200],
    "/account/": [302, 200, 200, 200, 200, 200],
    "/account/tokens": [302, 200, 200, 200, 200, 200],
    "/catalogue/": [200, 200, 200, 200, 200, 200],
    "/catalogue/DEMO-LOMBARDIA/1.0/profiles/DEMO-P01": [200] * 6,
    "/catalogue/DEMO-LOMBARDIA/1.0/competences/DEMO-C01": [200] * 6,
    "/staff/": [302, 403, 403, 302, 302, 403],
    "/staff/{org}/": [302, 404, 404, 200, 404, 404],
    "/staff/{org}/add": [302, 404, 404, 200, 404, 404],
    "/staff/{org}/members/{member}": [302, 404, 404, 200, 404, 404],
    "/staff/{other_org}/": [302, 404, 404, 404, 200, 404],
    "/outbox/": [200, 200, 200, 200, 200, 200],  # development-only page (DEV_OUTBOX in tests)
    "/api/v1/openapi.json": [200] * 6,
    "/api/v1/frameworks": [200] * 6,
    "/api/v1/profiles": [200] * 6,
    "/api/v1/frameworks/DEMO-LOMBARDIA/1.0/profiles/DEMO-P01": [200] * 6,
    "/api/v1/frameworks/DEMO-LOMBARDIA/1.0/competences/DEMO-C01": [200] * 6,
    "/api/v1/me": [401] * 6,  # tokens only: a browser session is no API credential
}


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    org = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    other_org = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
    accounts = {
        "candidate": make_account(db, is_candidate=True),
        "tutor": make_account(db, roles=(Role.TUTOR,), organisation=org),
        "admin": make_account(db, roles=(Role.ADMIN,), organisation=org),
        "other_admin": make_account(db, roles=(Role.ADMIN,), organisation=other_org),
        "region_supervisor": make_account(db, roles=(Role.REGION_SUPERVISOR,), organisation=region),
    }
    db.commit()
    return {
        "org": org.id,
        "other_org": other_org.id,
        "member": accounts["tutor"].person_id,
        "accounts": accounts,
    }


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
    listed = {
        template.replace("{org}", "<uuid:organisation_id>")
        .replace("{other_org}", "<uuid:organisation_id>")
        .replace("{member}", "<uuid:person_id>")
        for template in MATRIX
    }
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
            .replace("<token>", "invalid-token")
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

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.accounts import find_account
from certification.models import OutboxMessage
from certification.roles import Role
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_account, make_organisation


def test_admin_adds_staff_and_the_invitee_sets_a_password(client: FlaskClient, db: Session) -> None:
    org = make_organisation(db, short_name="Consorzio Test")
    admin = make_account(db, roles=(Role.ADMIN,), organisation=org)
    db.commit()
    login(client, admin.email, PASSWORD)
    response = post_form(
        client,
        f"/staff/{org.id}/add",
        {
            "email": "nuova.tutor@example.org",
            "given_name": "Nadia",
            "family_name": "Neri",
            "roles": ["tutor", "certificatore"],
            "years_experience": "4",
            "sectors": "24, 22",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/staff/{org.id}/").get_data(as_text=True)
    assert "Nadia Neri" in page
    assert "invito inviato" in page
    account = find_account(db, "nuova.tutor@example.org")
    assert account is not None
    assert account.roles_in(org.id) == {Role.TUTOR, Role.CERTIFICATORE}

    invitation = db.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "nuova.tutor@example.org")
    )
    assert invitation is not None
    assert "Consorzio Test" in invitation.subject
    link = re.search(r"http://localhost(/password/reset/\S+)", invitation.body_text)
    assert link
    post_form(client, "/logout", {}, page="/dashboard")
    response = post_form(
        client, link.group(1), {"password": "la mia frase nuova", "confirm": "la mia frase nuova"}
    )
    assert response.status_code == 302
    login(client, "nuova.tutor@example.org", "la mia frase nuova")


def test_admin_edits_roles_and_cannot_drop_the_last_admin(client: FlaskClient, db: Session) -> None:
    org = make_organisation(db)
    admin = make_account(db, roles=(Role.ADMIN,), organisation=org)
    tutor = make_account(db, roles=(Role.TUTOR,), organisation=org)
    db.commit()
    login(client, admin.email, PASSWORD)
    url = f"/staff/{org.id}/members/{tutor.person_id}"
    response = post_form(client, url, {"roles": ["tutor", "signatory"]})
    assert response.status_code == 302
    db.expire_all()
    assert tutor.roles_in(org.id) == {Role.TUTOR, Role.SIGNATORY}

    response = post_form(client, f"/staff/{org.id}/members/{admin.person_id}", {"roles": ["tutor"]})
    assert response.status_code == 409
    assert "almeno un amministratore" in response.get_data(as_text=True)
    db.expire_all()
    assert admin.roles_in(org.id) == {Role.ADMIN}


def test_invalid_staff_form_keeps_everything_unchanged(client: FlaskClient, db: Session) -> None:
    org = make_organisation(db)
    admin = make_account(db, roles=(Role.ADMIN,), organisation=org)
    db.commit()
    login(client, admin.email, PASSWORD)
    response = post_form(
        client,
        f"/staff/{org.id}/add",
        {
            "email": "x@example.org",
            "given_name": "X",
            "family_name": "Y",
            "roles": ["region_supervisor"],
            "sectors": "99",
        },
    )
    assert response.status_code == 422
    assert find_account(db, "x@example.org") is None

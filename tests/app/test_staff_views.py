from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.models import OutboxMessage
from certification.people.accounts import find_account
from certification.people.roles import Role
from tests.support.factories import PASSWORD, make_account, make_organisation
from tests.support.web import login, post_form


@pytest.mark.slow
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


@pytest.mark.slow
def test_the_administrator_s_needs_my_action_lists_staff_matters_that_open(
    client: FlaskClient, db: Session
) -> None:
    """Issue 18: an administrator's queue is their staff (they see no case): invitations not
    accepted (still valid, or expired), and people whose roles need a second factor they have
    not set up. Each row opens the member's page, which the administrator may open; another
    ente's administrator sees none of them."""
    import datetime as dt

    from certification.clock import utcnow

    org = make_organisation(db, short_name="Consorzio Test")
    other_org = make_organisation(db)
    admin = make_account(db, roles=(Role.ADMIN,), organisation=org)
    other_admin = make_account(db, roles=(Role.ADMIN,), organisation=other_org)
    fresh = make_account(db, roles=(Role.TUTOR,), organisation=org, family_name="Fresca")
    stale = make_account(db, roles=(Role.TUTOR,), organisation=org, family_name="Scaduta")
    unsafe = make_account(db, roles=(Role.SIGNATORY,), organisation=org, family_name="Senzadue")
    make_account(db, roles=(Role.TUTOR,), organisation=org, family_name="Tranquilla")
    for invited, age in ((fresh, dt.timedelta(minutes=5)), (stale, dt.timedelta(days=3))):
        invited.password_hash = None
        invited.created_at = utcnow() - age
    db.commit()

    login(client, admin.email, PASSWORD)
    page = client.get("/dashboard", headers={"Accept-Language": "it"}).get_data(as_text=True)
    todo = page.split('id="todo-h"')[1].split("</section>")[0]
    assert "(3)" in todo.split("</h2>")[0]  # three matters, no case
    rows = {
        name: todo.split(name)[0].rsplit("<li", 1)[1] + todo.split(name)[1].split("</li>")[0]
        for name in ("Fresca", "Scaduta", "Senzadue")
    }
    assert "invito non ancora accettato" in rows["Fresca"]
    assert "link dell’invito scaduto" in rows["Scaduta"]
    assert "nessun secondo fattore" in rows["Senzadue"]
    assert "Tranquilla" not in todo and admin.person.family_name not in todo
    links = re.findall(r'href="(/staff/[^"]+)"', todo)
    assert len(links) == 3
    for account, link in zip((fresh, stale, unsafe), links, strict=True):
        assert link == f"/staff/{org.id}/members/{account.person_id}"
        answer = client.get(link)
        assert answer.status_code == 200 and account.person.family_name in answer.get_data(
            as_text=True
        )

    post_form(client, "/logout", {}, page="/dashboard")
    login(client, other_admin.email, PASSWORD)
    other = client.get("/dashboard").get_data(as_text=True).split('id="todo-h"')[1]
    assert "Fresca" not in other.split("</section>")[0]
    assert client.get(links[0]).status_code == 404

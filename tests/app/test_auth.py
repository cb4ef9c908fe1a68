from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.models import OutboxMessage, UserAccount, UserSession
from tests.support.factories import PASSWORD, make_account
from tests.support.web import csrf_token, login, post_form


def test_login_page_is_italian_by_default(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="it">' in html
    assert "Accedi" in html


def test_login_and_logout_end_the_server_side_session(client: FlaskClient, db: Session) -> None:
    account = make_account(db, email="anna@example.org")
    db.commit()
    before = client.get_cookie("attesta")
    response = login(client, "anna@example.org", PASSWORD)
    assert response.headers["Location"] == "/dashboard"
    after = client.get_cookie("attesta")
    assert after is not None
    assert before is None or before.value != after.value
    assert client.get("/dashboard").status_code == 200
    assert db.scalar(select(UserSession).where(UserSession.user_id == account.id)) is not None

    stolen = after.value
    response = post_form(client, "/logout", {}, page="/dashboard")
    assert response.status_code == 302
    assert db.scalar(select(UserSession).where(UserSession.user_id == account.id)) is None
    # Replaying the old cookie does not bring the session back: it was deleted server-side.
    client.set_cookie("attesta", stolen)
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("email", "password"),
    [("anna@example.org", "wrong password"), ("nobody@example.org", PASSWORD)],
)
def test_failed_login_is_generic(
    client: FlaskClient, db: Session, email: str, password: str
) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    response = post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 401
    assert "E-mail o password non valide." in response.get_data(as_text=True)


def test_login_redirect_stays_on_site(client: FlaskClient, db: Session) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    for target, expected in (
        ("/account/tokens", "/account/tokens"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
    ):
        token = csrf_token(client)
        response = client.post(
            f"/login?next={target}",
            data={"email": "anna@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected
        post_form(client, "/logout", {}, page="/dashboard")


def test_protected_pages_ask_for_login(client: FlaskClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_signup_creates_a_candidate_and_logs_in(client: FlaskClient, db: Session) -> None:
    response = post_form(
        client,
        "/signup",
        {
            "given_name": "Luca",
            "family_name": "Verdi",
            "email": "Luca.Verdi@example.org",
            "password": "una frase lunga e sicura",
            "confirm": "una frase lunga e sicura",
        },
    )
    assert response.status_code == 302
    account = db.scalar(select(UserAccount).where(UserAccount.email == "luca.verdi@example.org"))
    assert account is not None
    assert account.person.is_candidate
    assert "Ciao, Luca" in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"email": "taken@example.org"}, 409, "Esiste già un account con questo indirizzo e-mail."),
        ({"password": "corta", "confirm": "corta"}, 422, "Usa almeno 10 caratteri."),
        ({"confirm": "diversa"}, 422, "Le password non coincidono."),
        ({"email": "not-an-email"}, 422, "Indirizzo e-mail non valido."),
        ({"given_name": ""}, 422, "Questo campo è obbligatorio."),
    ],
)
def test_signup_errors_are_clear_and_write_nothing(
    client: FlaskClient, db: Session, changes: dict[str, str], status: int, message: str
) -> None:
    make_account(db, email="taken@example.org")
    db.commit()
    data = {
        "given_name": "Luca",
        "family_name": "Verdi",
        "email": "new@example.org",
        "password": "una frase lunga e sicura",
        "confirm": "una frase lunga e sicura",
        **changes,
    }
    response = post_form(client, "/signup", data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.scalar(select(UserAccount).where(UserAccount.email == "new@example.org")) is None


def test_html_in_names_is_shown_literally(client: FlaskClient) -> None:
    post_form(
        client,
        "/signup",
        {
            "given_name": "<script>alert(1)</script>",
            "family_name": "<b>Verdi</b>",
            "email": "xss@example.org",
            "password": "una frase lunga e sicura",
            "confirm": "una frase lunga e sicura",
        },
    )
    html = client.get("/dashboard").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html


def test_missing_csrf_token_is_refused_in_the_users_language(
    client: FlaskClient, db: Session
) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    response = client.post("/login", data={"email": "anna@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "Il modulo è scaduto" in response.get_data(as_text=True)
    response = client.post(
        "/login",
        data={"email": "anna@example.org", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert "The form expired" in response.get_data(as_text=True)


def _reset_link(db: Session, email: str) -> str:
    message = db.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.created_at.desc())
    )
    assert message is not None
    match = re.search(r"http://localhost(/password/reset/\S+)", message.body_text)
    assert match, message.body_text
    return match.group(1)


def test_password_reset_through_the_outbox(client: FlaskClient, db: Session) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    response = post_form(client, "/password/forgot", {"email": "ANNA@example.org"})
    assert response.status_code == 302
    link = _reset_link(db, "anna@example.org")
    assert client.get("/outbox/").status_code == 200
    response = post_form(
        client, link, {"password": "nuova frase segreta", "confirm": "nuova frase segreta"}
    )
    assert response.status_code == 302
    login(client, "anna@example.org", "nuova frase segreta")
    # the link was single-use
    assert client.get(link).status_code == 400


def test_password_reset_does_not_reveal_accounts(client: FlaskClient, db: Session) -> None:
    response = post_form(
        client, "/password/forgot", {"email": "ghost@example.org"}, follow_redirects=True
    )
    assert "Se a questo indirizzo corrisponde un account" in response.get_data(as_text=True)
    assert (
        db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "ghost@example.org"))
        is None
    )


def test_invalid_reset_link(client: FlaskClient) -> None:
    response = client.get("/password/reset/forged-token")
    assert response.status_code == 400
    assert "non è valido o è scaduto" in response.get_data(as_text=True)


def test_change_password_logs_out_other_sessions(app: Flask, db: Session) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "anna@example.org", PASSWORD)
    login(laptop, "anna@example.org", PASSWORD)
    response = post_form(
        laptop,
        "/account/password",
        {
            "current_password": PASSWORD,
            "password": "nuova frase segreta",
            "confirm": "nuova frase segreta",
        },
        page="/account/",
    )
    assert response.status_code == 302
    assert laptop.get("/dashboard").status_code == 200
    assert phone.get("/dashboard").status_code == 302


def test_wrong_current_password(client: FlaskClient, db: Session) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    login(client, "anna@example.org", PASSWORD)
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": "sbagliata!!",
            "password": "nuova frase segreta",
            "confirm": "nuova frase segreta",
        },
        page="/account/",
    )
    assert response.status_code == 422
    assert "La password attuale non è corretta." in response.get_data(as_text=True)


def test_login_is_throttled_per_account(app_factory: Callable[..., Flask], db: Session) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    limited = app_factory(RATELIMIT_ENABLED=True)
    client = limited.test_client()
    token = csrf_token(client)
    statuses = [
        client.post(
            "/login",
            data={"email": "anna@example.org", "password": f"guess {i}", "csrf_token": token},
        ).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    response = client.post(
        "/login", data={"email": "anna@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Troppi tentativi" in response.get_data(as_text=True)
    # another account is not locked out by the attack on this one
    make_account(db, email="bruno@example.org")
    db.commit()
    response = client.post(
        "/login", data={"email": "bruno@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302

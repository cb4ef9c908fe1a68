"""Issue 22's fast paths: the public check by code with no session and no user loaded, and the
holder's PDF download decided in one query, tagged with its hash (a repeat is a 304)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.extensions import login_manager
from certification.models import Certificate
from tests.support.certificates import issue_on_the_web
from tests.support.factories import PASSWORD
from tests.support.web import login
from tests.support.worlds import CaseWorld


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of Flask-Login's user loader, by the token it was given."""
    calls: list[str] = []
    loader: Callable[[str], Any] = login_manager._user_callback  # type: ignore[assignment]

    def counted(token: str) -> Any:
        calls.append(token)
        return loader(token)

    monkeypatch.setattr(login_manager, "_user_callback", counted)
    return calls


def _cookies(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


@pytest.mark.slow
def test_the_public_check_reads_no_session_and_loads_no_user(
    app: Flask, stage: CaseWorld, db: Session, loads: list[str]
) -> None:
    certificate = issue_on_the_web(app, stage, db)
    code = certificate.verification_code
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    assert holder.get("/dashboard").status_code == 200
    assert loads, "the loader is counted"  # a logged-in page loads the user
    loads.clear()
    anyone = app.test_client()
    for client in (holder, anyone):
        for url in (f"/verify/{code}", f"/verify?code={code}", f"/api/v1/verify/{code}"):
            answer = client.get(url)
            assert answer.status_code == 200, url
            assert _cookies(answer) == [], url  # no session written
            assert "Cookie" not in answer.headers.get("Vary", ""), url
            assert answer.headers["Cache-Control"] == "no-store"
            assert "object-src 'none'" in answer.headers["Content-Security-Policy"]
            assert answer.headers["X-Frame-Options"] == "DENY"
        unknown = client.get(f"/verify/{'0' * 26}")
        assert unknown.status_code == 404 and _cookies(unknown) == []
    assert loads == []  # not once, logged in or not
    # The page is the same for the holder as for anyone (who asks changes nothing).
    page = holder.get(f"/verify/{code}").get_data(as_text=True)
    assert "verdict-valid" in page and "Accedi" in page and "Esci" not in page
    assert 'name="csrf_token"' not in page  # nothing on it needs the session
    # Its language switch asks ?lang= of the same page; the browser's language otherwise.
    assert 'method="get"' in page and 'name="lang" value="en"' in page
    english = anyone.get(f"/verify?code={code}&lang=en").get_data(as_text=True)
    assert "This certificate is genuine, unchanged and valid today." in english
    assert f'name="code" value="{code}"' in english  # kept by the switch
    browser = anyone.get(f"/verify/{code}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "This certificate is genuine" in browser.get_data(as_text=True)
    # The form page itself keeps its session (its upload form is posted from it).
    assert anyone.get("/verify").status_code == 200


@pytest.mark.slow
def test_the_holder_s_download_is_tagged_and_a_repeat_is_a_304(
    app: Flask, stage: CaseWorld, db: Session, loads: list[str]
) -> None:
    certificate = issue_on_the_web(app, stage, db)
    url = f"/certificates/{certificate.id}/certificate.pdf"
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    loads.clear()
    first = holder.get(url)
    assert first.status_code == 200 and first.data.startswith(b"%PDF-")
    assert first.headers["ETag"] == f'"{certificate.pdf_sha256}"'
    assert first.headers["Cache-Control"] == "private, no-store"
    assert first.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "attachment" in first.headers["Content-Disposition"]
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert loads == []  # decided by the one query: no account loaded
    again = holder.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    other = holder.get(url, headers={"If-None-Match": '"' + "0" * 64 + '"'})
    assert other.status_code == 200 and other.data == first.data
    # Logged out, the tag opens nothing.
    stranger = app.test_client()
    refused = stranger.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert refused.status_code == 302 and "/login" in refused.location
    # The signatory is not the holder: the view's full check, and the same tag.
    signatory = app.test_client()
    login(signatory, stage.signatory.email, PASSWORD)
    theirs = signatory.get(url)
    assert theirs.status_code == 200 and theirs.data == first.data
    assert theirs.headers["ETag"] == first.headers["ETag"]
    # Answered before Flask or by the view, a download carries the same headers (the view's
    # also renews the session cookie).
    renewed = {"Set-Cookie", "Vary"}
    assert set(first.headers.keys()) == set(theirs.headers.keys()) - renewed
    assert signatory.get(url, headers={"If-None-Match": theirs.headers["ETag"]}).status_code == 304


@pytest.mark.slow
def test_the_one_query_declines_what_it_does_not_decide(
    app: Flask, stage: CaseWorld, db: Session, loads: list[str]
) -> None:
    certificate = issue_on_the_web(app, stage, db)
    url = f"/certificates/{certificate.id}/certificate.pdf"
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    # Another's certificate: not the holder's, so the full check answers (not found).
    other = stage.signatory
    db.get_one(Certificate, certificate.id).holder_person_id = other.person_id
    db.commit()
    loads.clear()
    assert holder.get(url).status_code == 404
    assert loads  # the view's check ran, with the account loaded

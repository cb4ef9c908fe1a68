"""Talent cards rendered ahead of their download (issue 22, Cards): a change of the card enqueues
the rendering of its PDF and PNG in every language on the job queue (inline when testing without
one, as bulk issuance), so the first download serves a stored file; until the job has run the
download renders as before."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.keys.management import init_keys
from certification.models import CardDocument, CardStatus, TalentCard
from certification.people.roles import Role
from tests.support.clock import NOW
from tests.support.factories import (
    PASSWORD,
    make_account,
    make_candidate,
    make_card,
    make_organisation,
)
from tests.support.services import redis_url
from tests.support.web import csrf_token, login


@pytest.fixture
def w(db: Session, app: Flask) -> dict[str, Any]:
    ente = make_organisation(db, code="CJ1")
    init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
    holder = make_candidate(db, given_name="Giulia", family_name="Rossi")
    found = {
        "holder": holder,
        "card": make_card(db, holder.person, ente, status=CardStatus.SUSPENDED),
        "operator": make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
    }
    db.commit()
    return found


@pytest.fixture
def queued_app(app_factory: Callable[..., Flask]) -> Iterator[Flask]:
    """An app with a queue of its own on the local Redis (deleted afterwards)."""
    app = app_factory(QUEUE_URL=redis_url(), QUEUE_NAME=f"attesta-test-{uuid.uuid4().hex[:8]}")
    yield app
    from app.jobs import _queue

    _queue(app).delete(delete_jobs=True)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The templates any renderer (every app's) renders from now on."""
    from certification.rendering import DocumentRenderer

    rendered: list[str] = []
    render = DocumentRenderer.render_pdf

    def counted(self: DocumentRenderer, template: str, *args: Any, **kwargs: Any) -> bytes:
        rendered.append(template)
        return render(self, template, *args, **kwargs)

    monkeypatch.setattr(DocumentRenderer, "render_pdf", counted)
    return rendered


def _as(app: Flask, account: Any) -> FlaskClient:
    client = app.test_client()
    login(client, account.email, PASSWORD)
    return client


def _reinstate(app: Flask, w: dict[str, Any]) -> None:
    operator = _as(app, w["operator"])
    card_id = w["card"].id
    token = csrf_token(operator, f"/cards/{card_id}")
    done = operator.post(f"/cards/{card_id}/change/reinstated", data={"csrf_token": token})
    assert done.status_code == 302


def _stored(db: Session, card_id: uuid.UUID) -> dict[str, CardDocument]:
    db.expire_all()
    found = db.scalars(select(CardDocument).where(CardDocument.card_id == card_id))
    return {d.locale: d for d in found}


@pytest.mark.slow
def test_a_changed_card_is_rendered_before_its_first_download(
    app: Flask, db: Session, w: dict[str, Any], renders: list[str]
) -> None:
    assert _stored(db, w["card"].id) == {}
    _reinstate(app, w)
    db.expire_all()
    assert db.get_one(TalentCard, w["card"].id).status == CardStatus.ACTIVE
    stored = _stored(db, w["card"].id)
    assert sorted(stored) == ["en", "it"] and renders == ["card.html", "card.html"]
    assert all(d.png_sha256 for d in stored.values())
    holder = _as(app, w["holder"])
    pdf = holder.get(f"/cards/{w['card'].id}/card.pdf")
    png = holder.get(f"/cards/{w['card'].id}/card.png")
    assert pdf.status_code == png.status_code == 200
    assert hashlib.sha256(pdf.data).hexdigest() == stored["it"].pdf_sha256
    assert hashlib.sha256(png.data).hexdigest() == stored["it"].png_sha256
    assert renders == ["card.html", "card.html"]  # the downloads rendered nothing


@pytest.mark.slow
def test_on_a_queue_the_change_enqueues_the_rendering_and_a_worker_does_it(
    queued_app: Flask, db: Session, w: dict[str, Any], renders: list[str]
) -> None:
    from rq import SimpleWorker

    from app.jobs import _queue

    _reinstate(queued_app, w)
    queue = _queue(queued_app)
    [job] = queue.jobs
    assert job.func_name == "app.jobs.render_card_job" and job.args == (str(w["card"].id),)
    assert _stored(db, w["card"].id) == {} and renders == []  # nothing rendered in the request
    with queued_app.app_context():  # the worker runs the job here, on the test's transaction
        assert SimpleWorker([queue], connection=queue.connection).work(burst=True)
    stored = _stored(db, w["card"].id)
    assert sorted(stored) == ["en", "it"] and all(d.png_sha256 for d in stored.values())
    holder = _as(queued_app, w["holder"])
    assert holder.get(f"/cards/{w['card'].id}/card.pdf").status_code == 200
    assert renders == ["card.html", "card.html"]


@pytest.mark.slow
def test_the_download_renders_when_the_job_has_not_run_yet(
    queued_app: Flask, db: Session, w: dict[str, Any], renders: list[str]
) -> None:
    _reinstate(queued_app, w)
    holder = _as(queued_app, w["holder"])
    pdf = holder.get(f"/cards/{w['card'].id}/card.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert renders == ["card.html"] and sorted(_stored(db, w["card"].id)) == ["it"]


def test_a_card_without_a_printable_form_is_not_rendered(
    app: Flask, db: Session, w: dict[str, Any], renders: list[str]
) -> None:
    from app.jobs import render_card

    card = db.get_one(TalentCard, w["card"].id)
    card.status = CardStatus.REVOKED
    db.commit()
    assert render_card(app, card.id) is False
    assert render_card(app, uuid.uuid4()) is False  # gone: nothing to do
    assert renders == [] and _stored(db, card.id) == {}


def test_a_failed_rendering_is_left_to_the_download(
    app: Flask, db: Session, w: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.jobs as jobs

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(jobs, "card_document", broken)
    assert jobs.render_card(app, w["card"].id) is False
    assert _stored(db, w["card"].id) == {}

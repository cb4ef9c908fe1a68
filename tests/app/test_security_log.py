"""Refused access is written to the security log (security.md §3.3, ASVS 5.0 16.3.2): who, what,
which route; the answer itself stays a plain not-found, and the refused change is not made."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.cases import assessment as A
from certification.models import AuditEvent, CertificationCase
from tests.support.access_world import World, build_world, client_for, fill
from tests.support.web import csrf_token


def _refusals(db: Session) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.action == "access.refused").order_by(AuditEvent.at)
        )
    )


def _rate(client: FlaskClient, url: str) -> int:
    """Post a rating of DEMO-C01-I1 to ``url``; the answer's status."""
    data = {
        "csrf_token": csrf_token(client, "/dashboard"),
        "competence_code": "DEMO-C01",
        "criterion_code": "DEMO-C01-I1",
        "level_code": "L1",
    }
    return client.post(url, data=data).status_code


def test_an_assessor_off_the_panel_is_refused_and_logged(app: Flask, db: Session) -> None:
    world: World = build_world(db, app)
    intruder = world.accounts["other_assessor"]
    client = client_for(app, world, "other_assessor")
    assert _refusals(db) == []

    assert client.get(fill("/cases/{pcase}/review", world)).status_code == 404
    assert _rate(client, fill("/cases/{pcase}/ratings", world)) == 404
    assert "DEMO-C01-I1" not in A.current_ratings(db.get_one(CertificationCase, world.pcase))

    logged = _refusals(db)
    assert [(e.actor_user_id, e.entity_type, e.entity_id) for e in logged] == [
        (intruder.id, "case", str(world.pcase)),
        (intruder.id, "case", str(world.pcase)),
    ]
    assert [(e.details["method"], e.details["path"]) for e in logged] == [
        ("GET", fill("/cases/{pcase}/review", world)),
        ("POST", fill("/cases/{pcase}/ratings", world)),
    ]


def test_a_refused_act_on_a_visible_case_is_logged(app: Flask, db: Session) -> None:
    """The region's supervisor sees the case, read only: rating it is refused (403), logged."""
    world: World = build_world(db, app)
    client = client_for(app, world, "region_supervisor")
    url = fill("/cases/{pcase}/ratings", world)
    assert _rate(client, url) == 403
    [event] = _refusals(db)
    assert event.actor_user_id == world.accounts["region_supervisor"].id
    assert (event.details["path"], event.details["code"]) == (url, "not_permitted")


def test_a_missing_object_is_not_a_refusal(app: Flask, db: Session) -> None:
    world: World = build_world(db, app)
    client = client_for(app, world, "other_assessor")
    assert client.get("/cases/00000000-0000-4000-8000-000000000000").status_code == 404
    assert _refusals(db) == []

"""Every link a role is offered answers for that role: the menu and the home page ("My area")
of each role of the access world, and of an administrator of the ente titolare (who runs no
card programme: its menu once offered one that answered 403)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from certification.models import Organisation
from certification.people.roles import OrganisationKind, Role
from tests.support.access_world import ROLES, World, build_world, client_for
from tests.support.factories import PASSWORD, make_account
from tests.support.web import login

_LINK = re.compile(r'<a\s[^>]*href="(/[^"#]*)"')


def _offered(html: str) -> set[str]:
    """The site's own links in the menu and the main content of a page."""
    parts = re.findall(r"<nav\b.*?</nav>|<main\b.*?</main>", html, flags=re.S)
    return {urlsplit(href).path for part in parts for href in _LINK.findall(part)}


@pytest.fixture
def world(db: Session, app: Flask) -> World:
    world = build_world(db, app)
    region = db.get_one(Organisation, world.org).accredited_by
    assert region is not None and region.kind == OrganisationKind.ENTE_TITOLARE
    world.accounts["region_admin"] = make_account(db, roles=(Role.ADMIN,), organisation=region)
    db.commit()
    return world


@pytest.mark.slow
@pytest.mark.parametrize("role", [*ROLES[1:], "region_admin"])
def test_every_link_offered_to_a_role_answers(app: Flask, world: World, role: str) -> None:
    client = client_for(app, world, "anonymous")
    login(client, world.accounts[role].email, PASSWORD)
    home = client.get("/dashboard")
    assert home.status_code == 200
    links = _offered(home.get_data(as_text=True)) - {"/logout"}
    assert "/dashboard" in links and "/account/" in links  # the menu was read
    answers = {link: client.get(link).status_code for link in sorted(links)}
    assert {link: status for link, status in answers.items() if status >= 400} == {}

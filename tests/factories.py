"""Factories for test data: sensible defaults, every field overridable."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from certification.models import Organisation, Person, StaffRole, UserAccount
from certification.passwords import hash_password
from certification.roles import OrganisationKind, Role
from tests.conftest import NOW

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run
_seq = itertools.count(1)


def make_organisation(
    db: Session, kind: OrganisationKind = OrganisationKind.ENTE_TITOLATO, **fields: Any
) -> Organisation:
    n = next(_seq)
    org = Organisation(
        kind=kind,
        legal_name=fields.pop("legal_name", f"Ente {n} S.r.l."),
        short_name=fields.pop("short_name", f"Ente {n}"),
        tax_code=fields.pop("tax_code", f"T{n:010d}"),
        created_at=NOW,
        **fields,
    )
    db.add(org)
    db.flush()
    return org


def make_account(
    db: Session,
    *,
    email: str | None = None,
    roles: tuple[Role, ...] = (),
    organisation: Organisation | None = None,
    is_candidate: bool = False,
    locale: str = "it",
    years_experience: int | None = None,
    **person_fields: Any,
) -> UserAccount:
    n = next(_seq)
    person = Person(
        given_name=person_fields.pop("given_name", f"Nome{n}"),
        family_name=person_fields.pop("family_name", f"Cognome{n}"),
        is_candidate=is_candidate,
        created_at=NOW,
        **person_fields,
    )
    account = UserAccount(
        person=person,
        email=email or f"user{n}@example.org",
        password_hash=_PASSWORD_HASH,
        locale=locale,
        created_at=NOW,
    )
    db.add(account)
    if roles:
        organisation = organisation or make_organisation(db)
        for role in roles:
            db.add(
                StaffRole(
                    person=person,
                    organisation=organisation,
                    role=role,
                    years_experience=years_experience,
                    sectors=[],
                    created_at=NOW,
                )
            )
    db.flush()
    return account


def make_candidate(db: Session, **kwargs: Any) -> UserAccount:
    return make_account(db, is_candidate=True, **kwargs)

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from certification.errors import InvalidInput, LastAdmin, NotFound, NotPermitted
from certification.people import staff
from certification.people.roles import OrganisationKind, Role
from certification.policy import get_managed_organisation, is_staff, managed_organisations
from tests.support.clock import NOW
from tests.support.factories import make_account, make_organisation


def _add(db: Session, actor, org, email="new@example.org", roles=(Role.TUTOR,), **kw):  # type: ignore[no-untyped-def]
    return staff.add_staff_member(
        db,
        actor,
        org,
        email=email,
        given_name="Nuovo",
        family_name="Membro",
        roles=roles,
        years_experience=kw.get("years"),
        sectors=kw.get("sectors", ()),
        locale="it",
        now=NOW,
    )


@pytest.fixture
def org(db: Session):  # type: ignore[no-untyped-def]
    return make_organisation(db)


@pytest.fixture
def admin(db: Session, org):  # type: ignore[no-untyped-def]
    return make_account(db, roles=(Role.ADMIN,), organisation=org)


def test_admin_adds_a_new_person_who_must_set_a_password(db: Session, org, admin) -> None:  # type: ignore[no-untyped-def]
    account, created = _add(db, admin, org, roles=(Role.ASSESSOR,), years=12, sectors=["24"])
    assert created
    assert account.password_hash is None
    member = staff.get_staff_member(db, admin, org, account.person_id)
    assert member.roles == {Role.ASSESSOR}
    assert member.years_experience == 12
    assert member.sectors == ("24",)
    assert is_staff(account)


def test_existing_account_gets_roles_without_a_new_account(db: Session, org, admin) -> None:  # type: ignore[no-untyped-def]
    existing = make_account(db, email="elsewhere@example.org")
    account, created = _add(db, admin, org, email="ELSEWHERE@example.org")
    assert account is existing
    assert not created
    with pytest.raises(InvalidInput) as info:
        _add(db, admin, org, email="elsewhere@example.org")
    assert info.value.errors == {"email": ["already_staff"]}


@pytest.mark.parametrize(
    ("kind", "role", "allowed"),
    [
        (OrganisationKind.ENTE_TITOLATO, Role.SIGNATORY, True),
        (OrganisationKind.ENTE_TITOLATO, Role.REGION_SUPERVISOR, False),
        (OrganisationKind.ENTE_TITOLARE, Role.REGION_SUPERVISOR, True),
        (OrganisationKind.ENTE_TITOLARE, Role.TUTOR, False),
        (OrganisationKind.HOST, Role.ASSESSOR, False),
        (OrganisationKind.PARTNER_BUSINESS, Role.PARTNER, True),
    ],
)
def test_roles_depend_on_the_kind_of_organisation(
    db: Session, kind: OrganisationKind, role: Role, allowed: bool
) -> None:
    org = make_organisation(db, kind)
    admin = make_account(db, roles=(Role.ADMIN,), organisation=org)
    if allowed:
        _add(db, admin, org, roles=(role,))
    else:
        with pytest.raises(InvalidInput):
            _add(db, admin, org, roles=(role,))


def test_the_last_admin_stays(db: Session, org, admin) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LastAdmin):
        staff.set_staff_roles(
            db,
            admin,
            org,
            admin.person,
            roles=[Role.TUTOR],
            years_experience=None,
            sectors=[],
            now=NOW,
        )
    assert Role.ADMIN in admin.roles_in(org.id)
    second, _ = _add(db, admin, org, roles=(Role.ADMIN,))
    staff.set_staff_roles(
        db, admin, org, admin.person, roles=[], years_experience=None, sectors=[], now=NOW
    )
    assert admin.roles_in(org.id) == frozenset()
    assert second.roles_in(org.id) == {Role.ADMIN}


@pytest.mark.parametrize(
    ("roles", "years", "sectors", "problem"),
    [
        ((Role.TUTOR,), -1, [], "range"),
        ((Role.TUTOR,), 61, [], "range"),
        ((Role.TUTOR,), None, ["25"], "sep_codes"),
        ((Role.TUTOR,), None, ["x"], "sep_codes"),
        ((Role.ASSESSOR,), None, ["24"], "years_required"),
    ],
)
def test_bad_experience_data(db: Session, org, admin, roles, years, sectors, problem) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as info:
        _add(db, admin, org, roles=roles, years=years, sectors=sectors)
    assert list(info.value.errors.values()) == [[problem]]


def test_only_admins_of_that_organisation(db: Session, org, admin) -> None:  # type: ignore[no-untyped-def]
    other_org = make_organisation(db)
    other_admin = make_account(db, roles=(Role.ADMIN,), organisation=other_org)
    tutor = make_account(db, roles=(Role.TUTOR,), organisation=org)
    for actor in (other_admin, tutor):
        with pytest.raises(NotPermitted):
            _add(db, actor, org)
        with pytest.raises(NotPermitted):
            staff.list_staff(db, actor, org)
        with pytest.raises(NotFound):  # no oracle: another body's organisation "does not exist"
            get_managed_organisation(db, actor, org.id)
    assert managed_organisations(db, admin) == [org]
    assert managed_organisations(db, tutor) == []


def test_unknown_member_is_not_found(db: Session, org, admin) -> None:  # type: ignore[no-untyped-def]
    outsider = make_account(db)
    with pytest.raises(NotFound):
        staff.get_staff_member(db, admin, org, outsider.person_id)

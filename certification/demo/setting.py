"""Demo data: the organisations, staff in every role and candidates of a realistic setting.

Names of places and bodies come from the project documents Attesta grew from (Cremona's
"Talenti Diffusi" plan: COBOX co-working, Consorzio Mestieri's "Giovani Competenti"); the
people are invented, and every organisation is marked illustrative. Loading is idempotent:
what exists (by e-mail or tax code) is kept, what is missing is added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.demo import DEMO_DOMAIN
from certification.demo.cards import PARTNER_USER, PARTNERS, load_demo_cards
from certification.demo.portfolio import load_portfolios
from certification.demo.privacy import load_demo_notices
from certification.models import Organisation, StaffRole, UserAccount
from certification.people import second_factor
from certification.people.accounts import create_account, find_account
from certification.people.roles import OrganisationKind, Role
from certification.rendering import DocumentRenderer
from certification.standards import import_rubric
from certification.storage.blobs import BlobStorage
from rubrics import bundled_rubric_files, load_rubric_file

DEMO_PASSWORD = "demo-attesta-2026"  # noqa: S105 - published demo password


@dataclass(frozen=True)
class _Org:
    key: str
    code: str
    kind: OrganisationKind
    legal_name: str
    short_name: str
    tax_code: str
    city: str
    address: str
    accreditation_number: str | None = None
    accreditation_register: str | None = None
    website: str | None = None


ORGANISATIONS = (
    _Org(
        "regione",
        "RL",
        OrganisationKind.ENTE_TITOLARE,
        "Regione Lombardia — DG Formazione e Lavoro",
        "Regione Lombardia",
        "DEMO-RL-0001",
        "Milano",
        "Piazza Città di Lombardia 1, 20124 Milano",
    ),
    _Org(
        "consorzio",
        "CML",
        OrganisationKind.ENTE_TITOLATO,
        "Consorzio Mestieri Lombardia (dati illustrativi)",
        "Consorzio Mestieri Lombardia",
        "DEMO-CML-0002",
        "Cremona",
        "Via Dante 121, 26100 Cremona",
        accreditation_number="DEMO-ACC-0173",
        accreditation_register="Albo regionale degli operatori accreditati per i servizi al lavoro",
    ),
    _Org(
        "cobox",
        "COBOX",
        OrganisationKind.HOST,
        "COBOX Coworking — Consorzio CRIT",
        "COBOX Coworking",
        "DEMO-HOST-0003",
        "Cremona",
        "Via dell'Innovazione Digitale 3, 26100 Cremona",
    ),
    _Org(
        "kairos",
        "KAIROS",
        OrganisationKind.HOST,
        "Associazione giovanile Kairos",
        "Kairos",
        "DEMO-HOST-0004",
        "Cremona",
        "Via Palestro 30, 26100 Cremona",
    ),
)

#: (e-mail local part, given name, family name, organisation key, roles, years, sectors)
STAFF = (
    ("admin", "Roberto", "Greco", "consorzio", (Role.ADMIN,), None, ()),
    ("operatore", "Chiara", "Colombo", "consorzio", (Role.OPERATORE_ACCOGLIENZA,), None, ()),
    ("tutor", "Marco", "Ferrari", "consorzio", (Role.TUTOR,), None, ()),
    ("certificatore", "Elena", "Ricci", "consorzio", (Role.CERTIFICATORE,), 12, ("24",)),
    ("assessor", "Giorgio", "Galli", "consorzio", (Role.ASSESSOR,), 15, ("24", "22")),
    ("assessor2", "Paola", "Moretti", "consorzio", (Role.ASSESSOR,), 11, ("22", "23", "24")),
    ("certificatore2", "Stefano", "Villa", "consorzio", (Role.CERTIFICATORE,), 20, ("24",)),
    ("firmatario", "Francesca", "Conti", "consorzio", (Role.SIGNATORY,), None, ()),
    ("regione", "Anna", "Lombardi", "regione", (Role.REGION_SUPERVISOR, Role.ADMIN), None, ()),
)

#: (e-mail local part, given name, family name)
CANDIDATES = (
    ("giulia.rossi", "Giulia", "Rossi"),
    ("luca.bianchi", "Luca", "Bianchi"),
    ("sara.esposito", "Sara", "Esposito"),
    # Candidates whose applications show every state of the workflow (certification.demo.cases).
    ("alessia.marino", "Alessia", "Marino"),
    ("davide.costa", "Davide", "Costa"),
    ("elisa.fontana", "Elisa", "Fontana"),
    ("matteo.rinaldi", "Matteo", "Rinaldi"),
    ("valentina.lombardo", "Valentina", "Lombardo"),
    ("simone.gallo", "Simone", "Gallo"),
    ("irene.mancini", "Irene", "Mancini"),
    ("tommaso.deluca", "Tommaso", "De Luca"),
)


def load_demo(
    session: Session,
    now: dt.datetime,
    storage: BlobStorage | None = None,
    renderer: DocumentRenderer | None = None,
    totp_key: bytes | None = None,
) -> dict[str, Any]:
    """Create what is missing of the demo data; return a summary (accounts, organisations,
    and — given a storage — the candidates' portfolios and applications).

    Given ``totp_key`` (the instance's key for TOTP secrets), every staff account gets an
    authenticator app, and the summary gives its secret as an ``otpauth://`` URI: the demo's
    accounts are published, so are their second factors (the demo and the tests log in).
    """
    rubrics = [
        import_rubric(session, None, load_rubric_file(p), now) for p in bundled_rubric_files()
    ]
    orgs = {spec.key: _organisation(session, spec, now) for spec in ORGANISATIONS}
    orgs["consorzio"].accredited_by = orgs["regione"]

    accounts: list[dict[str, Any]] = []
    by_local: dict[str, UserAccount] = {}
    for local, given, family, org_key, roles, years, sectors in STAFF:
        account = _account(session, local, given, family, now)
        by_local[local] = account
        org = orgs[org_key]
        for role in roles:
            if role not in account.roles_in(org.id):
                account.person.staff_roles.append(
                    StaffRole(
                        organisation=org,
                        role=role,
                        years_experience=years,
                        sectors=list(sectors),
                        created_at=now,
                    )
                )
        accounts.append(
            {
                "email": account.email,
                "password": DEMO_PASSWORD,
                "name": account.person.full_name,
                "organisation": org.short_name,
                "roles": [r.value for r in roles],
                **_totp(session, account, totp_key, now),
            }
        )
    session.flush()
    load_demo_notices(
        session,
        orgs,
        {"consorzio": by_local["admin"], "regione": by_local["regione"]},
        now,
    )
    for local, given, family in CANDIDATES:
        account = _account(session, local, given, family, now, candidate=True)
        by_local[local] = account
        accounts.append(
            {
                "email": account.email,
                "password": DEMO_PASSWORD,
                "name": account.person.full_name,
                "organisation": None,
                "roles": ["candidate"],
            }
        )
    local, given, family = PARTNER_USER
    partner_account = _account(session, local, given, family, now)
    session.flush()
    cases = load_portfolios(session, storage, renderer, by_local, orgs, now) if storage else {}
    cards = load_demo_cards(
        session,
        orgs["consorzio"],
        by_local["operatore"],
        partner_account,
        by_local["luca.bianchi"],
        now,
    )
    accounts.append(
        {
            "email": partner_account.email,
            "password": DEMO_PASSWORD,
            "name": partner_account.person.full_name,
            "organisation": PARTNERS[0][2],
            "roles": [Role.PARTNER.value],
            **_totp(session, partner_account, totp_key, now),
        }
    )
    return {
        "cases": cases,
        "cards": cards,
        "organisations": {
            k: {"id": str(o.id), "name": o.short_name, "kind": o.kind.value}
            for k, o in orgs.items()
        },
        "accounts": accounts,
        "rubrics": [
            {
                "code": r.framework.code,
                "version": r.framework.version,
                "profiles": [p.code for p in r.framework.profiles],
            }
            for r in rubrics
        ],
    }


def _totp(
    session: Session, account: UserAccount, key: bytes | None, now: dt.datetime
) -> dict[str, str]:
    """The staff account's authenticator app (enrolled once, kept on later loads), as the
    ``totp`` entry of its summary."""
    if key is None:
        return {}
    secret = second_factor.stored_secret(session, account, key)
    totp = second_factor.totp_of(session, account)
    if secret is None or totp is None or totp.confirmed_at is None:
        secret = pyotp.random_base32()
        second_factor.enrol_totp_with_secret(session, account, key, secret, now)
    return {"totp": second_factor.totp_uri(secret, account)}


def _organisation(session: Session, spec: _Org, now: dt.datetime) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.tax_code == spec.tax_code))
    if org is None:
        org = Organisation(
            kind=spec.kind,
            code=spec.code,
            legal_name=spec.legal_name,
            short_name=spec.short_name,
            tax_code=spec.tax_code,
            city=spec.city,
            address=spec.address,
            accreditation_number=spec.accreditation_number,
            accreditation_register=spec.accreditation_register,
            website=spec.website,
            illustrative=True,
            created_at=now,
        )
        session.add(org)
        session.flush()
    elif org.code is None:
        org.code = spec.code
    return org


def _account(
    session: Session,
    local: str,
    given: str,
    family: str,
    now: dt.datetime,
    *,
    candidate: bool = False,
) -> UserAccount:
    email = f"{local}@{DEMO_DOMAIN}"
    account = find_account(session, email)
    if account is None:
        account = create_account(
            session,
            email=email,
            given_name=given,
            family_name=family,
            password=DEMO_PASSWORD,
            locale="it",
            now=now,
            is_candidate=candidate,
        )
        # Published demo accounts: their addresses are marked confirmed (nobody reads their mail).
        account.email_confirmed_at = now
    return account

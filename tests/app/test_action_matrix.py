"""Role × action → answer: every POST route of the URL map, posted by each role.

``ACTION_MATRIX`` maps a URL template (placeholders as in ``access_world``, and the objects
``build_action_world`` adds) to the answer each role gets, in ``ROLES`` order:

- a role domain.md gives the action is not refused: 302 (done, or sent back to the page with
  a message), 200/400/409/422 where the form or the object's state says no (the row says why);
- every other role is refused: 403 when it sees the object but may not act on it, 404 when it
  does not see it; anonymous is sent to log in (``LOGIN``), or gets 401 from the token API;
- and a refused request changes nothing: the whole database (every table of the models'
  metadata, row by row) and the blob storage are fingerprinted around it.

Each role is one test on a fresh world, posting the rows in order: those that end something
(revoke, withdraw, cancel, logout) come last, and every case transition acts on a case of its
own, already in the state the transition starts from, so that a refusal is the policy's and
not the state machine's. ``FORMS`` gives the fields a row posts besides the CSRF token: the
least that lets the request reach the permission check (an empty form is often turned back
before it). ``test_every_post_route_is_in_the_matrix`` fails when a POST rule has no row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import certification.models  # noqa: F401 - every table on the metadata
from certification.cases import appeals, panels
from certification.cases import assessment as A
from certification.cases.states import CaseStatus
from certification.clock import utcnow
from certification.db import ModelBase
from certification.models import (
    AssessmentMethod,
    CaseCompetence,
    CertificationCase,
    Competence,
    Evidence,
    EvidenceType,
    Organisation,
    Outcome,
    PanelFunction,
    PasskeyCredential,
    PortfolioTarget,
    TargetScope,
    UserAccount,
    WorkflowProfile,
)
from certification.people import second_factor as SF
from certification.people.roles import Role
from tests.support.access_world import (
    AD,
    AS,
    CE,
    OA,
    OC,
    OP,
    PA,
    PLACEHOLDERS,
    ROLES,
    SG,
    C,
    N,
    R,
    T,
    World,
    build_world,
    client_for,
    fill,
    missing_routes,
)
from tests.support.clock import NOW
from tests.support.factories import (
    competence,
    make_account,
    make_evidence,
    make_experience,
    profile,
)
from tests.support.web import csrf_token

#: The answer of a login-protected page to someone not logged in: a redirect to /login.
LOGIN: Final = "login"
Expected = int | str
#: Answers that refuse: after them, nothing may have changed.
REFUSED: Final[frozenset[Expected]] = frozenset({401, 403, 404, LOGIN})
LOGGED_IN: Final = tuple(range(1, N))


def act(
    status: int, *allowed: int, seen: Iterable[int] = (), anonymous: Expected = LOGIN
) -> list[Expected]:
    """``status`` for the roles given the action, 403 for the others in ``seen`` (they see the
    object), 404 for the rest."""
    sees = set(seen)
    return [anonymous] + [
        status if i in allowed else 403 if i in sees else 404 for i in range(1, N)
    ]


def everyone(status: int) -> list[Expected]:
    return [status] * N


# Who sees the candidate's case (certification/policy.py: staff only through a role on it):
#: in reception, the ente's operators; the region that supervises the ente sees every case.
RECEPTION = (C, OP, R)
#: In identification (and transparency), its tutor.
CASE = (C, T, R)
#: Under review, also the ente's certifiers (not its assessors: no panel yet).
REVIEW = (C, T, CE, R)
#: Before a panel of "certifier" and "assessor"; never "other_assessor", on no panel.
PANEL = (C, T, CE, AS, R)
#: The outcome decided: the panel, and the signatories who issue the documents.
DECIDED = (C, T, CE, AS, SG, R)
#: Who sees the issued certificate: its holder, its ente's signatories, whoever sees its case.
CERTIFICATE = (C, T, SG, R)
#: Who sees the talent card: its holder and the operators running the ente's card programme.
CARD = (C, OP, AD)
#: Edits of the portfolio: the owner, and the tutor while a case is in identification; the case
#: staff who see it may not change it, and are told it is not there (404).
EDIT = (C, T)
PROGRAMME = (OP, AD)
#: Who has an authenticator app: the roles that require one enrolled it at their first login.
ENROLLED = (AD, OA, CE, SG)

# url template -> expected answer per role, in ROLES order (see the module's docstring).
ACTION_MATRIX: dict[str, list[Expected]] = {
    # --- public, or each person's own session and account -------------------------------------
    "/language": everyone(302),
    # anonymous: the empty form is turned back; logged in: sent on to the dashboard
    "/login": act(302, *LOGGED_IN, anonymous=422),
    "/signup": act(302, *LOGGED_IN, anonymous=422),
    "/password/forgot": everyone(422),  # no address given
    "/password/reset/invalid-token": everyone(400),
    # Every world account is confirmed: "already confirmed", back to the page, nothing sent.
    "/email/confirm/resend": act(302, *LOGGED_IN),
    "/verify": everyone(422),  # no file: the public check asks for one
    "/verify/r": everyone(404),  # no result offered to keep: the unknown-result page
    "/api/v1/verify": everyone(422),
    # the holder's evidence reveal: no file and no salt, turned back alike for everyone
    "/verify/{cert_code}/evidence": everyone(422),
    "/api/v1/verify/evidence": everyone(422),
    "/referee/invalid-token": everyone(404),
    "/referee/{referee_token}": everyone(200),  # the e-mailed link is the referee's credential
    "/account/password": act(422, *LOGGED_IN),  # own account; the empty form is turned back
    "/account/tokens": act(422, *LOGGED_IN),
    "/account/tokens/{token}/revoke": act(302, C),  # another's token is not found
    # The login's second step: without a password just given, back to the login page.
    "/login/second-factor": everyone(LOGIN),
    "/login/second-factor/setup": everyone(LOGIN),
    # Adding an app: the code is missing (those whose role required one have it: sent back).
    "/account/security/totp": [LOGIN] + [302 if i in ENROLLED else 422 for i in LOGGED_IN],
    # Bulk issuance: the signatory; other tokens are refused before anything is recorded.
    "/api/v1/certificates/bulk": act(202, SG, seen=LOGGED_IN, anonymous=401),
    "/certificates/bulk/": act(200, SG, seen=LOGGED_IN),  # signatory: the empty form is shown again
    # --- the candidate's portfolio --------------------------------------------------------------
    "/portfolio/{pid}/experiences/new": act(302, *EDIT),
    "/portfolio/{pid}/experiences/{exp}/edit": act(302, *EDIT),
    "/portfolio/{pid}/experiences/{exp}/evidence/new": act(422, *EDIT),  # no file in the form
    "/portfolio/{pid}/evidence/{ev}/links": act(302, *EDIT),
    "/portfolio/{pid}/evidence/{ev}/links/{link}/delete": act(302, *EDIT),
    "/portfolio/{pid}/evidence/{tev}/ask-referee": act(302, *EDIT),
    "/portfolio/{pid}/mapping": act(302, *EDIT),
    "/portfolio/{pid}/mapping/links": act(302, *EDIT),  # one evidence, two criteria at once
    "/portfolio/{pid}/self-assessment": act(302, C),  # the person rates themselves, no one else
    "/portfolio/{pid}/comments": act(302, *EDIT),
    "/portfolio/{pid}/evidence/{ev_del}/delete": act(302, *EDIT),
    "/portfolio/{pid}/experiences/{exp_del}/delete": act(302, *EDIT),
    "/portfolio/{pid}/erase": act(200, C),  # not confirmed: the owner is asked again
    # --- staff: the ente's administrator; the card programme's staff for its partners -----------
    "/staff/{org}/add": act(422, AD),  # the empty form is turned back
    "/staff/{org}/members/{member}": act(302, AD),
    "/staff/{partner}/add": act(422, *PROGRAMME),
    "/staff/{partner}/members/{partner_member}": act(302, *PROGRAMME),
    # --- talent cards, the programme, partners ----------------------------------------------------
    "/cards/request": act(302, *LOGGED_IN),  # each person asks for their own; an operator checks
    "/cards/{card}/photo": act(302, C, seen=CARD),  # the holder's photo, set by the holder only
    "/programme/{org}/cards/new": act(302, *PROGRAMME),
    "/programme/{org}/partners/new": act(302, *PROGRAMME),
    "/programme/partners/{partner}/conventions/new": act(302, *PROGRAMME),
    "/programme/conventions/{convention}/edit": act(302, *PROGRAMME),
    # The partner's user records a use of the card for their own convention; to anyone else
    # the convention is not there.
    "/card/use": act(302, PA),
    "/cards/{card}/change/suspended": act(302, *PROGRAMME),
    "/cards/{card}/change/reinstated": act(302, *PROGRAMME),
    "/cards/{card}/change/renewed": act(302, *PROGRAMME),
    "/cards/{card}/change/revoked": act(302, *PROGRAMME),
    # --- the case, transition by transition (domain.md §7.2, certification/cases/states.py)
    # ---------- Candidates apply (the empty form is turned back); staff are refused.
    "/cases/new": act(422, C, OC, seen=LOGGED_IN),
    "/cases/{draft}/submit": act(302, C),  # a draft: only its candidate sees it
    "/cases/{draft_del}/delete": act(302, C),
    "/cases/{submitted}/take-charge": act(302, OP, seen=RECEPTION),
    "/cases/{accepted}/admit": act(302, OP, seen=RECEPTION),
    "/cases/{refused}/reject": act(302, OP, seen=RECEPTION),
    "/cases/{tcase}/transparency": act(302, T, seen=CASE),
    "/cases/{ti}/stop": act(302, C, seen=CASE),
    "/cases/{ti_val}/request-validation": act(302, C, seen=CASE),
    "/cases/{rcase}/ratings": act(302, CE, seen=REVIEW),  # never the tutor (terzietà)
    # In the assessment only this round's panel rates: "other_assessor" does not find the case.
    "/cases/{prating}/ratings": act(302, CE, AS, seen=PANEL),
    "/cases/{rev_int}/integration": act(302, CE, seen=REVIEW),
    "/cases/{rev_ins}/insufficient": act(302, CE, seen=REVIEW),
    "/cases/{rev_plan}/plan": act(302, CE, seen=REVIEW),
    "/cases/{integ}/resubmit": act(302, C, T, seen=REVIEW),
    "/cases/{sched}/declaration": act(302, CE, AS, seen=PANEL),  # the panel's members
    "/cases/{sched_open}/open": act(302, CE, seen=PANEL),  # the panel's certifier chairs
    # Only the panel sees the outcomes form; its certifier records them (the assessor rated).
    "/cases/{progress}/outcomes": act(302, CE, seen=(AS,)),
    "/cases/{valp}/start-certification": act(302, C, CE, seen=DECIDED),
    "/cases/{valp_doc}/validation-document": act(302, CE, SG, seen=DECIDED),
    "/cases/{certn}/certify": act(302, CE, seen=DECIDED),
    "/cases/{certified}/certificate": act(302, SG, seen=DECIDED),  # issued and sealed
    "/cases/{partial}/appeal": act(302, C, seen=DECIDED),
    # Decided by a certifier who sat on none of the case's panels ("certifier" did not); the
    # assessor of the first panel is not on this case's panel ("others" assessed it).
    "/cases/{appealed}/appeal/reject": act(302, CE, seen=REVIEW),
    # Suspended in identification: the candidate (or staff with a role on it) reactivates.
    "/cases/{susp}/reactivate": act(302, C, seen=CASE),
    "/cases/{wcase}/withdraw": act(302, C, seen=CASE),
    # The ente's administrator (#27), who does not otherwise see its cases.
    "/cases/{ccase}/cancel": act(302, AD, seen=CASE),
    # --- the issued certificate (§7.5): the holder's choices, the signatory's changes -----------
    "/certificates/{cert}/public": act(302, C, seen=CERTIFICATE),
    # The holder makes a wallet offer: the page shows it (200, the PIN on it only).
    "/certificates/{cert}/wallet": act(200, C, seen=CERTIFICATE),
    "/certificates/{cert}/suspend": act(302, SG, seen=CERTIFICATE),
    "/certificates/{cert}/reinstate": act(302, SG, seen=CERTIFICATE),
    # The signatory may correct; this certificate's case has no frozen rubric to issue the
    # correction from, so the signatory is sent back with a message (302).
    "/certificates/{cert}/correct": act(302, SG, seen=CERTIFICATE),
    "/certificates/{cert}/revoke": act(302, SG, seen=CERTIFICATE),
    # Passkeys: the options of a ceremony (kept on the server) for one's own account; at
    # login only for the account waiting for its second factor (none here: 409, or back to
    # the login page).
    # The wallet protocol (OpenID4VCI): anyone may call it, and it answers by its own rules:
    # a token request without the pre-authorized grant is refused (400), a nonce is given to
    # anyone, a credential request without an access token is refused (401).
    "/wallet/token": everyone(400),
    "/wallet/nonce": everyone(200),
    "/wallet/credential": everyone(401),
    # The consent to a wallet's authorization request: without client_id and redirect_uri it
    # is refused on our page before anything else (400).
    "/wallet/authorize": everyone(400),
    # An employer's wallet check (OpenID4VP): anyone makes a request (nothing ticked: 422); the
    # response endpoint refuses an unknown request with invalid_request (400).
    "/verify/wallet": everyone(422),
    "/verify/wallet/response/00000000-0000-0000-0000-000000000000": everyone(400),
    "/login/second-factor/passkey/options": everyone(409),
    "/login/second-factor/passkey": everyone(LOGIN),
    "/account/step-up/passkey/options": act(200, *LOGGED_IN),
    "/account/security/passkeys/options": act(200, *LOGGED_IN),
    "/account/security/passkeys": act(422, *LOGGED_IN),  # no answer from an authenticator
    "/account/security/passkeys/{passkey}/remove": act(302, SG),  # another's is not found
    # --- the account's own second factor (last: removing the app changes what follows) ----
    "/account/security/recovery-codes": [LOGIN]
    + [200 if i in ENROLLED else 302 for i in LOGGED_IN],
    # Removed (a lost phone); a role that requires one is sent to set up the new one.
    "/account/security/totp/remove": act(302, *LOGGED_IN),
    "/logout": act(302, *LOGGED_IN),
}

#: The candidate's cases ``build_action_world`` adds: one per transition, so that no row
#: changes the case of another.
CASE_NAMES: Final = (
    "draft",
    "draft_del",
    "submitted",
    "accepted",
    "refused",
    "tcase",
    "ti",
    "ti_val",
    "rev_int",
    "rev_ins",
    "rev_plan",
    "integ",
    "sched",
    "sched_open",
    "progress",
    "prating",
    "valp",
    "valp_doc",
    "certn",
    "certified",
    "partial",
    "appealed",
    "susp",
    "wcase",
    "ccase",
)
#: The objects ``build_action_world`` adds, as the matrix writes them.
ACTION_PLACEHOLDERS: Final = {
    **PLACEHOLDERS,
    **{f"{{{name}}}": "<uuid:case_id>" for name in CASE_NAMES},
    "{exp_del}": "<uuid:experience_id>",
    "{ev_del}": "<uuid:evidence_id>",
    "{tev}": "<uuid:evidence_id>",
    "{link}": "<uuid:link_id>",
    "{token}": "<uuid:token_id>",
    "{passkey}": "<uuid:passkey_id>",
    "{partner_member}": "<uuid:person_id>",
    "{referee_token}": "invalid-token",
}

Form = Callable[["ActionWorld"], dict[str, Any]]


def _experience(world: ActionWorld) -> dict[str, Any]:
    return {
        "kind": "animazione_coworking",
        "learning_context": "informale",
        "role_title": "Host",
        "host_organisation_id": "",
        "start_date": "2025-02-01",
        "description": "Accoglienza dei nuovi membri.",
    }


def _convention(world: ActionWorld) -> dict[str, Any]:
    return {
        "title": "Sconto",
        "category": "printing",
        "benefit": "Dieci per cento",
        "valid_from": "2026-01-01",
        "active": "y",
    }


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (30, 40), "teal").save(out, "PNG")
    return out.getvalue()


#: The fields each row posts besides the CSRF token (none: only the token).
FORMS: dict[str, Form] = {
    "/language": lambda w: {"locale": "it"},
    "/api/v1/certificates/bulk": lambda w: {"case_ids": [str(w.case)]},
    "/portfolio/{pid}/experiences/new": _experience,
    "/portfolio/{pid}/experiences/{exp}/edit": _experience,
    "/portfolio/{pid}/evidence/{ev}/links": lambda w: {"target": f"{w.c02}:", "note": "x"},
    "/portfolio/{pid}/mapping": lambda w: {"profile": str(w.p01)},
    "/portfolio/{pid}/mapping/links": lambda w: {
        "evidence": str(w.ev),
        "targets": w.c02_criteria,
        "note": "x",
    },
    "/portfolio/{pid}/self-assessment": lambda w: {"competence_id": w.c01, "level_code": "L2"},
    "/portfolio/{pid}/comments": lambda w: {"body": "Aggiungere il report."},
    "/staff/{org}/members/{member}": lambda w: {"roles": ["tutor"]},
    "/staff/{partner}/members/{partner_member}": lambda w: {"roles": ["partner"]},
    "/cards/request": lambda w: {
        "basis": "programme_enrolment",
        "organisation_id": str(w.other_org),
        "reference": "ISCR-9",
        "consent": "y",
    },
    "/programme/{org}/cards/new": lambda w: {
        "email": w.accounts["other_candidate"].email,
        "basis": "programme_enrolment",
        "reference": "ISCR-7",
        "programme": "Talenti Diffusi",
        "consent": "y",
    },
    "/programme/{org}/partners/new": lambda w: {"legal_name": "Copisteria", "short_name": "Copy"},
    "/programme/partners/{partner}/conventions/new": _convention,
    "/programme/conventions/{convention}/edit": _convention,
    "/cards/{card}/photo": lambda w: {"photo": (io.BytesIO(_png()), "me.png")},
    "/card/use": lambda w: {"card": w.card_number, "convention_id": str(w.convention)},
    "/cards/{card}/change/suspended": lambda w: {"reason_code": "abuse_report"},
    "/cards/{card}/change/revoked": lambda w: {"reason_code": "abuse"},
    "/cases/{draft}/submit": lambda w: {
        "birth_date": "2001-03-04",
        "birth_place": "Cremona",
        "consent_processing": "y",
        "declaration_accepted": "y",
        "without_evidence": "y",
    },
    "/cases/{accepted}/admit": lambda w: {"tutor": str(w.member)},
    "/cases/{refused}/reject": lambda w: {"reason": "other", "note": "Fuori repertorio."},
    "/cases/{rcase}/ratings": lambda w: {
        "competence_code": "DEMO-C01",
        "criterion_code": "DEMO-C01-I1",
        "level_code": "L2",
    },
    "/cases/{prating}/ratings": lambda w: {
        "competence_code": "DEMO-C01",
        "criterion_code": "DEMO-C01-I1",
        "level_code": "L2",
    },
    "/cases/{rev_int}/integration": lambda w: {
        "note": "Manca il report finale.",
        "deadline": (utcnow() + dt.timedelta(days=10)).date().isoformat(),
    },
    "/cases/{rev_ins}/insufficient": lambda w: {"rationale": "Nessuna evidenza pertinente."},
    "/cases/{rev_plan}/plan": lambda w: {
        "methods": ["colloquio_tecnico"],
        "scheduled_at": (utcnow() + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "location": "Cremona",
        "certifiers": [str(w.accounts["certifier"].person_id)],
        "assessors": [str(w.accounts["assessor"].person_id)],
    },
    "/cases/{sched}/declaration": lambda w: {"has_conflict": "no"},
    "/cases/{sched_open}/open": lambda w: {"identity_checked": "y"},
    "/cases/{progress}/outcomes": lambda w: {
        "outcome-DEMO-C01": "non_validata",
        "rationale-DEMO-C01": "Evidenze insufficienti.",
        "feedback-DEMO-C01": "Manca il report.",
        "methods-DEMO-C01": "colloquio_tecnico",
        "step": "confirm",
    },
    "/cases/{partial}/appeal": lambda w: {"grounds": "Il report non è stato considerato."},
    "/cases/{appealed}/appeal/reject": lambda w: {"rationale": "Valutazione confermata."},
    "/cases/{certn}/certify": lambda w: {"confirm": "y"},
    "/cases/{ccase}/cancel": lambda w: {"reason": "Evidenze false accertate.", "confirm": "y"},
    "/cases/{wcase}/withdraw": lambda w: {"confirm": "y"},
    "/cases/{ti}/stop": lambda w: {"confirm": "y"},
    "/certificates/{cert}/public": lambda w: {"public-show_name": "y"},
    "/certificates/{cert}/suspend": lambda w: {
        "suspend-reason_code": "fraud_report",
        "suspend-reason": "Segnalazione.",
        "suspend-confirm": "y",
    },
    "/certificates/{cert}/reinstate": lambda w: {"reinstate-reason": "Verifica conclusa."},
    "/certificates/{cert}/correct": lambda w: {"correct-reason": "Nome errato."},
    "/certificates/{cert}/revoke": lambda w: {
        "revoke-reason_code": "identity",
        "revoke-reason": "Persona diversa.",
        "revoke-confirm_number": "LOM-TEST-1",
    },
}


# --- the world ------------------------------------------------------------------------------


@dataclass
class ActionWorld(World):
    """``World`` and what the actions need: the candidate's cases by state (``cases``, named as
    ``CASE_NAMES``), objects to delete, a testimonial and its referee's token, a link, API
    tokens by role (``api_tokens``), and the catalogue's ids the forms send."""

    cases: dict[str, uuid.UUID]
    exp_del: uuid.UUID
    ev_del: uuid.UUID
    tev: uuid.UUID
    link: uuid.UUID
    token: uuid.UUID  # an API token to revoke
    passkey: uuid.UUID
    api_tokens: dict[str, str]
    partner_member: uuid.UUID
    referee_token: str
    p01: uuid.UUID
    c01: str
    c02: uuid.UUID
    c02_criteria: list[str]  # two criteria of DEMO-C02, as the multi-link form names them

    def names(self) -> dict[str, Any]:
        names = super().names()
        del names["cases"], names["api_tokens"]
        return {**names, **self.cases}


def build_action_world(db: Session, app: Flask) -> ActionWorld:
    """``build_world`` and, for the actions: cases of the candidate in every state a transition
    starts from (``tutor`` assigned once admitted), objects to delete, API tokens."""
    from certification.people.accounts import create_api_token
    from certification.portfolio.operations import link_evidence, make_referee_token

    world = build_world(db, app)
    accounts: dict[str, UserAccount] = world.accounts
    candidate, tutor = accounts["candidate"], accounts["tutor"]
    org = db.get_one(Organisation, world.org)
    now = utcnow()  # the app checks deadlines against the clock
    p01 = profile(db)
    # A panel of other people, for the appeal "certifier" decides (they sat on no panel of it).
    others = (
        make_account(db, roles=(Role.CERTIFICATORE,), organisation=org),
        make_account(db, roles=(Role.ASSESSOR,), organisation=org, years_experience=15),
    )
    others[1].person.staff_roles[0].sectors = [p01.sep_code]
    panel = (accounts["certifier"], accounts["assessor"])

    catalogue = {code: competence(db, code).id for code in ("DEMO-C01", "DEMO-C02", "DEMO-C03")}
    numbers = iter(range(1, 100))

    def case(status: CaseStatus, *, assigned: bool = True, codes: tuple[str, ...] = ()) -> Any:
        """A case set straight into ``status`` (``make_case`` without its catalogue lookups)."""
        found = CertificationCase(
            candidate_id=candidate.person_id,
            ente_titolato_id=org.id,
            workflow_profile=WorkflowProfile.LOMBARDIA_9380,
            target_profile_id=p01.id,
            target_scope=TargetScope.SINGLE_COMPETENCES,
            status=status,
            status_changed_at=now,
            opened_at=now,
            assigned_tutor_id=tutor.person_id if assigned else None,
            protocol_number=None if status == CaseStatus.DRAFT else f"M-{next(numbers)}",
        )
        for position, code in enumerate(codes or ("DEMO-C01",)):
            found.competences.append(
                CaseCompetence(competence_id=catalogue[code], position=position)
            )
        db.add(found)
        db.flush()
        return found

    def reviewed(codes: tuple[str, ...] = ()) -> Any:
        found = case(CaseStatus.TRANSPARENCY_ISSUED, codes=codes)
        A.request_validation(db, candidate, found, now)
        return found

    def scheduled(members: tuple[UserAccount, UserAccount], codes: tuple[str, ...] = ()) -> Any:
        found = reviewed(codes)
        panels.plan_assessment(
            db,
            members[0],
            found,
            methods=[AssessmentMethod.COLLOQUIO_TECNICO],
            scheduled_at=now + dt.timedelta(days=7),
            location="Cremona",
            panel=[
                panels.PanelChoice(members[0].person, PanelFunction.CERTIFICATORE),
                panels.PanelChoice(members[1].person, PanelFunction.ASSESSOR),
            ],
            now=now,
        )
        return found

    def declared(members: tuple[UserAccount, UserAccount], codes: tuple[str, ...] = ()) -> Any:
        found = scheduled(members, codes)
        for member in members:
            panels.declare_conflict(db, member, found, False, "", now)
        return found

    def opened(members: tuple[UserAccount, UserAccount], codes: tuple[str, ...] = ()) -> Any:
        found = declared(members, codes)
        panels.open_session(db, members[0], found, identity_checked=True, now=now)
        return found

    def decided(members: tuple[UserAccount, UserAccount], *, full: bool) -> Any:
        """Assessed: DEMO-C01 validated (its criteria rated passing); with ``full`` false,
        DEMO-C02 requested too and not validated."""
        found = opened(members, ("DEMO-C01",) if full else ("DEMO-C01", "DEMO-C02"))
        for criterion in A.snapshot_competences(found)[0]["criteria"]:
            A.rate_criterion(db, members[1], found, "DEMO-C01", criterion["code"], "L3", "", now)
        decisions = [
            A.OutcomeInput(
                "DEMO-C01", Outcome.VALIDATA, "Evidenze solide.", "", ["colloquio_tecnico"]
            )
        ]
        if not full:
            decisions.append(
                A.OutcomeInput(
                    "DEMO-C02",
                    Outcome.NON_VALIDATA,
                    "Evidenze deboli.",
                    "Manca il report.",
                    ["colloquio_tecnico"],
                )
            )
        A.record_outcomes(db, members[0], found, decisions, now)
        return found

    integ = reviewed()
    A.request_integration(
        db, panel[0], integ, "Manca il report.", (now.date() + dt.timedelta(10)), now
    )
    certn = decided(panel, full=True)  # validated in full: on to certification (Lombardy)
    certified = decided(panel, full=True)
    A.certify(db, panel[0], certified, now)
    appealed = decided(others, full=False)
    appeals.file_appeal(db, candidate, appealed, "Rivedere il C02.", now)
    susp = case(CaseStatus.SUSPENDED_INACTIVE)
    susp.suspended_from = CaseStatus.IDENTIFICATION.value
    cases = {
        "draft": case(CaseStatus.DRAFT, assigned=False),
        "draft_del": case(CaseStatus.DRAFT, assigned=False),
        "submitted": case(CaseStatus.SUBMITTED, assigned=False),
        "accepted": case(CaseStatus.IN_ACCOGLIENZA, assigned=False),
        "refused": case(CaseStatus.IN_ACCOGLIENZA, assigned=False),
        "tcase": case(CaseStatus.IDENTIFICATION),
        "ti": case(CaseStatus.TRANSPARENCY_ISSUED),
        "ti_val": case(CaseStatus.TRANSPARENCY_ISSUED),
        "rev_int": reviewed(),
        "rev_ins": reviewed(),
        "rev_plan": reviewed(),
        "integ": integ,
        "sched": scheduled(panel),
        "sched_open": declared(panel),
        "progress": opened(panel),
        "prating": opened(panel),
        "valp": decided(panel, full=False),
        "valp_doc": decided(panel, full=False),
        "certn": certn,
        "certified": certified,
        "partial": decided(panel, full=False),
        "appealed": appealed,
        "susp": susp,
        "wcase": case(CaseStatus.IDENTIFICATION),
        "ccase": case(CaseStatus.IDENTIFICATION),
    }
    assert tuple(cases) == CASE_NAMES
    # The portfolio: the profile it is mapped to, things to delete, a testimonial, a link.
    person = candidate.person
    db.add(PortfolioTarget(person_id=person.id, profile_id=p01.id))
    experience = make_experience(db, person)
    testimonial = make_evidence(
        db,
        experience,
        type=EvidenceType.TESTIMONIANZA_TERZI,
        url=None,
        text="Ha gestito l'accoglienza.",
        referee_name="Maria Bianchi",
        referee_email="maria.bianchi@example.org",
    )
    evidence = db.get_one(Evidence, world.ev)
    c03 = db.get_one(Competence, catalogue["DEMO-C03"])
    link = link_evidence(db, candidate, evidence, c03, None, "", NOW)
    tokens = {
        role: create_api_token(db, account, "matrix", NOW)[1] for role, account in accounts.items()
    }
    revocable, _secret = create_api_token(db, candidate, "to revoke", NOW)
    passkey = PasskeyCredential(
        user_id=accounts["signatory"].id,  # who also has the app: the passkey may go
        credential_id=b"matrix-passkey",
        public_key=b"-",
        sign_count=0,
        name="Matrix",
        transports=[],
        created_at=NOW,
    )
    db.add(passkey)
    # With a passkey the signatory is asked for a second factor at login: the app's code.
    key = SF.encryption_key(app.config["SECRET_KEY"])
    SF.enrol_totp_with_secret(db, accounts["signatory"], key, pyotp.random_base32(), NOW)
    doomed = {"exp_del": make_experience(db, person).id, "ev_del": make_evidence(db, experience).id}
    db.commit()
    return ActionWorld(
        **vars(world),
        cases={name: found.id for name, found in cases.items()},
        exp_del=doomed["exp_del"],
        ev_del=doomed["ev_del"],
        tev=testimonial.id,
        link=link.id,
        token=revocable.id,
        passkey=passkey.id,
        api_tokens=tokens,
        partner_member=accounts["partner"].person_id,
        referee_token=make_referee_token(testimonial, app.config["SECRET_KEY"]),
        p01=p01.id,
        c01=str(catalogue["DEMO-C01"]),
        c02=catalogue["DEMO-C02"],
        c02_criteria=[
            f"{c.competence_id}:{c.id}"
            for c in db.get_one(Competence, catalogue["DEMO-C02"]).criteria[:2]
        ],
    )


@pytest.fixture
def world(db: Session, app: Flask) -> ActionWorld:
    return build_action_world(db, app)


# --- what changed ---------------------------------------------------------------------------


def table_queries(connection: Connection) -> list[str]:
    """SQL reading every table of the models' metadata, rows in primary-key order; of the
    security log, all but the refusals it records (a refusal is written there on purpose), and
    of the signed chain heads all but the audit chain's, which each refusal moves on."""
    queries = []
    for table in ModelBase.metadata.sorted_tables:
        query = select(table).order_by(*table.primary_key.columns)
        if table.name == "audit_events":
            query = query.where(table.c.action != "access.refused")
        if table.name == "audit_chain_heads":
            query = query.where(table.c.chain != "audit")
        queries.append(str(query.compile(connection, compile_kwargs={"literal_binds": True})))
    return queries


def fingerprint(connection: Connection, queries: list[str], storage_root: Path) -> str:
    """A digest of every row of every table and of every stored blob's name and size (blobs are
    named by their content's sha256).

    Nothing is left out: no refusal in the matrix may legitimately write (the one that does, a
    failed login recording the attempt, is not posted: no row sends a wrong password).
    """
    digest = hashlib.sha256()
    cursor = connection.connection.cursor()  # the DB-API's rows: much faster than ORM rows
    try:
        for query in queries:
            cursor.execute(query)
            digest.update(query.encode())
            digest.update(repr(cursor.fetchall()).encode())
    finally:
        cursor.close()
    for path in sorted(storage_root.rglob("*")) if storage_root.exists() else []:
        digest.update(f"{path.relative_to(storage_root)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()


# --- the matrix -----------------------------------------------------------------------------


def _post(
    client: FlaskClient, template: str, world: ActionWorld, role: str, csrf: str
) -> TestResponse:
    url = fill(template, world)
    fields = FORMS[template](world) if template in FORMS else {}
    if template == "/api/v1/certificates/bulk":
        headers = {"Idempotency-Key": "matrix-bulk-0001"}
        if role in world.api_tokens:
            headers["Authorization"] = f"Bearer {world.api_tokens[role]}"
        return client.post(url, json=fields, headers=headers)
    if template.startswith("/api/"):
        return client.post(url, data=fields)  # token API: no cookies, no CSRF
    return client.post(url, data={**fields, "csrf_token": csrf})


def _answer(response: TestResponse) -> Expected:
    if response.status_code == 302 and urlsplit(response.location).path == "/login":
        return LOGIN
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_action_matrix(
    app: Flask, connection: Connection, world: ActionWorld, role: str, renderer: Any
) -> None:
    app.extensions["attesta.renderer"] = renderer  # fonts loaded once for the run
    client = client_for(app, world, role)
    csrf = csrf_token(client, "/login" if role == "anonymous" else "/dashboard")
    index = ROLES.index(role)
    wrong: dict[str, tuple[Expected, Expected]] = {}
    changed = []
    queries, blobs = table_queries(connection), app.extensions["attesta.storage"].root
    before = fingerprint(connection, queries, blobs)
    for template, expected in ACTION_MATRIX.items():
        answer = _answer(_post(client, template, world, role, csrf))
        after = fingerprint(connection, queries, blobs)
        if answer != expected[index]:
            wrong[template] = (answer, expected[index])
        if (answer in REFUSED or expected[index] in REFUSED) and after != before:
            changed.append(template)
        before = after
    # wrong: template -> (answer, expected); changed: refused, yet something changed
    assert (wrong, changed) == ({}, [])


def test_every_post_route_is_in_the_matrix(app: Flask) -> None:
    assert missing_routes(app, "POST", list(ACTION_MATRIX), ACTION_PLACEHOLDERS) == []


def test_every_form_belongs_to_a_row() -> None:
    assert set(FORMS) <= set(ACTION_MATRIX)


@pytest.mark.slow
def test_an_administrator_cancels_a_case_they_do_not_otherwise_see(
    app: Flask, world: ActionWorld, db: Session
) -> None:
    client = client_for(app, world, "admin")
    csrf = csrf_token(client, "/dashboard")
    url = fill("/cases/{ccase}/cancel", world)
    assert client.post(url, data={"csrf_token": csrf}).status_code == 422  # a reason is needed
    reason = {"csrf_token": csrf, "reason": "Evidenze false accertate."}
    unconfirmed = client.post(url, data=reason)  # the consequence is confirmed, or nothing
    assert unconfirmed.status_code == 422 and "Spunta la casella" in unconfirmed.get_data(True)
    db.expire_all()
    assert db.get_one(CertificationCase, world.cases["ccase"]).status != CaseStatus.CANCELLED
    response = client.post(url, data={**reason, "confirm": "y"})
    assert response.status_code == 302 and urlsplit(response.location).path == "/cases/"
    db.expire_all()
    assert db.get_one(CertificationCase, world.cases["ccase"]).status == CaseStatus.CANCELLED
    # A draft is its candidate's alone: not even the administrator finds it.
    draft = fill("/cases/{draft}/cancel", world)
    assert client.post(draft, data={"csrf_token": csrf, "reason": "x"}).status_code == 404

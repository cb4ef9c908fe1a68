"""Certificates on the web: issuing (signatory), the holder's downloads, status changes, and
the published status lists.

One module over 600 lines because the issuing pages (one, preview, bulk) and the certificate's
own pages (detail, files, status changes, correction) share its look-up, the one issue path and
the status-change path (:func:`_certificate`, :func:`_issue`, :func:`_status_change`); sharing
and the holder's fast download are apart (:mod:`app.certificates.sharing`,
:mod:`app.certificates.holder_download`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import load_only
from werkzeug.wrappers import Response

from app.auth.second_factor import fresh_second_factor
from app.auth.sessions import current_account
from app.certificates.blueprint import bp
from app.certificates.forms import (
    BulkForm,
    PublicCheckForm,
    ReasonForm,
    RevokeForm,
    SuspendForm,
)
from app.db import committed_once, db_session
from app.errors import explain
from app.extensions import limiter
from app.i18n import localized
from app.jobs import start_bulk_run
from app.labels import CERTIFICATE_STATUS_LABELS, certificate_name
from app.mail import send_template
from app.services import issuer, verification_recorder
from app.web import EmptyForm, flash_form_errors, send_stored
from certification.cases.states import CaseEvent
from certification.cases.workflow import CONSENT_TEXT_VERSION, actor_may
from certification.certificates import badges, status_lists
from certification.certificates import lifecycle as C
from certification.certificates.bulk import (
    awaiting_certificate,
    bulk_request_by_key,
    bulk_requests_of,
    is_stalled,
    start_bulk,
)
from certification.certificates.issuance import issue_one
from certification.certificates.production import render_preview, verify_url
from certification.certificates.states import CertificateChange
from certification.clock import utcnow
from certification.errors import AccessRefused, DomainError, InvalidInput, NotFound, NotPermitted
from certification.models import (
    BulkIssuance,
    Certificate,
    CertificateStatus,
    CertificationCase,
    ConsentPurpose,
    Organisation,
    StatusPurpose,
)
from certification.people.roles import OrganisationKind
from certification.policy import can_view_certificate, get_case, is_signatory
from certification.standards import latest_profile
from certification.supervision.access_log import note_view
from certification.verification.checks import (
    verification_count,
)
from certification.verification.public import (
    public_consents,
    set_public_consents,
)


@functools.cache
def _for_download() -> Any:
    """What a download reads of a certificate: not its content (kilobytes of JSON to decode).
    Built on first use: building it configures every mapper, which a command need not pay
    (startup time, issue 20)."""
    return load_only(
        Certificate.status,
        Certificate.holder_person_id,
        Certificate.organisation_id,
        Certificate.number,
        Certificate.pdf_sha256,
        Certificate.credential_sha256,
    )


def _certificate(certificate_id: uuid.UUID, *options: Any) -> Certificate:
    """A certificate the current account may see (:func:`policy.can_view_certificate`)."""
    actor = current_account()
    found = db_session().get(Certificate, certificate_id, options=options)
    if found is None or found.status not in C.PUBLIC_STATES:
        raise NotFound("no such certificate")
    if not can_view_certificate(actor, found):
        raise AccessRefused("certificate", certificate_id)
    return found


def _note_view(certificate: Certificate, what: str) -> None:
    """A supervisor's view of the certificate (its page or a file) goes to the audit log."""
    note_view(
        db_session(),
        current_account(),
        certificate.case,
        what,
        certificate.id,
        utcnow(),
        number=certificate.number,
        status=certificate.status.value,
    )


def _issue(actor_id: uuid.UUID, case_id: uuid.UUID, refused: str, **correction: Any) -> Response:
    """Issue (or correct) outside this request's transaction, then tell the holder.

    Issuance commits in its own transactions, so this request's read is ended first (SQLite
    would refuse to upgrade a stale read to a write afterwards).
    """
    session = db_session()
    session.rollback()
    try:
        # Once: if this request runs again (a busy database at its commit, after issuing), the
        # certificate issued by the first try is the answer, not a refusal to issue twice.
        done = committed_once(
            "issued", lambda: issue_one(issuer(), actor_id, case_id, **correction)
        )
    except C.AlreadyIssued as exc:  # a second click: the answer is the first one's certificate
        issued = session.scalar(
            select(Certificate)
            .where(Certificate.case_id == case_id, Certificate.status.in_(C.PUBLIC_STATES))
            .order_by(Certificate.generation.desc())
        )
        flash(explain(exc), "info")
        return redirect(
            url_for("certificates.detail", certificate_id=issued.id) if issued else refused
        )
    except DomainError as exc:  # refused before anything was issued
        flash(explain(exc), "error")
        return redirect(refused)
    # The holder's e-mail was enqueued with the certificate (Issuer.on_issued).
    flash(_("Certificate %(number)s issued and sealed.", number=done.number), "success")
    return redirect(url_for("certificates.detail", certificate_id=done.id))


def issuing_organisation(certificate: Certificate) -> dict[str, str]:
    """How the add-to-profile link names the issuer: by its LinkedIn company id when the ente
    has one (LinkedIn then shows the company and its logo), else by the certificate's name for
    it. LinkedIn takes one or the other, never both."""
    organization_id = certificate.organisation.linkedin_organization_id
    if organization_id:
        return {"organizationId": organization_id}
    return {"organizationName": certificate.content["ente"]["legal_name"]}


def linkedin_url(certificate: Certificate) -> str:
    """LinkedIn's add-to-profile link for a certification, pointing at the public check."""
    content = certificate.content
    issued = certificate.issued_at
    with force_locale(certificate.locale):  # the name in the certificate's language
        name = certificate_name(
            content["standard"][
                "profile_title_it" if certificate.locale == "it" else "profile_title_en"
            ],
            C.certificate_coverage(certificate),
        )
    return "https://www.linkedin.com/profile/add?" + urlencode(
        {
            "startTask": "CERTIFICATION_NAME",
            "name": name,
            **issuing_organisation(certificate),
            "issueYear": issued.year,
            "issueMonth": issued.month,
            "certUrl": verify_url(content["base_url"], certificate.verification_code),
            "certId": certificate.number,
        }
    )


@bp.post("/cases/<uuid:case_id>/certificate")
@login_required
@fresh_second_factor
def issue(case_id: uuid.UUID) -> Response:
    """The signatory issues the certificate of a CERTIFIED case (#20)."""
    session = db_session()
    actor = current_account()
    case = get_case(session, actor, case_id)
    if not actor_may(actor, case, CaseEvent.ISSUE_CERTIFICATE):
        # Refused here: the issuance below reports its refusals as a message on the page.
        raise NotPermitted("only a signatory of the ente issues certificates")
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("cases.detail", case_id=case.id))
    return _issue(actor.id, case.id, url_for("cases.detail", case_id=case.id))


@bp.get("/cases/<uuid:case_id>/certificate/preview.pdf")
@login_required
def preview(case_id: uuid.UUID) -> Response:
    """The certificate the signatory would seal now, marked "ANTEPRIMA — non valido" on every
    page: rendered for this request only, never stored, numbered, sealed or cached."""
    from app.services import renderer

    session = db_session()
    actor = current_account()
    case = get_case(session, actor, case_id)
    if not actor_may(actor, case, CaseEvent.ISSUE_CERTIFICATE):
        raise NotPermitted("only a signatory of the ente issues certificates")
    content, _locale = C.preview_content(
        session, actor, case, utcnow(), base_url=str(current_app.config["BASE_URL"])
    )
    response = Response(render_preview(content, renderer()), mimetype="application/pdf")
    name = "".join(ch if ch.isalnum() else "-" for ch in case.protocol_number or "case")
    response.headers["Content-Disposition"] = f'inline; filename="anteprima-preview-{name}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/certificates/bulk/", methods=["GET", "POST"])
@login_required
@fresh_second_factor
def bulk() -> Any:
    """The signatory issues many certified cases at once; the work runs in the background (on
    the job queue when there is one) and the progress page follows it."""
    session, actor = db_session(), current_account()
    if not is_signatory(actor):
        raise NotPermitted("only signatories issue certificates")
    waiting = awaiting_certificate(session, actor)
    shown, filters = _bulk_filters(waiting)
    form = BulkForm()
    choices = [str(case.id) for case in waiting]
    if form.is_submitted() and form.request_key.data:
        # A repeated submission (a double click, a resume) names cases issued since: allowed,
        # since start_bulk returns the earlier request for the same key and cases.
        earlier = bulk_request_by_key(session, actor, form.request_key.data)
        choices += earlier.case_ids if earlier else []
    form.cases.choices = choices
    selecting = request.form.get("select") if form.is_submitted() else None
    if selecting in {"all", "none"}:  # without JavaScript: select all (or none) of those shown
        form.cases.data = [str(case.id) for case in shown] if selecting == "all" else []
        form.cases.errors = []
    elif form.validate_on_submit():
        ids = [uuid.UUID(case_id) for case_id in form.cases.data or []]
        bulk_request, created = start_bulk(
            session, actor, form.request_key.data or "", ids, utcnow()
        )
        if created or is_stalled(bulk_request, utcnow()):
            start_bulk_run(bulk_request.id)
        return redirect(url_for("certificates.bulk_progress", bulk_id=bulk_request.id))
    if not form.is_submitted():
        form.request_key.data = f"web-{uuid.uuid4()}"
    return render_template(
        "certificates/bulk.html",
        form=form,
        waiting=shown,
        filters=filters,
        requests=bulk_requests_of(session, actor),
    )


def _bulk_filters(waiting: Any) -> tuple[list[CertificationCase], dict[str, Any]]:
    """The waiting cases the filters keep (profile, ente), and the filters' choices. Values
    that match no choice are refused with a message, and the whole list is shown."""
    profiles = sorted(
        {(c.target_profile.code, localized(c.target_profile, "title")) for c in waiting}
    )
    entes = sorted({(str(c.ente_titolato_id), c.ente_titolato.short_name) for c in waiting})
    profile = request.args.get("profile", "")
    ente = request.args.get("ente", "")
    if (profile and profile not in dict(profiles)) or (ente and ente not in dict(entes)):
        flash(_("That filter matches none of the cases waiting: all of them are shown."), "error")
        profile = ente = ""
    shown = [
        c
        for c in waiting
        if (not profile or c.target_profile.code == profile)
        and (not ente or str(c.ente_titolato_id) == ente)
    ]
    return shown, {
        "profiles": profiles,
        "entes": entes,
        "profile": profile,
        "ente": ente,
        "total": len(waiting),
    }


@bp.get("/certificates/bulk/<uuid:bulk_id>")
@login_required
def bulk_progress(bulk_id: uuid.UUID) -> Any:
    """How far a bulk request has got, item by item (the page reloads itself until done)."""
    session, actor = db_session(), current_account()
    bulk_request = session.get(BulkIssuance, bulk_id)
    if bulk_request is None or bulk_request.requested_by_id != actor.id:
        raise NotFound("no such bulk issuance")
    cases = {
        str(case.id): case
        for case in session.scalars(
            select(CertificationCase).where(
                CertificationCase.id.in_([uuid.UUID(i) for i in bulk_request.case_ids])
            )
        )
    }
    return render_template(
        "certificates/bulk_progress.html",
        bulk_request=bulk_request,
        cases=cases,
        done=sum(1 for item in bulk_request.items if item["status"] != "pending"),
        stalled=is_stalled(bulk_request, utcnow()),
        resume=BulkForm(formdata=None, request_key=bulk_request.idempotency_key),
    )


@bp.get("/certificates/<uuid:certificate_id>")
@login_required
def detail(certificate_id: uuid.UUID) -> Any:
    certificate = _certificate(certificate_id)
    _note_view(certificate, "certificate")
    actor = current_account()
    session = db_session()
    successor = (
        session.get(Certificate, certificate.superseded_by_id)
        if certificate.superseded_by_id
        else None
    )
    return render_template(
        "certificates/detail.html",
        certificate=certificate,
        content=certificate.content,
        is_holder=certificate.holder_person_id == actor.person_id,
        may_manage=C.may_manage(actor, certificate),
        changes=C.allowed_certificate_changes(actor, certificate),
        successor=successor,
        code=C.format_code(certificate.verification_code),
        verify=verify_url(certificate.content["base_url"], certificate.verification_code),
        linkedin=linkedin_url(certificate),
        coverage=C.certificate_coverage(certificate),
        revoke_form=RevokeForm(prefix="revoke"),
        reinstate_form=ReasonForm(prefix="reinstate"),
        correct_form=ReasonForm(prefix="correct"),
        public_form=_public_form(certificate),
        verifications=verification_count(session, certificate.id)
        + verification_recorder().pending_for(certificate.id),
    )


def _public_form(certificate: Certificate) -> PublicCheckForm:
    chosen = public_consents(db_session(), certificate)
    return PublicCheckForm(
        prefix="public",
        formdata=None,
        show_name=ConsentPurpose.PUBLIC_VERIFICATION_PAGE in chosen,
        show_evidence=ConsentPurpose.PUBLIC_EVIDENCE in chosen,
    )


@bp.post("/certificates/<uuid:certificate_id>/public")
@login_required
def public_check(certificate_id: uuid.UUID) -> Response:
    """The holder chooses what the public check shows (consents, withdrawable at any time)."""
    certificate = _certificate(certificate_id)
    form = PublicCheckForm(prefix="public")
    if form.validate_on_submit():
        set_public_consents(
            db_session(),
            current_account(),
            certificate,
            show_name=bool(form.show_name.data),
            show_evidence=bool(form.show_evidence.data),
            text_version=CONSENT_TEXT_VERSION,
            now=utcnow(),
        )
        flash(_("Your choices for the public check are saved."), "success")
    return redirect(url_for("certificates.detail", certificate_id=certificate.id))


@bp.get("/certificates/<uuid:certificate_id>/certificate.pdf")
@login_required
def pdf(certificate_id: uuid.UUID) -> Response:
    """The stored, sealed bytes: never rendered again."""
    certificate = _certificate(certificate_id, _for_download())
    if certificate.pdf_sha256 is None:  # pragma: no cover - public states have bytes
        raise NotFound("no such certificate")
    _note_view(certificate, "certificate.pdf")
    # (The holder's own download is usually answered before this view: holder_download.)
    return send_stored(
        certificate.pdf_sha256, "application/pdf", f"{certificate.number}.pdf", immutable=True
    )


@bp.get("/certificates/<uuid:certificate_id>/credential.json")
@login_required
def credential(certificate_id: uuid.UUID) -> Response:
    """The signed Open Badges 3.0 credential, as stored (the one inside the PDF)."""
    certificate = _certificate(certificate_id, _for_download())
    if certificate.credential_sha256 is None:  # pragma: no cover
        raise NotFound("no such certificate")
    _note_view(certificate, "certificate.credential")
    return send_stored(
        certificate.credential_sha256, "application/json", f"{certificate.number}.credential.json"
    )


def _status_change(
    certificate_id: uuid.UUID,
    form: Any,
    change: Any,
    message: str,
    target: CertificateStatus,
    page: Any = None,
) -> Any:
    certificate = _certificate(certificate_id)
    if not C.may_manage(current_account(), certificate):
        raise NotPermitted("only a signatory of the ente changes a certificate's status")
    if certificate.status == target:
        # A second click, or a second signatory: done once, and nothing is done again.
        flash(
            _(
                "Nothing changed: the certificate is already in the state “%(status)s”.",
                status=CERTIFICATE_STATUS_LABELS[target],
            ),
            "info",
        )
        return redirect(url_for("certificates.detail", certificate_id=certificate.id))
    if not form.validate_on_submit():
        if page is not None:  # the confirmation page again, saying what is missing
            return page(certificate, form), 422
        flash_form_errors(form)
        return redirect(url_for("certificates.detail", certificate_id=certificate.id))
    session = db_session()
    now = utcnow()
    try:
        listed = change(session, current_account(), certificate, form, now)
    except InvalidInput as exc:
        flash(explain(exc), "error")
        return redirect(url_for("certificates.detail", certificate_id=certificate.id))
    if listed is not None:
        status_lists.publish_status_list(
            session,
            listed,
            str(current_app.config["KEY_PASSPHRASE"]).encode(),
            certificate.content["base_url"],
            now,
        )
    account = certificate.case.candidate.account
    if account is not None:
        send_template(session, account, "certificate_status", certificate=certificate)
    flash(message, "success")
    return redirect(url_for("certificates.detail", certificate_id=certificate.id))


def _revoke(session: Any, actor: Any, certificate: Certificate, form: RevokeForm, now: Any) -> Any:
    if not form.confirms(certificate.number):  # nothing changes: the number did not match
        raise InvalidInput("confirmation", errors={"confirm_number": ["confirmation_mismatch"]})
    return C.revoke_certificate(
        session, actor, certificate, form.reason_code.data, form.reason.data, now
    )


@bp.post("/certificates/<uuid:certificate_id>/revoke")
@login_required
@fresh_second_factor
def revoke(certificate_id: uuid.UUID) -> Response:
    return _status_change(
        certificate_id,
        RevokeForm(prefix="revoke"),
        _revoke,
        _("The certificate is revoked; the status list is updated and the holder informed."),
        CertificateStatus.REVOKED,
    )


def _suspend_page(certificate: Certificate, form: SuspendForm) -> str:
    return render_template(
        "confirm.html",
        heading=_("Suspend certificate %(number)s", number=certificate.number),
        subject=certificate.case.candidate.full_name
        + " — "
        + certificate.content["standard"][
            "profile_title_it" if certificate.locale == "it" else "profile_title_en"
        ],
        consequences=[
            _(
                "Until it is reinstated, every check of this certificate (QR code, code, "
                "uploaded PDF) reads it as suspended."
            ),
            _(
                "The status list is signed again at once, so wallets and outside verifiers see "
                "it too."
            ),
            _(
                "The holder is told by e-mail. A suspension can be lifted: reinstate the "
                "certificate when the check is over."
            ),
        ],
        form=form,
        fields=["reason_code", "reason"],
        action=url_for("certificates.suspend", certificate_id=certificate.id),
        submit=_("Suspend the certificate"),
        danger=True,
        back=url_for("certificates.detail", certificate_id=certificate.id),
    )


@bp.route("/certificates/<uuid:certificate_id>/suspend", methods=["GET", "POST"])
@login_required
@fresh_second_factor
def suspend(certificate_id: uuid.UUID) -> Any:
    """GET: the confirmation naming the consequence; POST: suspend (when confirmed)."""
    if request.method == "GET":
        certificate = _certificate(certificate_id)
        if not C.may_manage(current_account(), certificate):
            raise NotPermitted("only a signatory of the ente changes a certificate's status")
        if CertificateChange.SUSPENDED not in C.allowed_certificate_changes(
            current_account(), certificate
        ):
            return redirect(url_for("certificates.detail", certificate_id=certificate.id))
        return _suspend_page(certificate, SuspendForm(prefix="suspend", formdata=None))
    return _status_change(
        certificate_id,
        SuspendForm(prefix="suspend"),
        lambda s, a, c, f, now: C.suspend_certificate(
            s, a, c, f.reason_code.data, f.reason.data, now
        ),
        _("The certificate is suspended; the status list is updated and the holder informed."),
        CertificateStatus.SUSPENDED,
        _suspend_page,
    )


@bp.post("/certificates/<uuid:certificate_id>/reinstate")
@login_required
@fresh_second_factor
def reinstate(certificate_id: uuid.UUID) -> Response:
    return _status_change(
        certificate_id,
        ReasonForm(prefix="reinstate"),
        lambda s, a, c, f, now: C.reinstate_certificate(s, a, c, f.reason.data, now),
        _("The certificate is valid again; the status list is updated and the holder informed."),
        CertificateStatus.ISSUED,
    )


@bp.post("/certificates/<uuid:certificate_id>/correct")
@login_required
@fresh_second_factor
def correct(certificate_id: uuid.UUID) -> Response:
    """A correction (rettifica): a new certificate from the current data; this one is
    SUPERSEDED and points to it."""
    certificate = _certificate(certificate_id)
    if not C.may_manage(current_account(), certificate):
        raise NotPermitted("only a signatory of the ente corrects certificates")
    form = ReasonForm(prefix="correct")
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("certificates.detail", certificate_id=certificate.id))
    return _issue(
        current_account().id,
        certificate.case_id,
        url_for("certificates.detail", certificate_id=certificate.id),
        supersedes_id=certificate.id,
        correction_note=form.reason.data,
    )


@bp.get("/badges/<profile_code>.png", defaults={"lang": "it"})
@bp.get("/badges/<lang>/<profile_code>.png")
@limiter.exempt
def badge(profile_code: str, lang: str) -> Response:
    """A profile's badge (public): the image new certificates carry in their credential, for
    LinkedIn, wallets and pages; Italian at /badges/<code>.png, English at /badges/en/..."""
    if lang not in badges.LANGUAGES:
        raise NotFound("no such badge")
    profile = latest_profile(db_session(), profile_code)
    png = badges.badge_png(profile.code, getattr(profile, f"title_{lang}"), lang)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # for other sites' pages
    response.set_etag(hashlib.sha256(png).hexdigest())
    return response.make_conditional(request)


@bp.get("/status/<uuid:organisation_id>/<purpose>.json")
@limiter.exempt
def status_list(organisation_id: uuid.UUID, purpose: str) -> Response:
    """The ente's signed Bitstring Status List credential, as last published (public)."""
    session = db_session()
    organisation = session.get(Organisation, organisation_id)
    if (
        organisation is None
        or organisation.kind != OrganisationKind.ENTE_TITOLATO
        or purpose not in {p.value for p in StatusPurpose}
    ):
        raise NotFound("no such status list")
    # Readers never write: an ente that has issued nothing gets an empty list signed now.
    listed = status_lists.status_list(
        session, organisation.id, StatusPurpose(purpose), create=False
    )
    body = listed.credential or status_lists.signed_status_list(
        session,
        listed,
        str(current_app.config["KEY_PASSPHRASE"]).encode(),
        str(current_app.config["BASE_URL"]).rstrip("/"),
        listed.updated_at if listed.updated_at.year > 1970 else utcnow(),
    )
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/vc+ld+json")
    # Short cache: a revocation must reach verifiers quickly.
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

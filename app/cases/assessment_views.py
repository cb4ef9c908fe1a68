"""Validation and certification on the web: the certifier's and assessors' work on a case.

One module over 600 lines because the review, panel, session, outcome, certification and appeal
steps all render the one case page of :mod:`app.cases.views` with their forms, in the order the
case takes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from werkzeug.wrappers import Response

from app.auth.second_factor import fresh_second_factor
from app.auth.sessions import current_account
from app.cases.blueprint import bp
from app.cases.forms import (
    AppealForm,
    CancelForm,
    CertifyForm,
    DeclarationForm,
    IntegrationForm,
    OpenSessionForm,
    PlanForm,
    RateForm,
    RationaleForm,
    VersionedForm,
)
from app.cases.views import (
    _case,
    _detail,
    _done,
    _simple,
    _staff_of,
    already_done,
    confirm_page,
    confirmed,
    may_do,
    plan_form,
)
from app.db import db_session
from app.errors import explain, field_message
from app.i18n import current_language
from app.mail import send_template
from app.web import place_field_errors, send_stored
from certification.cases import appeals, panels
from certification.cases import assessment as A
from certification.cases.invitations import CONTENT_TYPE, invitation
from certification.cases.states import CaseEvent, CaseStatus
from certification.cases.workflow import linked_evidence_for_case
from certification.clock import NonexistentLocalTime, rome_to_utc, utcnow
from certification.errors import InvalidInput, NotFound, NotPermitted
from certification.models import (
    AssessmentMethod,
    AssessmentSession,
    CertificationCase,
    Outcome,
    PanelFunction,
    UserAccount,
)
from certification.outbox import Attachment
from certification.people.roles import Role
from certification.policy import can_view_case, may_cancel_case
from certification.supervision.access_log import note_view


def _notify_candidate(
    case: CertificationCase,
    template: str,
    attachments: Callable[[UserAccount], list[Attachment]] | None = None,
    **context: Any,
) -> None:
    account = case.candidate.account
    if account is not None:
        files = attachments(account) if attachments else []
        send_template(db_session(), account, template, attachments=files, case=case, **context)


def _convocation(
    case: CertificationCase, assessment: AssessmentSession, *, panel: bool = False
) -> Callable[[UserAccount], list[Attachment]]:
    """The convocation's calendar invitation, in the reader's language: the session at Rome's
    time, one UID per session (the calendar updates rather than duplicates it). The candidate
    and each member of the panel (``panel``) get one, each as its attendee."""

    def make(account: UserAccount) -> list[Attachment]:
        with force_locale(account.locale):
            if panel:
                summary = _(
                    "Assessment panel: %(candidate)s (application %(number)s)",
                    candidate=case.candidate.full_name,
                    number=case.protocol_number,
                )
                description = _(
                    "Before the session, declare on the application page whether you have a "
                    "conflict of interest."
                )
            else:
                summary = _(
                    "Assessment of competences (application %(number)s)",
                    number=case.protocol_number,
                )
                description = _("Bring an identity document.")
        sender_name, sender = parseaddr(current_app.config["MAIL_FROM"])
        host = urlsplit(current_app.config["BASE_URL"]).hostname or "attesta"
        ics = invitation(
            uid=f"assessment-{assessment.id}@{host}",
            start=assessment.scheduled_at,
            summary=summary,
            description=description,
            location=assessment.location,
            organiser=(sender, sender_name or "Attesta"),
            attendee=(account.email, account.person.full_name),
            now=utcnow(),
        )
        return [Attachment("convocazione.ics", CONTENT_TYPE, ics)]

    return make


def _errors_to_flash(exc: InvalidInput) -> None:
    flash(explain(exc), "error")


def _panel_from(form: PlanForm, case: CertificationCase) -> list[panels.PanelChoice]:
    people = {
        str(p.id): p for p in _staff_of(case, Role.CERTIFICATORE) + _staff_of(case, Role.ASSESSOR)
    }
    panel = [
        panels.PanelChoice(people[i], PanelFunction.CERTIFICATORE)
        for i in form.certifiers.data or []
        if i in people
    ]
    panel += [
        panels.PanelChoice(people[i], PanelFunction.ASSESSOR)
        for i in form.assessors.data or []
        if i in people
    ]
    return panel


# --- the candidate asks for validation --------------------------------------------------------


@bp.post("/<uuid:case_id>/request-validation")
@login_required
def request_validation(case_id: uuid.UUID) -> Any:
    return _simple(
        case_id, A.request_validation, _("Your dossier has gone to the certifiers for review.")
    )


# --- review -----------------------------------------------------------------------------------


@bp.get("/<uuid:case_id>/review")
@login_required
def review(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    actor = current_account()
    if case.snapshot is None or case.candidate_id == actor.person_id:
        raise NotFound("no review")
    may_rate = case.status in {
        CaseStatus.DOSSIER_REVIEW,
        CaseStatus.ASSESSMENT_IN_PROGRESS,
    } and A.may_rate(actor, case)
    linked = linked_evidence_for_case(db_session(), case)
    by_code = {cc.competence.code: linked.get(cc.competence_id, []) for cc in case.competences}
    return render_template(
        "cases/review.html",
        case=case,
        competences=A.snapshot_competences(case),
        ratings=A.current_ratings(case),
        evidence=by_code,
        may_rate=may_rate,
        rate_form=RateForm(formdata=None),
    )


@bp.post("/<uuid:case_id>/ratings")
@login_required
def rate(case_id: uuid.UUID) -> Response:
    case = _case(case_id)
    form = RateForm()
    form.level_code.choices = [(request.form.get("level_code", ""), "")]
    anchor = request.form.get("criterion_code", "")
    if form.is_submitted() and not request.form.get("level_code"):
        flash(
            _("Choose a level for %(code)s before saving: nothing was saved.", code=anchor), "error"
        )
    elif form.validate_on_submit():
        try:
            A.rate_criterion(
                db_session(),
                current_account(),
                case,
                form.competence_code.data or "",
                form.criterion_code.data or "",
                form.level_code.data or "",
                form.note.data or "",
                utcnow(),
            )
        except InvalidInput as exc:
            _errors_to_flash(exc)
        else:
            flash(_("The rating of %(code)s has been saved.", code=anchor), "success")
    return redirect(url_for("cases.review", case_id=case.id) + f"#crit-{anchor}")


@bp.get("/<uuid:case_id>/evidence/<uuid:evidence_id>/view")
@login_required
def view_evidence(case_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
    """Evidence shown inline for the reviewers: images and PDFs only, never other types."""
    case = _case(case_id)
    found = next(
        (
            e
            for items in linked_evidence_for_case(db_session(), case).values()
            for e in items
            if e.id == evidence_id
        ),
        None,
    )
    if found is None or found.file is None:
        raise NotFound("evidence not found")
    note_view(
        db_session(),
        current_account(),
        case,
        "evidence.file",
        found.id,
        utcnow(),
        file_name=found.file_name or "",
    )
    media_type = found.file.media_type
    response = send_stored(found.file.sha256, media_type, found.file_name or "file")
    if media_type in {"image/png", "image/jpeg", "application/pdf"}:
        response.headers["Content-Disposition"] = "inline"
        # PDFs checked at upload carry no scripts; the viewer needs no sandbox to render them.
        if media_type != "application/pdf":
            response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        else:
            response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.post("/<uuid:case_id>/integration")
@login_required
def request_integration(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = IntegrationForm()
    if form.validate_on_submit():
        try:
            A.request_integration(
                db_session(),
                current_account(),
                case,
                form.note.data or "",
                form.deadline.data,
                utcnow(),
                expected_version=form.expected_version(),
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.note)
            return _detail(case, 422, integration_form=form)
        _notify_candidate(case, "integration_requested")
        return _done(case, _("The candidate has been asked for more evidence."))
    return _detail(case, 422, integration_form=form)


@bp.post("/<uuid:case_id>/resubmit")
@login_required
def resubmit(case_id: uuid.UUID) -> Any:
    return _simple(case_id, A.resubmit, _("The completed dossier has gone back to the certifiers."))


@bp.post("/<uuid:case_id>/insufficient")
@login_required
def dossier_insufficient(case_id: uuid.UUID) -> Any:
    return _with_rationale(
        case_id,
        A.dossier_insufficient,
        "dossier_insufficient",
        {},
        _(
            "The dossier has been declared insufficient; the candidate is told "
            "why and may ask for a review."
        ),
        "insufficient_form",
    )


def _with_rationale(
    case_id: uuid.UUID,
    operation: Callable[..., Any],
    template: str,
    context: dict[str, Any],
    message: str,
    form_name: str,
) -> Any:
    """A decision the candidate is told with its reasons: ``operation`` with the rationale typed
    (the case at the version it was shown with), then the ``template`` message to the candidate;
    the page again with the form under ``form_name`` when the rationale is missing."""
    case = _case(case_id)
    form = RationaleForm()
    if not form.validate_on_submit():
        return _detail(case, 422, **{form_name: form})
    operation(
        db_session(),
        current_account(),
        case,
        form.rationale.data or "",
        utcnow(),
        expected_version=form.expected_version(),
    )
    _notify_candidate(case, template, **context)
    return _done(case, message)


# --- panel and session ------------------------------------------------------------------------


@bp.post("/<uuid:case_id>/plan")
@login_required
def plan(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = plan_form(case, formdata=request.form)
    if not form.validate_on_submit():
        return _detail(case, 422, plan_form=form)
    try:  # typed on Rome's wall clock, stored in UTC
        scheduled_at = rome_to_utc(form.scheduled_at.data)
    except NonexistentLocalTime:
        form.scheduled_at.errors = [field_message("nonexistent_local_time")]
        return _detail(case, 422, plan_form=form)
    session, actor, now = db_session(), current_account(), utcnow()
    appeal = case.status.value == "appeal_pending"
    try:
        if appeal:
            appeals.uphold_appeal(
                session,
                actor,
                case,
                form.rationale.data or "",
                methods=[AssessmentMethod(m) for m in form.methods.data or []],
                scheduled_at=scheduled_at,
                location=form.location.data or "",
                panel=_panel_from(form, case),
                now=now,
                expected_version=form.expected_version(),
            )
        else:
            panels.plan_assessment(
                session,
                actor,
                case,
                methods=[AssessmentMethod(m) for m in form.methods.data or []],
                scheduled_at=scheduled_at,
                location=form.location.data or "",
                panel=_panel_from(form, case),
                now=now,
                expected_version=form.expected_version(),
            )
    except InvalidInput as exc:
        place_field_errors(form, exc.errors, form.location)
        if "panel" in exc.errors:
            form.assessors.errors = [field_message(c) for c in exc.errors["panel"]]
        return _detail(case, 422, plan_form=form)
    assessment = panels.current_session(case)
    if appeal:
        _notify_candidate(case, "appeal_decided", upheld=True)
    if assessment is not None:
        _notify_candidate(
            case,
            "assessment_scheduled",
            attachments=_convocation(case, assessment),
            assessment=assessment,
        )
        panel_invitation = _convocation(case, assessment, panel=True)
        for member in assessment.members:
            if member.person.account is not None:
                send_template(
                    session,
                    member.person.account,
                    "panel_appointed",
                    attachments=panel_invitation(member.person.account),
                    case=case,
                    assessment=assessment,
                )
    return _done(
        case,
        _("The assessment is planned; the panel is asked to declare any conflict of interest."),
    )


@bp.post("/<uuid:case_id>/declaration")
@login_required
def declare(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = DeclarationForm()
    if form.validate_on_submit():
        try:
            panels.declare_conflict(
                db_session(),
                current_account(),
                case,
                form.has_conflict.data == "yes",
                form.note.data or "",
                utcnow(),
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.note)
            return _detail(case, 422, declaration_form=form)
        return _done(case, _("Your declaration has been recorded."))
    return _detail(case, 422, declaration_form=form)


@bp.post("/<uuid:case_id>/open")
@login_required
def open_session(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = OpenSessionForm()
    if form.validate_on_submit():
        try:
            panels.open_session(
                db_session(),
                current_account(),
                case,
                identity_checked=bool(form.identity_checked.data),
                now=utcnow(),
                expected_version=form.expected_version(),
            )
        except InvalidInput as exc:
            _errors_to_flash(exc)
            return _detail(case, 422)
        return _done(case, _("The session is open: rate the criteria, then record the outcomes."))
    return _detail(case, 422)


@bp.route("/<uuid:case_id>/outcomes", methods=["GET", "POST"])
@login_required
def outcomes(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    actor = current_account()
    if request.method == "POST":  # a second submission answers with the recorded outcomes
        repeated = already_done(case, CaseEvent.RECORD_OUTCOMES, VersionedForm())
        if repeated is not None:
            return repeated
    assessment = panels.current_session(case)
    if (
        assessment is None
        or actor.person_id not in {m.person_id for m in assessment.members}
        or case.status.value != "assessment_in_progress"
    ):
        raise NotFound("no outcomes to record")
    linked = linked_evidence_for_case(db_session(), case)
    by_code = {cc.competence.code: linked.get(cc.competence_id, []) for cc in case.competences}
    competences = A.snapshot_competences(case)
    ratings = A.current_ratings(case)
    form = VersionedForm()
    errors: dict[str, list[str]] = {}
    # Three steps without JavaScript: the form, the verbale's content to check ("preview"),
    # then "confirm" records it; "edit" goes back to the form with what was entered.
    step = request.form.get("step", "preview")
    if request.method == "POST" and step != "edit" and form.validate_on_submit():
        decisions = [
            A.OutcomeInput(
                competence_code=c["code"],
                outcome=Outcome(request.form.get(f"outcome-{c['code']}") or "non_validata"),
                rationale=request.form.get(f"rationale-{c['code']}", ""),
                feedback=request.form.get(f"feedback-{c['code']}", ""),
                methods=request.form.getlist(f"methods-{c['code']}"),
                evidence_ids=request.form.getlist(f"evidence-{c['code']}"),
            )
            for c in competences
        ]
        unchosen = {
            f"outcome-{c['code']}": ["outcome_required"]
            for c in competences
            if request.form.get(f"outcome-{c['code']}") not in {o.value for o in Outcome}
        }
        try:
            result = A.check_outcomes(db_session(), actor, case, decisions)
            if unchosen:
                raise InvalidInput("outcomes", errors=unchosen)
            if step == "confirm":
                A.record_outcomes(
                    db_session(),
                    actor,
                    case,
                    decisions,
                    utcnow(),
                    expected_version=form.expected_version(),
                )
        except InvalidInput as exc:
            errors = {**exc.errors}
            for key, problems in unchosen.items():
                errors[key] = problems + errors.get(key, [])
        else:
            if step != "confirm":
                return render_template(
                    "cases/outcomes_preview.html",
                    case=case,
                    decisions=decisions,
                    competences={c["code"]: c for c in competences},
                    evidence={str(e.id): e for items in by_code.values() for e in items},
                    result=RESULT_LABELS[result],
                    values=request.form,
                    form=form,
                )
            from app.services import renderer, storage
            from certification.cases.documents import issue_verbale

            issue_verbale(db_session(), storage(), renderer(), actor, case, utcnow())
            _notify_candidate(case, "outcome", **_result(case))
            return _done(case, _("The outcomes are recorded and the verbale is issued."))
    return render_template(
        "cases/outcomes.html",
        case=case,
        competences=competences,
        ratings=ratings,
        implied={c["code"]: A.implied_outcome(c, ratings) for c in competences},
        evidence=by_code,
        form=form,
        errors=errors,
        values=request.form,
        session_methods=assessment.methods,
        status=422 if errors else 200,
    ), 422 if errors else 200


#: The result of the round as the verbale's preview names it (the event it leads to).
RESULT_LABELS: dict[str, Any] = {
    "validate_full": _l("Validated in full: every requested competence"),
    "validate_partial": _l("Validated in part: some of the requested competences"),
    "not_validate": _l("Not validated: no requested competence"),
}


def _result(case: CertificationCase) -> dict[str, Any]:
    """The competences of this round validated and not, as the snapshot names them: the
    outcome e-mail names the result (in full, in part, none), not the case's next state."""
    decided = {o.competence_code: o.outcome for o in A.current_outcomes(case)}
    competences = A.snapshot_competences(case)
    return {
        "validated": [c for c in competences if decided.get(c["code"]) == Outcome.VALIDATA],
        "not_validated": [
            c
            for c in competences
            if c["code"] in decided and decided[c["code"]] != Outcome.VALIDATA
        ],
    }


# --- after the outcome ------------------------------------------------------------------------


@bp.post("/<uuid:case_id>/start-certification")
@login_required
def start_certification(case_id: uuid.UUID) -> Any:
    return _simple(
        case_id, A.start_certification, _("The validated competences go on to certification.")
    )


def _certify_page(case: CertificationCase, form: CertifyForm) -> str:
    validated = _result(case)["validated"]
    title = "title_" + ("en" if current_language() == "en" else "it")
    return confirm_page(
        case,
        form,
        "cases.certify",
        heading=_("Confirm the certification of %(number)s", number=case.protocol_number or ""),
        consequences=[
            _(
                "Certified: %(competences)s.",
                competences="; ".join(f"{c['code']} {c[title]}" for c in validated),
            ),
            _(
                "The application becomes certified: a signatory of %(ente)s can then issue and "
                "seal the certificate, and the candidate is told.",
                ente=case.ente_titolato.short_name,
            ),
        ],
        submit=_("Confirm the certification"),
    )


@bp.route("/<uuid:case_id>/certify", methods=["GET", "POST"])
@login_required
@fresh_second_factor
def certify(case_id: uuid.UUID) -> Any:
    """GET: the confirmation naming what is certified; POST: certify (when confirmed)."""
    case = _case(case_id)
    form, answer = confirmed(case, CaseEvent.CERTIFY, CertifyForm, _certify_page)
    if form is None:
        return answer
    try:
        A.certify(
            db_session(),
            current_account(),
            case,
            utcnow(),
            expected_version=form.expected_version(),
        )
    except InvalidInput as exc:
        flash(explain(exc), "error")
        return _detail(case, 422)
    _notify_candidate(case, "certified")
    return _done(case, _("The outcome is confirmed: the certificate can be issued."))


@bp.post("/<uuid:case_id>/validation-document")
@login_required
def validation_document(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = VersionedForm()
    if form.validate_on_submit():
        from app.services import renderer, storage
        from certification.cases.documents import issue_validation_document

        document = issue_validation_document(
            db_session(),
            storage(),
            renderer(),
            current_account(),
            case,
            utcnow(),
            expected_version=form.expected_version(),
        )
        _notify_candidate(case, "validation_issued", document=document)
        return _done(
            case,
            _("The Documento di validazione %(number)s has been issued.", number=document.number),
        )
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.post("/<uuid:case_id>/appeal")
@login_required
def appeal(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = AppealForm()
    if form.validate_on_submit():
        try:
            appeals.file_appeal(
                db_session(),
                current_account(),
                case,
                form.grounds.data or "",
                utcnow(),
                expected_version=form.expected_version(),
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.grounds)
            return _detail(case, 422, appeal_form=form)
        return _done(
            case,
            _(
                "Your request for review has been filed. Someone who did not "
                "assess you will decide on it."
            ),
        )
    return _detail(case, 422, appeal_form=form)


@bp.post("/<uuid:case_id>/appeal/reject")
@login_required
def reject_appeal(case_id: uuid.UUID) -> Any:
    return _with_rationale(
        case_id,
        appeals.reject_appeal,
        "appeal_decided",
        {"upheld": False},
        _("The request for review has been rejected with its reasons."),
        "appeal_reject_form",
    )


@bp.post("/<uuid:case_id>/reactivate")
@login_required
def reactivate(case_id: uuid.UUID) -> Any:
    return _simple(case_id, A.reactivate, _("The application is active again."))


def _cancel_page(case: CertificationCase, form: CancelForm, sees: bool) -> str:
    return confirm_page(
        case,
        form,
        "cases.cancel",
        heading=_("Cancel application %(number)s", number=case.protocol_number or ""),
        consequences=[
            _(
                "The application ends as cancelled: it is not assessed further and cannot be "
                "resumed."
            ),
            _("The candidate is told by e-mail, with the reason you give."),
            _("The reason is kept in the case's history, which cannot be changed afterwards."),
        ],
        fields=["reason"],
        submit=_("Cancel the application"),
        danger=True,
        back=None if sees else url_for("cases.index"),
    )


@bp.route("/<uuid:case_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(case_id: uuid.UUID) -> Any:
    """An administrator of the case's ente cancels it (#27), e.g. for proven false evidence:
    GET shows the confirmation naming the consequence, POST cancels (when confirmed).

    Administrators do not otherwise see the ente's cases (they run its staff and keys), so the
    case is found for them here; anyone else who sees it is refused, the rest do not find it.
    """
    session, actor = db_session(), current_account()
    case = session.get(CertificationCase, case_id)
    if case is None or not may_cancel_case(actor, case):
        _case(case_id)
        raise NotPermitted("administrators only")
    sees = can_view_case(actor, case)
    if request.method == "GET":
        if not may_do(case, CaseEvent.CANCEL):
            return redirect(
                url_for("cases.detail", case_id=case.id) if sees else url_for("cases.index")
            )
        return _cancel_page(case, CancelForm(formdata=None, data={"version": case.version}), sees)
    form = CancelForm()
    repeated = already_done(case, CaseEvent.CANCEL, form)
    if repeated is not None:
        return repeated if sees else redirect(url_for("cases.index"))
    if not form.validate_on_submit():
        return _cancel_page(case, form, sees), 422
    A.cancel_case(
        session,
        actor,
        case,
        form.reason.data or "",
        utcnow(),
        expected_version=form.expected_version(),
    )
    _notify_candidate(case, "cancelled")
    if sees:
        return _done(case, _("The application has been cancelled."))
    flash(_("The application has been cancelled."), "success")
    return redirect(url_for("cases.index"))

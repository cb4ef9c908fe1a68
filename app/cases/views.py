"""The case on the web: the staff's list, the application, the case's page and the intake steps
(submit, withdraw, stop, take in charge, admit, reject, the Documento di trasparenza).

One module over 600 lines because the case's page (:func:`_detail`) and the helpers every step
answers with (confirmation, double submits, the redirect back) live here and are shared with
:mod:`app.cases.assessment_views`, which holds the validation and certification steps.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app.auth.sessions import current_account
from app.cases.blueprint import bp
from app.cases.forms import (
    AdmitForm,
    CaseFilterForm,
    NewCaseForm,
    PlanForm,
    RejectForm,
    StopForm,
    SubmitForm,
    VersionedForm,
    WithdrawForm,
)
from app.db import db_session
from app.errors import explain, field_message
from app.i18n import current_language
from app.labels import METHOD_LABELS, STATE_GROUP_LABELS
from app.mail import send_template
from app.services import renderer, storage
from app.web import EmptyForm, place_field_errors, send_stored
from certification.cases import workflow, worklist
from certification.cases.documents import issue_transparency_document
from certification.cases.states import TERMINAL, CaseEvent, CaseStatus
from certification.cases.worklist import CaseFilter, Sort, StateGroup
from certification.certificates.lifecycle import PUBLIC_STATES, certificates_of_case
from certification.clock import utcnow
from certification.errors import InvalidInput, NotFound, NotPermitted
from certification.models import (
    AssessmentMethod,
    CertificationCase,
    Person,
    Profile,
    StaffRole,
)
from certification.people.roles import Role
from certification.policy import (
    CaseRelation,
    administers,
    case_relations,
    get_case,
    is_assigned_tutor,
    is_staff,
    signs_for,
)
from certification.portfolio.operations import target_profile
from certification.standards import search_profiles
from certification.supervision.access_log import note_view
from certification.supervision.register import latest_certificates


def _title(obj: Any) -> str:
    return str(getattr(obj, f"title_{current_language()}", None) or obj.title_it)


def _filter_form(session: Any, actor: Any) -> tuple[CaseFilterForm, CaseFilter, int]:
    """The list's filters from the query string; bad values are said and dropped (the
    unfiltered list), never a failure."""
    form = CaseFilterForm(request.args)
    form.group.choices = [("", _("all open"))] + [
        (g.value, str(label)) for g, label in STATE_GROUP_LABELS.items()
    ]
    form.profile.choices = [("", _("all"))] + [
        (str(p.id), f"{p.code} — {_title(p)}") for p in search_profiles(session)
    ]
    form.ente.choices = [("", _("all"))] + [
        (str(o.id), o.short_name) for o in worklist.list_entes(session, actor)
    ]
    if not form.validate():
        flash(_("Some filters were not valid and have been ignored: check them."), "error")
        return form, CaseFilter(), 1
    return (
        form,
        CaseFilter(
            text=form.q.data or "",
            group=StateGroup(form.group.data) if form.group.data else None,
            profile_id=uuid.UUID(form.profile.data) if form.profile.data else None,
            ente_id=uuid.UUID(form.ente.data) if form.ente.data else None,
            mine=bool(form.mine.data),
            overdue=bool(form.overdue.data),
            include_closed=bool(form.closed.data),
            sort=Sort(form.sort.data or Sort.DEADLINE),
        ),
        form.page.data or 1,
    )


@bp.get("/")
@login_required
def index() -> str:
    actor = current_account()
    session = db_session()
    now = utcnow()
    form = listing = None
    if is_staff(actor):
        form, wanted, page = _filter_form(session, actor)
        listing = worklist.list_cases(session, actor, wanted, now, page)
    # The page links keep the filters (the valid ones: a bad value is dropped, as in the list).
    kept = (
        {f.name: f.raw_data[0] for f in form if f.name != "page" and f.raw_data}
        if form is not None and not form.errors
        else {}
    )
    own = workflow.cases_of_candidate(session, actor.person) if actor.person.is_candidate else []
    return render_template(
        "cases/index.html",
        own=own,
        # a revoked, suspended or corrected certificate reads as such beside its case's state
        certificates=latest_certificates(session, [c.id for c in own]),
        form=form,
        listing=listing,
        kept=kept,
        now=now,
        days_late=worklist.days_late,
        terminal=TERMINAL,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    actor = current_account()
    if not actor.person.is_candidate:
        raise NotPermitted("only candidates apply")
    session = db_session()
    profiles = search_profiles(session)
    entes = workflow.enti_titolati(session)
    form = NewCaseForm()
    form.ente.choices = [(str(o.id), o.short_name) for o in entes]
    form.profile.choices = [(str(p.id), f"{p.code} — {_title(p)}") for p in profiles]
    chosen_id = request.values.get("profile") or (
        str(target.id) if (target := target_profile(session, actor.person)) else None
    )
    profile: Profile | None = next((p for p in profiles if str(p.id) == chosen_id), None)
    profile = profile or (profiles[0] if profiles else None)
    if profile is None:
        raise NotFound("no profiles published")
    form.profile.data = form.profile.data or str(profile.id)
    form.competences.choices = [
        (str(pc.competence.id), f"{pc.competence.code} — {_title(pc.competence)}")
        for pc in profile.competence_links
    ]
    if request.method == "POST" and request.form.get("action") == "choose":
        return render_template("cases/new.html", form=form, profile=profile), 200
    if form.validate_on_submit():
        ente = next((o for o in entes if str(o.id) == form.ente.data), None)
        if ente is None or form.profile.data != str(profile.id):
            form.ente.errors = [field_message("invalid_choice")]
            return render_template("cases/new.html", form=form, profile=profile), 422
        chosen = None
        if form.scope.data == "single_competences":
            wanted = set(form.competences.data or [])
            chosen = [
                pc.competence for pc in profile.competence_links if str(pc.competence.id) in wanted
            ]
        try:
            case = workflow.create_case(
                session,
                actor,
                ente_titolato=ente,
                profile=profile,
                competences=chosen,
                now=utcnow(),
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.competences)
            return render_template("cases/new.html", form=form, profile=profile), 422
        flash(_("Your application is ready as a draft: check it and submit it."), "success")
        return redirect(url_for("cases.detail", case_id=case.id))
    status = 422 if form.is_submitted() else 200
    return render_template("cases/new.html", form=form, profile=profile), status


def _staff_of(case: CertificationCase, role: Role) -> list[Person]:
    return [
        r.person
        for r in db_session()
        .query(StaffRole)
        .filter(StaffRole.organisation_id == case.ente_titolato_id, StaffRole.role == role)
        if r.person_id != case.assigned_tutor_id
    ]


def plan_form(case: CertificationCase, formdata: Any = None) -> PlanForm:
    form = (
        PlanForm(formdata=formdata, data={"version": case.version})
        if formdata is None
        else PlanForm()
    )
    form.methods.choices = [(m.value, str(METHOD_LABELS[m])) for m in AssessmentMethod]
    form.certifiers.choices = [
        (str(p.id), p.full_name) for p in _staff_of(case, Role.CERTIFICATORE)
    ]
    form.assessors.choices = [
        (str(p.id), p.full_name + _years(p, case)) for p in _staff_of(case, Role.ASSESSOR)
    ]
    return form


def _years(person: Person, case: CertificationCase) -> str:
    role = next(
        (
            r
            for r in person.staff_roles
            if r.organisation_id == case.ente_titolato_id and r.role == Role.ASSESSOR
        ),
        None,
    )
    if role is None or role.years_experience is None:
        return ""
    sectors = ", ".join(role.sectors or [])
    return (
        " · " + _("%(n)s years", n=role.years_experience) + (f" · SEP {sectors}" if sectors else "")
    )


def _detail(case: CertificationCase, status: int = 200, **forms: Any) -> Any:
    from app.cases import forms as f
    from certification.cases import assessment as A
    from certification.cases import panels

    actor = current_account()
    session = db_session()
    person = case.candidate
    versioned = {"version": case.version}
    submit_form = forms.get("submit_form") or SubmitForm(
        formdata=None,
        data={
            **versioned,
            "birth_date": person.birth_date,
            "birth_place": person.birth_place,
            "codice_fiscale": person.codice_fiscale,
        },
    )
    admit_form = forms.get("admit_form") or AdmitForm(formdata=None, data=versioned)
    admit_form.tutor.choices = [
        (str(p.id), p.full_name) for p in workflow.tutors_of(session, case.ente_titolato_id)
    ]
    relations = case_relations(actor, case)
    assessment = panels.current_session(case)
    member = (
        next((m for m in assessment.members if m.person_id == actor.person_id), None)
        if assessment
        else None
    )
    on_any_panel = actor.person_id in panels.previous_panel(case)

    def may(event: str) -> bool:  # the template names the event
        return event in workflow.TRANSITIONS and may_do(case, CaseEvent(event))

    return render_template(
        "cases/detail.html",
        case=case,
        is_candidate=case.candidate_id == actor.person_id,
        is_tutor=is_assigned_tutor(actor, case),
        is_assessor=bool(relations & {CaseRelation.CERTIFIER, CaseRelation.PANEL})
        and case.assigned_tutor_id != actor.person_id,
        is_admin=administers(actor, case.ente_titolato_id),
        may=may,
        linked=workflow.linked_evidence_for_case(session, case),
        without_evidence=workflow.competences_without_evidence(session, case)
        if case.status == CaseStatus.DRAFT
        else [],
        assessment=assessment,
        member=member,
        may_decide_appeal=may("reject_appeal") and not on_any_panel,
        outcomes=A.current_outcomes(case),
        old_outcomes=[o for o in case.outcomes if o.superseded_at is not None],
        submit_form=submit_form,
        admit_form=admit_form,
        reject_form=forms.get("reject_form") or RejectForm(formdata=None, data=versioned),
        action_form=VersionedForm(formdata=None, data=versioned),
        delete_form=EmptyForm(),
        integration_form=forms.get("integration_form")
        or f.IntegrationForm(
            formdata=None, data={**versioned, "deadline": (utcnow() + dt.timedelta(days=30)).date()}
        ),
        insufficient_form=forms.get("insufficient_form")
        or f.RationaleForm(formdata=None, data=versioned),
        plan_form=forms.get("plan_form") or plan_form(case),
        declaration_form=forms.get("declaration_form") or f.DeclarationForm(formdata=None),
        open_form=f.OpenSessionForm(formdata=None, data=versioned),
        appeal_form=forms.get("appeal_form") or f.AppealForm(formdata=None, data=versioned),
        appeal_reject_form=forms.get("appeal_reject_form")
        or f.RationaleForm(formdata=None, data=versioned),
        certificates=[
            c
            for c in certificates_of_case(session, case)
            if c.status in PUBLIC_STATES or signs_for(actor, case.ente_titolato_id)
        ],
        title=_title,
    ), status


@bp.get("/<uuid:case_id>")
@login_required
def detail(case_id: uuid.UUID) -> Any:
    case = get_case(db_session(), current_account(), case_id)
    note_view(db_session(), current_account(), case, "case", case.id, utcnow())
    return _detail(case)


def _case(case_id: uuid.UUID) -> CertificationCase:
    return get_case(db_session(), current_account(), case_id)


def _done(case: CertificationCase, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.post("/<uuid:case_id>/submit")
@login_required
def submit(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        return _detail(case, 422, submit_form=form)
    data = workflow.SubmissionInput(
        birth_date=form.birth_date.data,
        birth_place=form.birth_place.data or "",
        codice_fiscale=form.codice_fiscale.data,
        consent_processing=bool(form.consent_processing.data),
        consent_public_verification=bool(form.consent_public_verification.data),
        declaration_accepted=bool(form.declaration_accepted.data),
        guardian_name=form.guardian_name.data,
        guardian_consent=bool(form.guardian_consent.data),
    )
    session, now = db_session(), utcnow()
    try:
        if workflow.competences_without_evidence(session, case) and not form.without_evidence.data:
            # Named on the page: submitted knowingly, or evidence added first. Every other
            # mistake of the form is told at the same time.
            errors, _codice = workflow.submission_errors(session, case, data, now)
            raise InvalidInput(
                "submission", errors={**errors, "without_evidence": ["evidence_missing"]}
            )
        workflow.submit_case(
            session,
            current_account(),
            case,
            data,
            now,
            expected_version=form.expected_version(),
        )
    except InvalidInput as exc:
        errors = dict(exc.errors)
        # The address is not a field of the form: said above it, with the resend button.
        form.form_errors.extend(field_message(c) for c in errors.pop("email", []))
        place_field_errors(form, errors, form.birth_date)
        return _detail(case, 422, submit_form=form)
    send_template(db_session(), current_account(), "case_submitted", case=case)
    return _done(
        case,
        _(
            "Your application has been submitted with number %(number)s.",
            number=case.protocol_number,
        ),
    )


def already_done(case: CertificationCase, event: CaseEvent, form: VersionedForm) -> Response | None:
    """A second submission of a form whose act is done (a double click, a reload): the version
    it carries is stale and one of the case's latest steps is that act by this person. The
    answer is the case with a message, and nothing is done again."""
    actor = current_account()
    expected = form.expected_version()
    if (
        expected is None
        or expected == case.version
        or not any(t.event == event and t.actor_user_id == actor.id for t in case.transitions[-3:])
    ):
        return None
    flash(_("This was already done: nothing was done a second time."), "info")
    return redirect(url_for("cases.detail", case_id=case.id))


def _simple(case_id: uuid.UUID, action: Any, message: str, then: Any = None) -> Response | Any:
    """A button that fires one operation on the case (the version it was shown with)."""
    case = _case(case_id)
    form = VersionedForm()
    if form.validate_on_submit():
        try:
            action(
                db_session(),
                current_account(),
                case,
                utcnow(),
                expected_version=form.expected_version(),
            )
        except InvalidInput as exc:
            flash(explain(exc), "error")
            return _detail(case, 422)
        if then is not None:
            then(case)
        return _done(case, message)
    return redirect(url_for("cases.detail", case_id=case.id))


def may_do(case: CertificationCase, event: CaseEvent) -> bool:
    """Whether the current account may take this step on the case now."""
    return case.status in workflow.TRANSITIONS[event].sources and workflow.actor_may(
        current_account(), case, event
    )


def confirmed(
    case: CertificationCase,
    event: CaseEvent,
    form_class: type[VersionedForm],
    page: Callable[[CertificationCase, Any], str],
) -> tuple[Any, Any]:
    """The confirmation step before an act on the case: ``(form, None)`` when a confirmed POST
    may go ahead, else ``(None, answer)``: on GET the page naming the consequence (or the case,
    when the act is not possible now), on a repeated POST what the first one did, on an
    unconfirmed POST the page again with why (422)."""
    if request.method == "GET":
        if not may_do(case, event):
            return None, redirect(url_for("cases.detail", case_id=case.id))
        return None, page(case, form_class(formdata=None, data={"version": case.version}))
    form = form_class()
    repeated = already_done(case, event, form)
    if repeated is not None:
        return None, repeated
    if not form.validate_on_submit():
        return None, (page(case, form), 422)
    return form, None


def confirm_page(
    case: CertificationCase,
    form: Any,
    endpoint: str,
    *,
    heading: str,
    consequences: list[str],
    submit: str,
    danger: bool = False,
    fields: Sequence[str] = (),
    back: str | None = None,
) -> str:
    """The page that asks before an act on the case (``endpoint``, this case's URL), naming its
    ``consequences``; back to the case unless ``back`` says where."""
    return render_template(
        "confirm.html",
        heading=heading,
        subject=_title(case.target_profile),
        consequences=consequences,
        form=form,
        fields=list(fields),
        action=url_for(endpoint, case_id=case.id),
        submit=submit,
        danger=danger,
        back=back or url_for("cases.detail", case_id=case.id),
    )


def _withdraw_page(case: CertificationCase, form: WithdrawForm) -> str:
    return confirm_page(
        case,
        form,
        "cases.withdraw",
        heading=_("Withdraw application %(number)s", number=case.protocol_number or ""),
        consequences=[
            _(
                "Your application ends here: it will not be assessed and no certificate is "
                "issued from it."
            ),
            _(
                "A withdrawn application cannot be resumed. Your portfolio stays yours: you can "
                "apply again later with a new application."
            ),
            _(
                "The documents already issued to you (such as the Documento di trasparenza) "
                "stay valid and yours."
            ),
        ],
        submit=_("Withdraw the application"),
        danger=True,
    )


@bp.route("/<uuid:case_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(case_id: uuid.UUID) -> Any:
    """GET: the confirmation naming the consequence; POST: withdraw (when confirmed)."""
    case = _case(case_id)
    form, answer = confirmed(case, CaseEvent.WITHDRAW, WithdrawForm, _withdraw_page)
    if form is None:
        return answer
    workflow.withdraw_case(
        db_session(), current_account(), case, utcnow(), expected_version=form.expected_version()
    )
    return _done(case, _("The application has been withdrawn."))


def _stop_page(case: CertificationCase, form: StopForm) -> str:
    return confirm_page(
        case,
        form,
        "cases.stop",
        heading=_("End application %(number)s here", number=case.protocol_number or ""),
        consequences=[
            _(
                "Your application ends here: your competences will not be validated or "
                "certified from it."
            ),
            _(
                "A closed application cannot be resumed. Your portfolio stays yours: you can "
                "ask for validation later with a new application."
            ),
            _("The Documento di trasparenza already issued to you stays valid and yours."),
        ],
        submit=_("Stop here"),
    )


@bp.route("/<uuid:case_id>/stop", methods=["GET", "POST"])
@login_required
def stop(case_id: uuid.UUID) -> Any:
    """GET: the confirmation naming the consequence; POST: close the application after the
    Documento di trasparenza (when confirmed)."""
    case = _case(case_id)
    form, answer = confirmed(case, CaseEvent.STOP, StopForm, _stop_page)
    if form is None:
        return answer
    workflow.stop_after_transparency(
        db_session(), current_account(), case, utcnow(), expected_version=form.expected_version()
    )
    return _done(case, _("The application is closed. The Documento di trasparenza stays yours."))


@bp.post("/<uuid:case_id>/take-charge")
@login_required
def take_charge(case_id: uuid.UUID) -> Response:
    return _simple(case_id, workflow.take_charge, _("You have taken the application in charge."))


@bp.post("/<uuid:case_id>/delete")
@login_required
def delete(case_id: uuid.UUID) -> Response:
    case = _case(case_id)
    if EmptyForm().validate_on_submit():
        workflow.delete_draft(db_session(), current_account(), case)
        flash(_("The draft has been deleted."), "success")
        return redirect(url_for("cases.index"))
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.post("/<uuid:case_id>/admit")
@login_required
def admit(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    session = db_session()
    form = AdmitForm()
    form.tutor.choices = [
        (str(p.id), p.full_name) for p in workflow.tutors_of(session, case.ente_titolato_id)
    ]
    if not form.validate_on_submit():
        return _detail(case, 422, admit_form=form)
    tutor = next(
        p
        for p in workflow.tutors_of(session, case.ente_titolato_id)
        if str(p.id) == form.tutor.data
    )
    workflow.admit_case(
        session, current_account(), case, tutor, utcnow(), expected_version=form.expected_version()
    )
    if case.candidate.account:
        send_template(session, case.candidate.account, "case_admitted", case=case, tutor=tutor)
    if tutor.account:
        send_template(session, tutor.account, "tutor_assigned", case=case)
    return _done(
        case, _("The application is admitted and %(name)s is its tutor.", name=tutor.full_name)
    )


@bp.post("/<uuid:case_id>/reject")
@login_required
def reject(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _detail(case, 422, reject_form=form)
    try:
        workflow.reject_case(
            db_session(),
            current_account(),
            case,
            form.reason.data or "",
            form.note.data or "",
            utcnow(),
            expected_version=form.expected_version(),
        )
    except InvalidInput as exc:
        place_field_errors(form, exc.errors, form.note)
        return _detail(case, 422, reject_form=form)
    if case.candidate.account:
        send_template(db_session(), case.candidate.account, "case_rejected", case=case)
    return _done(case, _("The application has not been admitted; the candidate is told why."))


@bp.post("/<uuid:case_id>/transparency")
@login_required
def issue_transparency(case_id: uuid.UUID) -> Any:
    case = _case(case_id)
    form = VersionedForm()
    if not form.validate_on_submit():
        return redirect(url_for("cases.detail", case_id=case.id))
    session = db_session()
    locale = case.candidate.account.locale if case.candidate.account else "it"
    try:
        document = issue_transparency_document(
            session,
            storage(),
            renderer(),
            current_account(),
            case,
            utcnow(),
            locale=locale,
            expected_version=form.expected_version(),
        )
    except InvalidInput as exc:
        flash(explain(exc), "error")
        return _detail(case, 422)
    if case.candidate.account:
        send_template(
            session, case.candidate.account, "transparency_issued", case=case, document=document
        )
    return _done(
        case, _("The Documento di trasparenza %(number)s has been issued.", number=document.number)
    )


@bp.get("/<uuid:case_id>/documents/<uuid:document_id>")
@login_required
def document(case_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    case = _case(case_id)
    found = next((d for d in case.documents if d.id == document_id), None)
    if found is None:
        raise NotFound("document not found")
    note_view(
        db_session(),
        current_account(),
        case,
        "document",
        found.id,
        utcnow(),
        kind=found.kind.value,
        number=found.number,
    )
    return send_stored(found.pdf_sha256, "application/pdf", f"{found.number}.pdf")

"""The portfolio on the web: experiences, evidence (uploads, previews, referees), the mapping to a
profile's criteria, self-assessment, comments, and the person's data export and erasure.

One module over 600 lines because every view works on one person's portfolio through the same
owner check, edit right, audit note and page frame (:func:`_owner`, :func:`_can_edit`,
:func:`_note`, :func:`_render`); its sections follow the portfolio's order.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from werkzeug.wrappers import Response

from app.auth.sessions import current_account
from app.db import after_commit, db_session
from app.errors import field_message
from app.mail import send_mail
from app.portfolio.blueprint import bp
from app.portfolio.forms import (
    CommentForm,
    DeclarationForm,
    ExperienceForm,
    FileEvidenceForm,
    LinkEvidenceForm,
    LinkForm,
    LinkManyForm,
    ProfileChoiceForm,
    SelfAssessmentForm,
    TestimonialForm,
)
from app.portfolio.thumbnails import THUMBNAIL_TYPES, thumbnails
from app.services import storage, upload_pool
from app.web import EmptyForm, place_field_errors, send_stored
from certification.clock import utcnow
from certification.errors import InvalidInput, NotFound
from certification.models import (
    EvidenceType,
    ExperienceKind,
    LearningContext,
    Person,
    Profile,
)
from certification.policy import (
    can_edit_portfolio,
    can_preview_portfolio_files,
    get_portfolio_owner,
)
from certification.portfolio import operations as ops
from certification.standards import search_profiles
from certification.supervision.access_log import note_portfolio_view

REFEREE_LINK_DAYS = 30
EVIDENCE_FORMS: dict[str, type[Any]] = {
    "file": FileEvidenceForm,
    "link": LinkEvidenceForm,
    "testimonial": TestimonialForm,
    "declaration": DeclarationForm,
}


def _owner(person_id: uuid.UUID) -> Person:
    return get_portfolio_owner(db_session(), current_account(), person_id)


def _can_edit(person: Person) -> bool:
    return can_edit_portfolio(db_session(), current_account(), person)


def _note(person: Person, what: str, entity_id: uuid.UUID, **details: Any) -> None:
    """A supervisor's view of the portfolio goes to the audit log
    (certification.supervision.access_log)."""
    note_portfolio_view(
        db_session(), current_account(), person, what, entity_id, utcnow(), **details
    )


def _render(template: str, person: Person, status: int = 200, **context: Any) -> Any:
    return render_template(
        template,
        person=person,
        can_edit=_can_edit(person),
        is_owner=person.id == current_account().person_id,
        **context,
    ), status


@bp.get("/")
@login_required
def mine() -> Response:
    return redirect(url_for("portfolio.overview", person_id=current_account().person_id))


@bp.get("/<uuid:person_id>/")
@login_required
def overview(person_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    _note(person, "portfolio", person.id)
    session = db_session()
    target = ops.target_profile(session, person)
    rows = ops.coverage(session, person, target) if target else []
    from certification.cases.workflow import cases_of_candidate

    return _render(
        "portfolio/overview.html",
        person,
        experiences=ops.experiences_of(session, person),
        target=target,
        coverage=rows,
        cases=cases_of_candidate(session, person)
        if person.id == current_account().person_id
        else [],
        comments=ops.comments_of(session, person),
        comment_form=CommentForm(),
    )


# --- experiences ------------------------------------------------------------------------------


def _experience_form(formdata: Any = None, obj: Any = None) -> ExperienceForm:
    form = (
        ExperienceForm(formdata=formdata, obj=obj)
        if formdata is not None or obj
        else ExperienceForm()
    )
    form.host_organisation_id.choices = [("", _("— none of these —"))] + [
        (str(o.id), o.short_name) for o in ops.known_hosts(db_session())
    ]
    return form


def _experience_input(form: ExperienceForm) -> ops.ExperienceInput:
    host = form.host_organisation_id.data or None
    return ops.ExperienceInput(
        kind=ExperienceKind(form.kind.data),
        learning_context=LearningContext(form.learning_context.data),
        role_title=form.role_title.data or "",
        start_date=form.start_date.data or dt.date.min,
        end_date=form.end_date.data,
        description=form.description.data or "",
        host_organisation_id=uuid.UUID(host) if host else None,
        host_name=form.host_name.data,
        hours_estimate=form.hours_estimate.data,
        referee_name=form.referee_name.data,
        referee_contact=form.referee_contact.data,
    )


@bp.route("/<uuid:person_id>/experiences/new", methods=["GET", "POST"])
@login_required
def new_experience(person_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    if not _can_edit(person):
        raise NotFound("portfolio not found")
    form = _experience_form()
    if form.validate_on_submit():
        try:
            experience = ops.create_experience(
                db_session(), current_account(), person, _experience_input(form), utcnow()
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.description)
            return _render("portfolio/experience_form.html", person, 422, form=form)
        flash(_("The experience has been saved. Now add the evidence that shows it."), "success")
        return redirect(
            url_for("portfolio.experience", person_id=person.id, experience_id=experience.id)
        )
    return _render(
        "portfolio/experience_form.html", person, 422 if form.is_submitted() else 200, form=form
    )


@bp.get("/<uuid:person_id>/experiences/<uuid:experience_id>")
@login_required
def experience(person_id: uuid.UUID, experience_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    item = ops.get_experience(db_session(), person, experience_id)
    _note(person, "experience", item.id)
    return _render("portfolio/experience.html", person, experience=item, delete_form=EmptyForm())


@bp.route("/<uuid:person_id>/experiences/<uuid:experience_id>/edit", methods=["GET", "POST"])
@login_required
def edit_experience(person_id: uuid.UUID, experience_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    item = ops.get_experience(db_session(), person, experience_id)
    if not _can_edit(person):
        raise NotFound("portfolio not found")
    if request.method == "POST":
        form = _experience_form()
    else:
        form = _experience_form(obj=item)
        form.kind.data = item.kind.value
        form.learning_context.data = item.learning_context.value
        form.host_organisation_id.data = str(item.host_organisation_id or "")
    if form.validate_on_submit():
        try:
            ops.update_experience(
                db_session(), current_account(), item, _experience_input(form), utcnow()
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.description)
            return _render(
                "portfolio/experience_form.html", person, 422, form=form, experience=item
            )
        flash(_("The experience has been saved."), "success")
        return redirect(url_for("portfolio.experience", person_id=person.id, experience_id=item.id))
    return _render(
        "portfolio/experience_form.html",
        person,
        422 if form.is_submitted() else 200,
        form=form,
        experience=item,
    )


@bp.post("/<uuid:person_id>/experiences/<uuid:experience_id>/delete")
@login_required
def delete_experience(person_id: uuid.UUID, experience_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    item = ops.get_experience(db_session(), person, experience_id)
    if EmptyForm().validate_on_submit():
        ops.delete_experience(db_session(), current_account(), item, utcnow())
        flash(_("The experience and its evidence have been deleted."), "success")
    return redirect(url_for("portfolio.overview", person_id=person.id))


# --- evidence ---------------------------------------------------------------------------------


@bp.route(
    "/<uuid:person_id>/experiences/<uuid:experience_id>/evidence/new", methods=["GET", "POST"]
)
@login_required
def new_evidence(person_id: uuid.UUID, experience_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    item = ops.get_experience(db_session(), person, experience_id)
    if not _can_edit(person):
        raise NotFound("portfolio not found")
    kind = request.args.get("kind", "file")
    if kind not in EVIDENCE_FORMS:
        kind = "file"
    form = EVIDENCE_FORMS[kind]()
    if form.validate_on_submit():
        session, actor, now = db_session(), current_account(), utcnow()
        try:
            if kind == "file":
                max_bytes = _max_upload_bytes()
                added = ops.add_file_evidences(
                    session,
                    storage(),
                    actor,
                    item,
                    type_=EvidenceType(form.type.data),
                    title=form.title.data,
                    description=form.description.data or "",
                    issued_on=form.issued_on.data,
                    files=[
                        (upload.read(max_bytes + 1), upload.filename or "file")
                        for upload in form.file.data
                    ],
                    max_bytes=max_bytes,
                    now=now,
                    check=upload_pool().check_upload,
                )
                if len(added) > 1:
                    flash(
                        _(
                            "%(num)d files have been added, each as its own evidence. Link "
                            "them to the criteria they show.",
                            num=len(added),
                        ),
                        "success",
                    )
                    return redirect(
                        url_for("portfolio.experience", person_id=person.id, experience_id=item.id)
                    )
                evidence = added[0]
            elif kind == "link":
                evidence = ops.add_link_evidence(
                    session,
                    actor,
                    item,
                    title=form.title.data,
                    description=form.description.data or "",
                    issued_on=form.issued_on.data,
                    url=form.url.data,
                    now=now,
                )
            elif kind == "testimonial":
                evidence = ops.add_testimonial(
                    session,
                    actor,
                    item,
                    title=form.title.data,
                    text=form.text.data,
                    referee_name=form.referee_name.data,
                    referee_email=form.referee_email.data,
                    issued_on=form.issued_on.data,
                    now=now,
                )
            else:
                evidence = ops.add_self_declaration(
                    session,
                    actor,
                    item,
                    title=form.title.data,
                    text=form.text.data,
                    accepted=bool(form.accepted.data),
                    now=now,
                )
        except ops.BatchRejected as exc:
            form.file.errors = [
                _(
                    "%(name)s was not accepted: %(problem)s",
                    name=name,
                    problem=field_message(reason),
                )
                for name, reason in exc.rejected
            ] + [_("Nothing has been stored: remove or replace these files and send again.")]
            return _evidence_form(person, 422, form, kind, item)
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.title)
            return _evidence_form(person, 422, form, kind, item)
        flash(_("The evidence has been added. Link it to the criteria it shows."), "success")
        return redirect(url_for("portfolio.evidence", person_id=person.id, evidence_id=evidence.id))
    return _evidence_form(person, 422 if form.is_submitted() else 200, form, kind, item)


#: What the upload form accepts, for the browser's file picker and its check before sending
#: (the server decides from the content: certification.portfolio.uploads).
ACCEPTED_FILES = (
    ".pdf,.jpg,.jpeg,.png,.webp,.docx,.xlsx,.pptx,.odt,.ods,.odp,"
    "application/pdf,image/jpeg,image/png,image/webp"
)


def _max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


def _evidence_form(person: Person, status: int, form: Any, kind: str, item: Any) -> Any:
    if kind == "file":
        form.file.render_kw = {
            "accept": ACCEPTED_FILES,
            "data-max-bytes": str(_max_upload_bytes()),
            "data-max-files": str(ops.MAX_FILES_PER_UPLOAD),
        }
    return _render(
        "portfolio/evidence_form.html",
        person,
        status,
        form=form,
        kind=kind,
        experience=item,
        max_mb=current_app.config["MAX_UPLOAD_MB"],
        max_files=ops.MAX_FILES_PER_UPLOAD,
    )


def _link_form(person: Person, formdata: Any = None) -> tuple[LinkForm, Profile | None]:
    form = LinkForm(formdata=formdata) if formdata is not None else LinkForm()
    target = ops.target_profile(db_session(), person)
    choices: list[tuple[str, str]] = []
    if target is not None:
        for link in target.competence_links:
            c = link.competence
            title = c.title_it if _lang() == "it" else c.title_en
            choices.append((f"{c.id}:", f"{c.code} — {title} " + _("(the competence as a whole)")))
            for crit in c.criteria:
                text = crit.text_it if _lang() == "it" else crit.text_en
                short = text if len(text) <= 90 else text[:89] + "…"
                choices.append((f"{c.id}:{crit.id}", f"{crit.code} — {short}"))
    form.target.choices = choices
    return form, target


def _lang() -> str:
    from app.i18n import current_language

    return current_language()


@bp.get("/<uuid:person_id>/evidence/<uuid:evidence_id>")
@login_required
def evidence(person_id: uuid.UUID, evidence_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    item = ops.get_evidence(db_session(), person, evidence_id)
    _note(person, "evidence", item.id)
    form, target = _link_form(person)
    return _render(
        "portfolio/evidence.html",
        person,
        evidence=item,
        link_form=form,
        target=target,
        action_form=EmptyForm(),
    )


@bp.post("/<uuid:person_id>/evidence/<uuid:evidence_id>/links")
@login_required
def add_link(person_id: uuid.UUID, evidence_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    session = db_session()
    item = ops.get_evidence(session, person, evidence_id)
    form, target = _link_form(person)
    if form.validate_on_submit():
        competence_id, _sep, criterion_id = (form.target.data or "").partition(":")
        competence = next(
            (
                pc.competence
                for pc in (target.competence_links if target else [])
                if str(pc.competence.id) == competence_id
            ),
            None,
        )
        criterion = (
            next((c for c in competence.criteria if str(c.id) == criterion_id), None)
            if competence
            else None
        )
        try:
            if competence is None:
                raise InvalidInput("target", errors={"target": ["invalid_choice"]})
            ops.link_evidence(
                session,
                current_account(),
                item,
                competence,
                criterion,
                form.note.data or "",
                utcnow(),
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors, form.target)
        else:
            flash(_("The evidence has been linked."), "success")
            return redirect(url_for("portfolio.evidence", person_id=person.id, evidence_id=item.id))
    return _render(
        "portfolio/evidence.html",
        person,
        422,
        evidence=item,
        link_form=form,
        target=target,
        action_form=EmptyForm(),
    )


@bp.post("/<uuid:person_id>/evidence/<uuid:evidence_id>/links/<uuid:link_id>/delete")
@login_required
def delete_link(person_id: uuid.UUID, evidence_id: uuid.UUID, link_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    item = ops.get_evidence(db_session(), person, evidence_id)
    if EmptyForm().validate_on_submit():
        ops.unlink_evidence(db_session(), current_account(), item, link_id, utcnow())
        flash(_("The link has been removed."), "success")
    return redirect(url_for("portfolio.evidence", person_id=person.id, evidence_id=item.id))


@bp.post("/<uuid:person_id>/evidence/<uuid:evidence_id>/delete")
@login_required
def delete_evidence(person_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    item = ops.get_evidence(db_session(), person, evidence_id)
    experience_id = item.experience_id
    if EmptyForm().validate_on_submit():
        ops.delete_evidence(db_session(), current_account(), item, utcnow())
        flash(_("The evidence has been deleted."), "success")
    return redirect(
        url_for("portfolio.experience", person_id=person.id, experience_id=experience_id)
    )


@bp.get("/<uuid:person_id>/evidence/<uuid:evidence_id>/file")
@login_required
def evidence_file(person_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    item = ops.get_evidence(db_session(), person, evidence_id)
    if item.file is None:
        raise NotFound("no file")
    _note(person, "evidence.file", item.id, file_name=item.file_name or "")
    return send_stored(item.file.sha256, item.file.media_type, item.file_name or "file")


#: What the owner sees inline (images in the page, PDFs in the browser's own viewer).
PREVIEW_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


def _owned_file(person_id: uuid.UUID, evidence_id: uuid.UUID, types: frozenset[str]) -> Any:
    """The owner's own evidence file of one of ``types``; 404 for anyone else, staff who see
    the portfolio included (they keep the download), and for other kinds of file."""
    person = _owner(person_id)
    if not can_preview_portfolio_files(current_account(), person):
        raise NotFound("evidence not found")
    item = ops.get_evidence(db_session(), person, evidence_id)
    if item.file is None or item.file.media_type not in types:
        raise NotFound("no preview")
    return item


def _inline_headers(response: Response) -> Response:
    # Shown by the browser, never able to run anything or be framed (security.md §3.5, §3.7).
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<uuid:person_id>/evidence/<uuid:evidence_id>/preview")
@login_required
def evidence_preview(person_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
    """The file shown inline, to its owner only: images in the evidence page, PDFs opened in
    the browser's viewer (a link: the pages' CSP allows no frames or objects)."""
    item = _owned_file(person_id, evidence_id, PREVIEW_TYPES)
    try:
        stored = storage().open(item.file.sha256)
    except KeyError:
        raise NotFound("file missing") from None
    response = send_file(
        stored.stream,
        mimetype=item.file.media_type,
        as_attachment=False,
        download_name=item.file_name or "file",
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.content_length = stored.size
    return _inline_headers(response)


@bp.get("/<uuid:person_id>/evidence/<uuid:evidence_id>/thumbnail")
@login_required
def evidence_thumbnail(person_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
    """A small picture of an image evidence, to its owner only: made from the stored image
    (re-encoded on upload, so without metadata) on first use and kept in memory."""
    item = _owned_file(person_id, evidence_id, THUMBNAIL_TYPES)
    found = thumbnails.get(item.file.sha256, storage())
    if found is None:
        raise NotFound("no thumbnail")
    data, media_type = found
    response = Response(data, mimetype=media_type)
    response.headers["Content-Disposition"] = "inline"
    return _inline_headers(response)


@bp.post("/<uuid:person_id>/evidence/<uuid:evidence_id>/ask-referee")
@login_required
def ask_referee(person_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    session = db_session()
    item = ops.get_evidence(session, person, evidence_id)
    if not _can_edit(person) or item.type != EvidenceType.TESTIMONIANZA_TERZI:
        raise NotFound("evidence not found")
    if EmptyForm().validate_on_submit() and item.referee_email:
        token = ops.make_referee_token(item, current_app.config["SECRET_KEY"])
        send_mail(
            session,
            item.referee_email,
            _lang(),
            "referee_request",
            candidate=person,
            evidence=item,
            link=url_for("referee.answer", token=token, _external=True),
            days=REFEREE_LINK_DAYS,
        )
        flash(
            _("We have sent %(name)s a link to confirm the testimonial.", name=item.referee_name),
            "success",
        )
    return redirect(url_for("portfolio.evidence", person_id=person.id, evidence_id=item.id))


# --- mapping and self-assessment ----------------------------------------------------------------


@bp.route("/<uuid:person_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(person_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    session = db_session()
    profiles = search_profiles(session)
    choice = ProfileChoiceForm()
    choice.profile.choices = [
        (str(p.id), f"{p.code} — {p.title_it if _lang() == 'it' else p.title_en}") for p in profiles
    ]
    if request.method == "POST" and choice.validate_on_submit():
        chosen = next((p for p in profiles if str(p.id) == choice.profile.data), None)
        if chosen is None:
            raise InvalidInput("profile", errors={"profile": ["invalid_choice"]})
        ops.set_target_profile(session, current_account(), person, chosen)
        return redirect(url_for("portfolio.mapping", person_id=person.id))
    target = ops.target_profile(session, person)
    if target is not None:
        choice.profile.data = str(target.id)
    rows = ops.coverage(session, person, target) if target else []
    return _render(
        "portfolio/mapping.html",
        person,
        choice_form=choice,
        target=target,
        coverage=rows,
        assess_form=SelfAssessmentForm(formdata=None),
        evidence_choices=[
            ev for e in ops.experiences_of(session, person) for ev in e.evidence if not ev.locked_at
        ]
        if target and _can_edit(person)
        else [],
    )


def _evidence_of(person: Person, raw: str | None) -> Any:
    """The person's evidence named by ``raw`` (an id from the request), or ``None``."""
    try:
        evidence_id = uuid.UUID(raw or "")
    except ValueError:
        return None
    try:
        return ops.get_evidence(db_session(), person, evidence_id)
    except NotFound:
        return None


@bp.route("/<uuid:person_id>/mapping/links", methods=["GET", "POST"])
@login_required
def link_many(person_id: uuid.UUID) -> Any:
    """Link one evidence to several criteria (and competences) in one form: reached from a
    criterion without evidence on the coverage grid (``?target=``, ticked already) or from an
    evidence (``?evidence=``). Without an evidence chosen, the page asks which one."""
    person = _owner(person_id)
    if not _can_edit(person):
        raise NotFound("portfolio not found")
    session = db_session()
    target = ops.target_profile(session, person)
    source = request.form if request.method == "POST" else request.args
    item = _evidence_of(person, source.get("evidence"))
    if request.method == "POST" and item is None:
        raise NotFound("evidence not found")
    if target is None:
        if request.method == "POST":
            return redirect(url_for("portfolio.mapping", person_id=person.id))
        return _render("portfolio/link_many.html", person, target=None)
    chosen = source.getlist("targets") + source.getlist("target")
    form = LinkManyForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                links = ops.link_evidence_to_many(
                    session,
                    current_account(),
                    item,
                    target,
                    chosen,
                    form.note.data or "",
                    utcnow(),
                )
            except InvalidInput as exc:
                # the boxes' problems above them, the note's under it
                target_errors = [field_message(c) for c in exc.errors.get("targets", [])]
                if "note" in exc.errors:
                    form.note.errors = [*form.note.errors, *map(field_message, exc.errors["note"])]
            else:
                flash(
                    ngettext(
                        "The evidence has been linked to %(num)d criterion.",
                        "The evidence has been linked to %(num)d criteria.",
                        len(links),
                    ),
                    "success",
                )
                return redirect(url_for("portfolio.mapping", person_id=person.id))
        else:
            target_errors = []
        status = 422
    else:
        target_errors = []
    evidence_choices = [
        ev for e in ops.experiences_of(session, person) for ev in e.evidence if not ev.locked_at
    ]
    groups: list[tuple[Any, list[ops.LinkTarget]]] = []
    for t in ops.link_targets(target):
        if not groups or groups[-1][0].id != t.competence.id:
            groups.append((t.competence, []))
        groups[-1][1].append(t)
    return _render(
        "portfolio/link_many.html",
        person,
        status,
        form=form,
        target=target,
        evidence=item,
        evidence_choices=evidence_choices,
        groups=groups,
        chosen=set(chosen),
        linked=ops.linked_keys(item) if item else set(),
        target_errors=target_errors,
    )


@bp.post("/<uuid:person_id>/self-assessment")
@login_required
def self_assess(person_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    _note(person, "portfolio", person.id)
    session = db_session()
    target = ops.target_profile(session, person)
    form = SelfAssessmentForm()
    competence = next(
        (
            pc.competence
            for pc in (target.competence_links if target else [])
            if str(pc.competence.id) == form.competence_id.data
        ),
        None,
    )
    if competence is None:
        raise NotFound("competence not found")
    form.level_code.choices = sorted({lvl.code for c in competence.criteria for lvl in c.levels})
    if form.validate_on_submit():
        ops.set_self_assessment(
            session,
            current_account(),
            person,
            competence,
            form.level_code.data or "",
            form.note.data or "",
            utcnow(),
        )
        flash(_("Your self-assessment has been saved."), "success")
    return redirect(url_for("portfolio.mapping", person_id=person.id) + f"#c-{competence.code}")


@bp.post("/<uuid:person_id>/comments")
@login_required
def comment(person_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    form = CommentForm()
    if form.validate_on_submit():
        ops.add_comment(db_session(), current_account(), person, form.body.data or "", utcnow())
        flash(_("Your comment has been added."), "success")
    return redirect(url_for("portfolio.overview", person_id=person.id) + "#comments")


# --- the person's data ------------------------------------------------------------------------


@bp.get("/<uuid:person_id>/export")
@login_required
def export(person_id: uuid.UUID) -> Response:
    person = _owner(person_id)
    from certification.people.export import export_person

    now = utcnow()
    data = export_person(db_session(), storage(), current_account(), person, now)
    response = send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"attesta-{now.date().isoformat()}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<uuid:person_id>/erase", methods=["GET", "POST"])
@login_required
def erase(person_id: uuid.UUID) -> Any:
    person = _owner(person_id)
    if person.id != current_account().person_id:
        raise NotFound("portfolio not found")
    form = EmptyForm()
    if form.validate_on_submit() and request.form.get("confirm") == "yes":
        from app.erasures import append_to_journal
        from certification.people.export import erase_person_data

        report = erase_person_data(db_session(), current_account(), person, utcnow())
        blobs, orphaned = storage(), report.orphaned_files

        def delete_orphaned_files() -> None:
            # Journalled first: a restore from an older backup erases these objects again.
            append_to_journal(report.ledger)
            for sha256 in orphaned:
                blobs.delete(sha256)

        after_commit(delete_orphaned_files)
        return _render("portfolio/erased.html", person, report=report)
    return _render("portfolio/erase.html", person, form=form)

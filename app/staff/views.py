from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app.auth.second_factor import fresh_second_factor
from app.auth.sessions import current_account
from app.db import db_session
from app.errors import field_message
from app.i18n import current_language
from app.mail import send_template
from app.staff.blueprint import bp
from app.staff.forms import AddStaffForm, StaffRolesForm
from app.web import EmptyForm, place_field_errors
from certification.clock import utcnow
from certification.errors import InvalidInput, LastAdmin, NotPermitted
from certification.models import Organisation
from certification.people import accounts, staff
from certification.policy import get_managed_organisation, managed_organisations


def _organisation(organisation_id: uuid.UUID) -> Organisation:
    return get_managed_organisation(db_session(), current_account(), organisation_id)


@bp.get("/")
@login_required
def index() -> Response | str:
    organisations = managed_organisations(db_session(), current_account())
    if not organisations:
        raise NotPermitted("not an administrator")
    if len(organisations) == 1:
        return redirect(url_for("staff.organisation", organisation_id=organisations[0].id))
    return render_template("staff/index.html", organisations=organisations)


@bp.get("/<uuid:organisation_id>/")
@login_required
def organisation(organisation_id: uuid.UUID) -> str:
    org = _organisation(organisation_id)
    members = staff.list_staff(db_session(), current_account(), org)
    return render_template("staff/organisation.html", organisation=org, members=members)


@bp.route("/<uuid:organisation_id>/add", methods=["GET", "POST"])
@login_required
@fresh_second_factor
def add(organisation_id: uuid.UUID) -> Response | str | tuple[str, int]:
    org = _organisation(organisation_id)
    form = AddStaffForm()
    form.set_role_choices(org.kind)
    if form.validate_on_submit():
        session = db_session()
        try:
            account, created = staff.add_staff_member(
                session,
                current_account(),
                org,
                email=form.email.data or "",
                given_name=form.given_name.data or "",
                family_name=form.family_name.data or "",
                roles=form.selected_roles(),
                years_experience=form.years_experience.data,
                sectors=form.sector_list(),
                locale=current_language(),
                now=utcnow(),
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors)
            return render_template("staff/add.html", organisation=org, form=form), 422
        if created:
            token = accounts.make_password_reset_token(account, current_app.config["SECRET_KEY"])
            send_template(
                session,
                account,
                "staff_invitation",
                organisation=org,
                link=url_for("auth.reset_password", token=token, _external=True),
            )
        else:
            send_template(session, account, "staff_roles_changed", organisation=org)
        flash(_("%(name)s has been added to the staff.", name=account.person.full_name), "success")
        return redirect(url_for("staff.organisation", organisation_id=org.id))
    status = 422 if form.is_submitted() else 200
    return render_template("staff/add.html", organisation=org, form=form), status


@bp.route("/<uuid:organisation_id>/members/<uuid:person_id>", methods=["GET", "POST"])
@login_required
@fresh_second_factor
def member(organisation_id: uuid.UUID, person_id: uuid.UUID) -> Response | str | tuple[str, int]:
    org = _organisation(organisation_id)
    session = db_session()
    actor = current_account()
    current = staff.get_staff_member(session, actor, org, person_id)
    form = StaffRolesForm(
        data={
            "roles": [r.value for r in current.roles],
            "years_experience": current.years_experience,
            "sectors": ", ".join(current.sectors),
        }
    )
    form.set_role_choices(org.kind)
    if form.validate_on_submit():
        try:
            staff.set_staff_roles(
                session,
                actor,
                org,
                current.person,
                roles=form.selected_roles(),
                years_experience=form.years_experience.data,
                sectors=form.sector_list(),
                now=utcnow(),
            )
        except LastAdmin:
            form.roles.errors = [*form.roles.errors, field_message("last_admin_role")]
            return render_template(
                "staff/member.html",
                organisation=org,
                member=current,
                form=form,
                remove_form=EmptyForm(),
            ), 409
        except InvalidInput as exc:
            place_field_errors(form, exc.errors)
            return render_template(
                "staff/member.html",
                organisation=org,
                member=current,
                form=form,
                remove_form=EmptyForm(),
            ), 422
        if current.person.account is not None:
            send_template(session, current.person.account, "staff_roles_changed", organisation=org)
        flash(_("The roles of %(name)s have been saved.", name=current.person.full_name), "success")
        return redirect(url_for("staff.organisation", organisation_id=org.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "staff/member.html", organisation=org, member=current, form=form, remove_form=EmptyForm()
    ), status

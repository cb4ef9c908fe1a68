from __future__ import annotations

import datetime as dt
import uuid

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.account.blueprint import bp
from app.account.forms import ChangePasswordForm, NewTokenForm
from app.auth.second_factor import fresh_second_factor
from app.auth.sessions import current_account, log_in, sorted_staff_roles
from app.db import db_session
from app.web import EmptyForm, place_field_errors
from certification.clock import utcnow
from certification.errors import InvalidInput
from certification.people import accounts


def render_account(password_form: ChangePasswordForm | None = None) -> str:
    account = current_account()
    roles = sorted_staff_roles(account)
    return render_template(
        "account/index.html",
        account=account,
        roles=roles,
        password_form=password_form or ChangePasswordForm(),
    )


@bp.get("/")
@login_required
def index() -> str:
    return render_account()


@bp.post("/password")
@login_required
def change_password() -> Response | tuple[str, int]:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        account = current_account()
        try:
            accounts.change_password(
                db_session(),
                account,
                form.current_password.data or "",
                form.password.data or "",
                utcnow(),
            )
        except InvalidInput as exc:
            place_field_errors(form, exc.errors)
            return render_account(password_form=form), 422
        # The change ended every session, this one too: open a fresh one here (its second
        # factor as verified before: the password change does not verify one).
        log_in(account, second_factor_at=current_user.second_factor_at)
        flash(_("Your password has been changed. Other devices have been logged out."), "success")
        return redirect(url_for("account.index"))
    return render_account(password_form=form), 422


def _render_tokens(form: NewTokenForm, new_secret: str | None = None) -> str:
    return render_template(
        "account/tokens.html",
        tokens=accounts.api_tokens_of(db_session(), current_account()),
        form=form,
        revoke_form=EmptyForm(),
        new_secret=new_secret,
        now=utcnow(),
    )


@bp.get("/tokens")
@login_required
def tokens() -> str:
    return _render_tokens(NewTokenForm())


@bp.post("/tokens")
@login_required
@fresh_second_factor
def create_token() -> str | tuple[str, int]:
    form = NewTokenForm()
    if not form.validate_on_submit():
        return _render_tokens(form), 422
    days = None if form.expires.data == "never" else int(form.expires.data or "90")
    _token, secret = accounts.create_api_token(
        db_session(),
        current_account(),
        form.name.data or "",
        utcnow(),
        dt.timedelta(days=days) if days else None,
    )
    # Shown once, on this response only; the database keeps just its hash.
    return _render_tokens(NewTokenForm(formdata=None), new_secret=secret)


@bp.post("/tokens/<uuid:token_id>/revoke")
@login_required
def revoke_token(token_id: uuid.UUID) -> Response:
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("account.tokens"))
    accounts.revoke_api_token(db_session(), current_account(), token_id, utcnow())
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("account.tokens"))

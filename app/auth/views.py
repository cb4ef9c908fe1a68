from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from app.auth import bp, log_in, safe_next_url
from app.auth.forms import ForgotPasswordForm, LoginForm, ResetPasswordForm, SignupForm
from app.auth.second_factor import must_have_second_factor, start_pending
from app.db import db_session
from app.errors import field_message
from app.extensions import limiter, submitted_email_key
from app.i18n import current_language
from app.mail import send_template
from certification import accounts, second_factor
from certification.clock import utcnow
from certification.errors import EmailTaken, InvalidInput, TokenInvalid


def _add_field_errors(form: object, exc: InvalidInput) -> None:
    for field_name, codes in exc.errors.items():
        field = getattr(form, field_name, None)
        if field is not None:
            field.errors = [*field.errors, *(field_message(code) for code in codes)]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 5 minutes", methods=["POST"], key_func=submitted_email_key)
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        session = db_session()
        account = accounts.authenticate(
            session, form.email.data or "", form.password.data or "", utcnow()
        )
        if account is not None:
            # The password is one factor: with a second one enrolled (or required by a role),
            # the login goes on to the code page and nobody is logged in yet.
            has_factor = second_factor.has_second_factor(session, account)
            if has_factor or must_have_second_factor(account):
                start_pending(account, request.args.get("next"), enrol=not has_factor)
                if has_factor:
                    return redirect(url_for("auth.second_factor"))
                return redirect(url_for("auth.second_factor_setup"))
            log_in(account)
            return redirect(safe_next_url(request.args.get("next")))
        # The failed attempt is audited: commit that, even though the answer is a refusal.
        session.commit()
        form.form_errors.append(_("E-mail or password not valid."))
        return render_template("auth/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    from flask import session

    accounts.end_session(db_session(), current_user.token)
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            account = accounts.register_candidate(
                db_session(),
                email=form.email.data or "",
                given_name=form.given_name.data or "",
                family_name=form.family_name.data or "",
                password=form.password.data or "",
                locale=current_language(),
                now=utcnow(),
            )
        except EmailTaken:
            form.email.errors = [
                *form.email.errors,
                _(
                    "An account with this e-mail address already exists. Log in or reset the "
                    "password."
                ),
            ]
            return render_template("auth/signup.html", form=form), 409
        except InvalidInput as exc:
            _add_field_errors(form, exc)
            return render_template("auth/signup.html", form=form), 422
        log_in(account)
        flash(_("Welcome to Attesta, %(name)s.", name=account.person.given_name), "success")
        return redirect(url_for("main.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=submitted_email_key)
def forgot_password() -> Response | str | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        session = db_session()
        account = accounts.find_account(session, form.email.data or "")
        if account is not None and account.is_active:
            token = accounts.make_password_reset_token(account, current_app.config["SECRET_KEY"])
            send_template(
                session,
                account,
                "password_reset",
                link=url_for("auth.reset_password", token=token, _external=True),
                minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
            )
        # The same answer whether or not the account exists: no way to probe for e-mails.
        flash(
            _(
                "If an account exists for that address, we have sent it a link to set a new "
                "password. The link is valid for %(minutes)d minutes.",
                minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    session = db_session()
    max_age = dt.timedelta(minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"])
    try:
        account = accounts.account_for_reset_token(
            session, token, current_app.config["SECRET_KEY"], max_age
        )
    except TokenInvalid:
        return render_template("auth/reset_invalid.html"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password(session, account, form.password.data or "", utcnow())
        except InvalidInput as exc:
            _add_field_errors(form, exc)
            return render_template("auth/reset.html", form=form, account=account), 422
        if current_user.is_authenticated:
            logout_user()
        flash(_("Your password is set. Log in with it now."), "success")
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset.html", form=form, account=account), status

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from app.auth.blueprint import bp
from app.auth.forms import ForgotPasswordForm, LoginForm, ResetPasswordForm, SignupForm
from app.auth.second_factor import must_have_second_factor, start_pending
from app.auth.sessions import current_account, log_in, safe_next_url
from app.db import db_session
from app.errors import field_message
from app.extensions import limiter, submitted_email_key
from app.i18n import current_language
from app.mail import send_template
from app.web import place_field_errors
from certification.clock import utcnow
from certification.errors import EmailTaken, InvalidInput, TokenExpired, TokenInvalid, TokenUsed
from certification.models import UserAccount
from certification.people import accounts, privacy, second_factor


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


def _email_taken_message() -> str:
    return _("An account with this e-mail address already exists. Log in or reset the password.")


def send_email_confirmation(account: UserAccount) -> None:
    """Send the account a link that confirms its address (valid for 7 days, single use)."""
    token = accounts.make_email_confirmation_token(account, current_app.config["SECRET_KEY"])
    send_template(
        db_session(),
        account,
        "email_confirm",
        link=url_for("auth.confirm_email", token=token, _external=True),
        days=accounts.EMAIL_CONFIRM_MAX_AGE.days,
    )


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    session = db_session()
    form = SignupForm()
    # The platform's own notice (Attesta's processing before an ente is chosen): its reading
    # is acknowledged with a tick, kept with the version shown.
    notice = privacy.current_notice(session, None)
    if notice is None:
        del form.accept_privacy
    if request.method != "POST":
        return render_template("auth/signup.html", form=form, notice=notice)
    valid = form.validate_on_submit()
    # The domain's checks run even when a field is missing, so that every problem of the form
    # is shown at once (not the password rules only after the name is filled in).
    errors = accounts.signup_errors(
        session,
        form.email.data or "" if not form.email.errors else "",
        form.password.data or "" if not form.password.errors else "",
    )
    place_field_errors(
        form,
        errors,
        message=lambda c: _email_taken_message() if c == "email_taken" else field_message(c),
    )
    if not valid or errors:
        status = 409 if errors.get("email") == ["email_taken"] else 422
        return render_template("auth/signup.html", form=form, notice=notice), status
    try:
        account = accounts.register_candidate(
            session,
            email=form.email.data or "",
            given_name=form.given_name.data or "",
            family_name=form.family_name.data or "",
            password=form.password.data or "",
            locale=current_language(),
            now=utcnow(),
            privacy_notice=notice,
        )
    except EmailTaken:  # taken between the check and now
        form.email.errors = [*form.email.errors, _email_taken_message()]
        return render_template("auth/signup.html", form=form, notice=notice), 409
    except InvalidInput as exc:
        place_field_errors(form, exc.errors)
        return render_template("auth/signup.html", form=form, notice=notice), 422
    send_email_confirmation(account)
    log_in(account)
    flash(_("Welcome to Attesta, %(name)s.", name=account.person.given_name), "success")
    flash(
        _(
            "We have sent a link to %(email)s: follow it to confirm your address. You can build "
            "your portfolio now; an application can be submitted once the address is confirmed.",
            email=account.email,
        ),
        "info",
    )
    return redirect(url_for("main.dashboard"))


@bp.get("/email/confirm/<token>")
@limiter.limit("30 per hour")
def confirm_email(token: str) -> Response | tuple[str, int]:
    """Follow the link sent at sign-up (or sent again): the address is confirmed once."""
    try:
        accounts.confirm_email(db_session(), token, current_app.config["SECRET_KEY"], utcnow())
    except TokenUsed:
        return _confirm_refused("used")
    except TokenExpired:
        return _confirm_refused("expired")
    except TokenInvalid:
        return _confirm_refused("invalid")
    flash(_("Your e-mail address is confirmed. Thank you."), "success")
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return redirect(url_for("auth.login"))


def _confirm_refused(reason: str) -> tuple[str, int]:
    """A used, expired or forged link: say which, and offer to send a new one."""
    account = current_account() if current_user.is_authenticated else None
    return render_template("auth/confirm_invalid.html", reason=reason, account=account), 400


def _account_key() -> str:
    """Rate-limit key of the logged-in account (a new link is sent to its own address)."""
    return "account:" + (str(current_account().id) if current_user.is_authenticated else "-")


@bp.post("/email/confirm/resend")
@login_required
@limiter.limit("10 per hour")
@limiter.limit("3 per hour", key_func=_account_key)
def resend_confirmation() -> Response:
    """Send the confirmation link again (to the account's own address only)."""
    account = current_account()
    if account.email_confirmed_at is not None:
        flash(_("Your e-mail address is already confirmed."), "info")
    else:
        send_email_confirmation(account)
        flash(
            _(
                "We have sent a new link to %(email)s. It is valid for %(days)d days; "
                "earlier links still work until the address is confirmed.",
                email=account.email,
                days=accounts.EMAIL_CONFIRM_MAX_AGE.days,
            ),
            "info",
        )
    return redirect(safe_next_url(request.form.get("next"), "main.dashboard"))


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
            # The link came to the address: following it confirms it (invited staff, resets).
            accounts.mark_email_confirmed(session, account, utcnow())
        except InvalidInput as exc:
            place_field_errors(form, exc.errors)
            return render_template("auth/reset.html", form=form, account=account), 422
        if current_user.is_authenticated:
            logout_user()
        flash(_("Your password is set. Log in with it now."), "success")
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset.html", form=form, account=account), status

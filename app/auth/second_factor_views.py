"""Pages of the second factor: the code after the password, enrolling an authenticator app
(at login when the role requires one, or from the account page), recovery codes."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.blueprint import bp
from app.auth.forms import AddPasskeyForm, EnrolTotpForm, SecondFactorForm
from app.auth.second_factor import (
    finish_login,
    fresh_second_factor,
    mfa_key,
    must_have_second_factor,
    pending,
    qr_data_uri,
    relying_party,
    throttled_message,
)
from app.auth.sessions import current_account, safe_next_url
from app.db import db_session
from app.extensions import limiter
from app.web import EmptyForm
from certification.clock import utcnow
from certification.models import UserAccount
from certification.people import passkeys
from certification.people import second_factor as SF


def pending_key() -> str:
    """Rate-limit key of the code pages: the account waiting, not only the address."""
    waiting = pending()
    return f"second-factor:{waiting[0].id}" if waiting else f"second-factor:{request.remote_addr}"


def login_again() -> Response:
    """The password step's time ran out (or never happened): back to the login page."""
    flash(_("Log in again: the time to enter the code has run out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 5 minutes", methods=["POST"], key_func=pending_key)
def second_factor() -> Response | str | tuple[str, int]:
    """Step two of the login: a code from the app or a recovery code."""
    waiting = pending()
    if waiting is None:
        return login_again()
    account, data = waiting
    if data.get("enrol"):
        return redirect(url_for("auth.second_factor_setup"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        session, now = db_session(), utcnow()
        try:
            method = SF.verify_code(session, account, mfa_key(), form.code.data or "", now)
        except SF.SecondFactorThrottled as exc:
            form.form_errors.append(throttled_message(exc))
            return code_page(form, account), 429
        if method is None:
            session.commit()  # the failure counts, though the answer is a refusal
            form.form_errors.append(_("That code is not valid. Try again."))
            return code_page(form, account), 401
        finish_login(account, now)
        if method == "recovery_code":
            left = SF.recovery_codes_left(session, account)
            flash(
                _(
                    "You used a recovery code; %(left)d are left. If you lost your phone, set "
                    "up the app again and make new recovery codes.",
                    left=left,
                ),
                "warning",
            )
            return redirect(url_for("auth.security"))
        return redirect(safe_next_url(data.get("next")))
    status = 422 if request.method == "POST" else 200
    return code_page(form, account), status


#: The cookie session keeps the secret being enrolled, sealed (AES-GCM, bound to the account):
#: showing the QR code again writes nothing, and the code confirms the secret that was shown.
TOTP_PENDING_KEY = "totp_pending"


def _pending_secret(account: UserAccount) -> str:
    secret = SF.pending_totp_secret(mfa_key(), session.get(TOTP_PENDING_KEY), account)
    if secret is None:
        secret, session[TOTP_PENDING_KEY] = SF.begin_totp(account, mfa_key())
    return secret


def code_page(form: SecondFactorForm, account: UserAccount) -> str:
    """The second step of the login: the code, or a passkey when the account has one."""
    has_passkey = passkeys.has_passkey(db_session(), account)
    return render_template("auth/second_factor.html", form=form, has_passkey=has_passkey)


def _setup_page(
    account: UserAccount, form: EnrolTotpForm, action: str, status: int = 200
) -> tuple[str, int]:
    secret = _pending_secret(account)
    uri = SF.totp_uri(secret, account)
    return render_template(
        "auth/totp_setup.html",
        form=form,
        qr=qr_data_uri(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        action=action,
        required=must_have_second_factor(account),
    ), status


def _confirm(account: UserAccount, form: EnrolTotpForm, action: str) -> tuple[str, int] | None:
    """Check the first code; None when the app is enrolled, else the page to show again."""
    db = db_session()
    try:
        ok = SF.confirm_totp(
            db, account, mfa_key(), _pending_secret(account), form.code.data or "", utcnow()
        )
    except SF.SecondFactorThrottled as exc:
        form.form_errors.append(throttled_message(exc))
        return _setup_page(account, form, action, 429)
    if not ok:
        db.commit()
        form.form_errors.append(
            _("That code is not valid. Check the phone's time and type the code shown now.")
        )
        return _setup_page(account, form, action, 401)
    session.pop(TOTP_PENDING_KEY, None)
    return None


def codes_page(codes: list[str], next_url: str) -> str:
    return render_template(
        "auth/recovery_codes.html",
        codes=codes,
        download="\n".join([_("Attesta recovery codes (each works once):"), "", *codes, ""]),
        next_url=next_url,
    )


@bp.route("/login/second-factor/setup", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 5 minutes", methods=["POST"], key_func=pending_key)
def second_factor_setup() -> Response | str | tuple[str, int]:
    """At login, for a role that needs a second factor and has none: enrol an app first."""
    waiting = pending()
    if waiting is None:
        return login_again()
    account, data = waiting
    if not data.get("enrol"):
        return redirect(url_for("auth.second_factor"))
    action = url_for("auth.second_factor_setup")
    form = EnrolTotpForm()
    if not form.validate_on_submit():
        return _setup_page(account, form, action, 422 if request.method == "POST" else 200)
    refused = _confirm(account, form, action)
    if refused is not None:
        return refused
    now = utcnow()
    codes = SF.new_recovery_codes(db_session(), account, now)
    finish_login(account, now)
    return codes_page(codes, safe_next_url(data.get("next")))


# --- the account's own security page --------------------------------------------------------


def security_page(add_form: AddPasskeyForm | None = None, status: int = 200) -> tuple[str, int]:
    session, account = db_session(), current_account()
    totp = SF.totp_of(session, account)
    return render_template(
        "auth/security.html",
        totp=totp if totp is not None and totp.confirmed_at is not None else None,
        passkeys=passkeys.passkeys_of(session, account),
        has_factor=SF.has_second_factor(session, account),
        codes_left=SF.recovery_codes_left(session, account),
        required=must_have_second_factor(account),
        form=EmptyForm(),
        add_form=add_form or AddPasskeyForm(formdata=None),
        passkeys_possible=passkeys.browsers_accept(relying_party()),
    ), status


@bp.get("/account/security")
@login_required
def security() -> tuple[str, int]:
    return security_page()


@bp.route("/account/security/totp", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per 5 minutes", methods=["POST"])
def security_totp() -> Response | str | tuple[str, int]:
    """Add the authenticator app (any account may; staff in some roles must)."""
    session, account = db_session(), current_account()
    existing = SF.totp_of(session, account)
    if existing is not None and existing.confirmed_at is not None:
        flash(_("An authenticator app is already set up. Remove it first to change it."), "info")
        return redirect(url_for("auth.security"))
    action = url_for("auth.security_totp")
    form = EnrolTotpForm()
    if not form.validate_on_submit():
        return _setup_page(account, form, action, 422 if request.method == "POST" else 200)
    refused = _confirm(account, form, action)
    if refused is not None:
        return refused
    from certification.people.accounts import mark_second_factor

    now = utcnow()
    mark_second_factor(session, current_user.token, now)
    if SF.recovery_codes_left(session, account) == 0:
        return codes_page(SF.new_recovery_codes(session, account, now), url_for("auth.security"))
    flash(_("The authenticator app is set up."), "success")
    return redirect(url_for("auth.security"))


@bp.post("/account/security/totp/remove")
@login_required
@fresh_second_factor
def security_totp_remove() -> Response:
    """Remove the app (a lost or new phone); a role that requires one sets up the new one now."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("auth.security"))
    account = current_account()
    SF.remove_totp(db_session(), account, utcnow())
    if must_have_second_factor(account):
        flash(
            _("The authenticator app is removed. Your role needs one: set up the new one now."),
            "info",
        )
        return redirect(url_for("auth.security_totp"))
    flash(_("The authenticator app is removed."), "success")
    return redirect(url_for("auth.security"))


@bp.post("/account/security/recovery-codes")
@login_required
@fresh_second_factor
def security_recovery_codes() -> Response | str:
    """New recovery codes (the old ones stop working); shown once."""
    session, account = db_session(), current_account()
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("auth.security"))
    if not SF.has_second_factor(session, account):
        flash(_("Set up a second factor first."), "error")
        return redirect(url_for("auth.security"))
    return codes_page(SF.new_recovery_codes(session, account, utcnow()), url_for("auth.security"))

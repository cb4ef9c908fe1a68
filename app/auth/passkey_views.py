"""Pages of passkeys (WebAuthn): adding, listing and removing them on the account's security
page, and using one as the second factor at login and for a step-up.

The browser side is static/js/passkeys.js: it asks one of the ``…/options`` routes for the
options (the challenge stays on the server, certification/people/passkeys.py), calls
``navigator.credentials``, and posts the answer as WebAuthn JSON in a hidden field. Without
JavaScript the passkey forms stay hidden and the authenticator app works as before.
"""

from __future__ import annotations

import uuid

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.blueprint import bp
from app.auth.forms import AddPasskeyForm, PasskeyForm, SecondFactorForm
from app.auth.second_factor import (
    finish_login,
    fresh_second_factor,
    must_have_second_factor,
    pending,
    relying_party,
    remember_challenge,
    take_challenge_id,
    throttled_message,
)
from app.auth.second_factor_views import (
    code_page,
    codes_page,
    login_again,
    pending_key,
    security_page,
)
from app.auth.sessions import current_account, safe_next_url
from app.db import db_session
from app.extensions import limiter
from app.web import EmptyForm
from certification.clock import utcnow
from certification.errors import InvalidInput, LastSecondFactor
from certification.people import accounts, passkeys
from certification.people import second_factor as SF


def _options(options: tuple[uuid.UUID, str]) -> Response:
    """The options for the browser; the cookie session names their challenge."""
    challenge_id, body = options
    remember_challenge(challenge_id)
    db_session().commit()
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- at login -----------------------------------------------------------------------------------


@bp.post("/login/second-factor/passkey/options")
@limiter.limit("20 per minute")
@limiter.limit("10 per 5 minutes", key_func=pending_key)
def login_passkey_options() -> Response | tuple[str, int]:
    waiting = pending()
    if waiting is None or waiting[1].get("enrol"):
        return "", 409
    account = waiting[0]
    return _options(
        passkeys.authentication_options(db_session(), account, relying_party(), "login", utcnow())
    )


@bp.post("/login/second-factor/passkey")
@limiter.limit("20 per minute")
@limiter.limit("10 per 5 minutes", key_func=pending_key)
def login_passkey() -> Response | tuple[str, int]:
    """Step two of the login with a passkey instead of a code."""
    waiting = pending()
    if waiting is None:
        return login_again()
    account, data = waiting
    if data.get("enrol"):
        return redirect(url_for("auth.second_factor_setup"))
    form = PasskeyForm()
    page = SecondFactorForm(formdata=None)
    if not form.validate_on_submit():
        page.form_errors.append(_("The passkey did not answer. Try again or type a code."))
        return code_page(page, account), 422
    session, now = db_session(), utcnow()
    try:
        ok = passkeys.verify_passkey(
            session, account, relying_party(), take_challenge_id(), form.credential.data or "", now
        )
    except SF.SecondFactorThrottled as exc:
        page.form_errors.append(throttled_message(exc))
        return code_page(page, account), 429
    if not ok:
        session.commit()  # the failure counts, though the answer is a refusal
        page.form_errors.append(_("The passkey was not accepted. Try again or type a code."))
        return code_page(page, account), 401
    finish_login(account, now)
    return redirect(safe_next_url(data.get("next")))


# --- the step-up before a sensitive act -----------------------------------------------------------


@bp.post("/account/step-up/passkey/options")
@login_required
@limiter.limit("20 per minute")
def step_up_passkey_options() -> Response:
    return _options(
        passkeys.authentication_options(
            db_session(), current_account(), relying_party(), "step_up", utcnow()
        )
    )


# --- the account's own passkeys -----------------------------------------------------------------


@bp.post("/account/security/passkeys/options")
@login_required
@limiter.limit("20 per minute")
def passkey_registration_options() -> Response:
    return _options(
        passkeys.registration_options(db_session(), current_account(), relying_party(), utcnow())
    )


_REFUSALS = {
    "passkey_name": lambda: _("Give the passkey a name of at most 80 characters."),
    "passkey_expired": lambda: _("The time to add the passkey has run out. Try again."),
    "passkey_invalid": lambda: _(
        "The passkey could not be added: the browser's answer was not valid. Try again."
    ),
}


@bp.post("/account/security/passkeys")
@login_required
@limiter.limit("10 per 5 minutes")
@fresh_second_factor
def passkey_add() -> Response | str | tuple[str, int]:
    """Keep a new passkey (any account may; it counts as the second factor of a required role)."""
    session, account = db_session(), current_account()
    form = AddPasskeyForm()
    if not form.validate_on_submit():
        refusal = "passkey_name" if form.credential.data else "passkey_invalid"
        form.form_errors.append(_REFUSALS[refusal]())
        return security_page(add_form=form, status=422)
    now = utcnow()
    try:
        passkey = passkeys.register_passkey(
            session,
            account,
            relying_party(),
            take_challenge_id(),
            form.credential.data or "",
            form.name.data or "",
            now,
        )
    except InvalidInput as exc:
        session.rollback()
        code = next(iter(exc.errors.get("name", []) + exc.errors.get("passkey", [])), "")
        form.form_errors.append(_REFUSALS.get(code, _REFUSALS["passkey_invalid"])())
        return security_page(add_form=form, status=422)
    accounts.mark_second_factor(session, current_user.token, now)
    if SF.recovery_codes_left(session, account) == 0:
        return codes_page(SF.new_recovery_codes(session, account, now), url_for("auth.security"))
    flash(_("The passkey “%(name)s” is added.", name=passkey.name), "success")
    return redirect(url_for("auth.security"))


@bp.post("/account/security/passkeys/<uuid:passkey_id>/remove")
@login_required
@fresh_second_factor
def passkey_remove(passkey_id: uuid.UUID) -> Response:
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("auth.security"))
    account = current_account()
    try:
        removed = passkeys.remove_passkey(
            db_session(), account, passkey_id, must_have_second_factor(account), utcnow()
        )
    except LastSecondFactor:
        flash(
            _(
                "This is your last second factor and your role requires one: add another "
                "passkey or the authenticator app before removing it."
            ),
            "error",
        )
        return redirect(url_for("auth.security"))
    flash(_("The passkey “%(name)s” is removed.", name=removed.name), "success")
    return redirect(url_for("auth.security"))

"""The second factor on the web: the half-logged-in state between password and code, the rule
that sends staff who must have one to enrol, and the step-up before sensitive acts.

Login is password -> second factor. After the password the person is *not* logged in: the
cookie session (emptied, so a new one) only names the account waiting for its code, for five
minutes. Only when the code passes is a server-side session opened (a new id again).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from app.auth.sessions import current_account, fresh_cookie_session, log_in
from app.db import db_session
from certification.clock import utcnow
from certification.models import UserAccount
from certification.people import accounts, passkeys
from certification.people import second_factor as SF
from certification.people.roles import Role

PENDING_KEY = "second_factor_pending"
PENDING_FOR = dt.timedelta(minutes=5)
#: The form field a step-up adds to the form it interrupts.
CODE_FIELD = "second_factor_code"
#: The field a step-up with a passkey adds instead: the assertion, as WebAuthn JSON.
PASSKEY_FIELD = "second_factor_passkey"
#: The cookie session names the server-side challenge of the passkey ceremony under way.
CHALLENGE_KEY = "passkey_challenge"

F = TypeVar("F", bound=Callable[..., Any])


def mfa_key() -> bytes:
    """The key that encrypts TOTP secrets at rest (derived once per app)."""
    cache = current_app.extensions.setdefault("attesta.second_factor", {})
    if "key" not in cache:
        cache["key"] = SF.encryption_key(current_app.config["SECRET_KEY"])
    return cast(bytes, cache["key"])


def relying_party() -> passkeys.RelyingParty:
    """Who passkeys are for: the instance's base URL (``ATTESTA_BASE_URL``), not the request."""
    return passkeys.relying_party(current_app.config["BASE_URL"])


def remember_challenge(challenge_id: uuid.UUID) -> None:
    session[CHALLENGE_KEY] = str(challenge_id)


def take_challenge_id() -> uuid.UUID | None:
    """The challenge named by the cookie session, forgotten there (the row is used up too)."""
    try:
        return uuid.UUID(str(session.pop(CHALLENGE_KEY, "")))
    except ValueError:
        return None


def required_roles() -> frozenset[Role]:
    cache = current_app.extensions.setdefault("attesta.second_factor", {})
    if "roles" not in cache:
        cache["roles"] = SF.parse_required_roles(current_app.config["SECOND_FACTOR_ROLES"])
    return cast(frozenset[Role], cache["roles"])


def must_have_second_factor(account: UserAccount) -> bool:
    return SF.requires_second_factor(account, required_roles())


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code (SVG as a data: URI, allowed by the CSP's img-src)."""
    import segno  # the QR library (a twentieth of a second) when a second factor is set up

    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


# --- between password and code --------------------------------------------------------------


def start_pending(account: UserAccount, next_url: str | None, *, enrol: bool) -> None:
    """The password passed: remember (in a fresh cookie session) whose code is awaited."""
    fresh_cookie_session()
    session[PENDING_KEY] = {
        "user": str(account.id),
        "since": utcnow().isoformat(),
        "next": next_url or "",
        "enrol": enrol,
    }


def pending() -> tuple[UserAccount, dict[str, Any]] | None:
    """The account waiting for its second factor, if the wait has not expired."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    try:
        since = dt.datetime.fromisoformat(data["since"])
        account = db_session().get(UserAccount, uuid.UUID(data["user"]))
    except (KeyError, TypeError, ValueError):
        return None
    if account is None or not account.is_active or utcnow() - since > PENDING_FOR:
        session.pop(PENDING_KEY, None)
        return None
    return account, data


def finish_login(account: UserAccount, verified_at: dt.datetime) -> None:
    """Both factors passed: a new server-side session, its second factor verified now."""
    log_in(account, second_factor_at=verified_at)


# --- every request --------------------------------------------------------------------------


def _guard() -> Response | None:
    """A session opened with the password alone, for an account whose role now needs a second
    factor (a role given since, or a session from before), ends: log in again and enrol."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    if current_user.second_factor_at is not None or not must_have_second_factor(current_account()):
        return None
    accounts.end_session(db_session(), current_user.token)
    logout_user()
    fresh_cookie_session()
    flash(_("Your role needs a second factor: log in again to set it up."), "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.before_request(_guard)


# --- step-up --------------------------------------------------------------------------------


def is_fresh() -> bool:
    minutes = current_app.config["SECOND_FACTOR_FRESH_MINUTES"]
    return SF.is_fresh(current_user.second_factor_at, utcnow(), minutes)


def _kept_fields() -> list[tuple[str, str]]:
    """The fields of the interrupted form, to send again with the code."""
    return [
        (name, value)
        for name, values in request.form.lists()
        for value in values
        if name not in {"csrf_token", CODE_FIELD, PASSKEY_FIELD}
    ]


def step_up_page(error: str | None = None, status: int = 401) -> tuple[str, int]:
    return render_template(
        "auth/step_up.html",
        fields=_kept_fields(),
        action=request.full_path if request.query_string else request.path,
        error=error,
        has_factor=SF.has_second_factor(db_session(), current_account()),
        has_passkey=passkeys.has_passkey(db_session(), current_account()),
        code_field=CODE_FIELD,
        passkey_field=PASSKEY_FIELD,
    ), status


def fresh_second_factor(view: F) -> F:
    """A POST to ``view`` needs a second factor verified in the last minutes
    (``SECOND_FACTOR_FRESH_MINUTES``) from an account that has one. Otherwise the answer is a
    page asking for a code that posts the same form again, with its data, plus the code; a
    right code lets it through."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if request.method != "POST" or not current_user.is_authenticated or is_fresh():
            return view(*args, **kwargs)
        account, session_ = current_account(), db_session()
        if not SF.has_second_factor(session_, account) and not must_have_second_factor(account):
            # The password is all this account has (a candidate, a tutor): the view's own
            # permission check decides. Accounts in the required roles always have one.
            return view(*args, **kwargs)
        code, assertion = request.form.get(CODE_FIELD), request.form.get(PASSKEY_FIELD)
        if code is None and assertion is None:
            return step_up_page()
        now = utcnow()
        try:
            if assertion is not None:
                ok = passkeys.verify_passkey(
                    session_,
                    account,
                    relying_party(),
                    take_challenge_id(),
                    assertion,
                    now,
                    "step_up",
                )
            else:
                method = SF.verify_code(session_, account, mfa_key(), code or "", now, "step_up")
                ok = method is not None
        except SF.SecondFactorThrottled as exc:
            return step_up_page(throttled_message(exc), 429)
        if not ok:
            session_.commit()  # the failure counts, though the answer is a refusal
            if assertion is not None:
                return step_up_page(_("The passkey was not accepted. Try again."))
            return step_up_page(_("That code is not valid. Try again."))
        accounts.mark_second_factor(session_, current_user.token, now)
        current_user.second_factor_at = now
        return view(*args, **kwargs)

    return cast(F, wrapped)


def throttled_message(exc: SF.SecondFactorThrottled) -> str:
    minutes = max(1, (int(exc.params.get("seconds", 60)) + 59) // 60)
    return _(
        "Too many wrong codes. Try again in %(minutes)d minutes.",
        minutes=minutes,
    )

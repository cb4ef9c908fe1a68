"""Who is logged in: the server-side session row behind Flask-Login's cookie, logging in, and
the helpers the views use to read the current account."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Flask, current_app, session, url_for
from flask_login import current_user

from app.db import db_session
from app.extensions import login_manager
from certification.cards import partner_organisations
from certification.clock import utcnow
from certification.models import UserAccount
from certification.people import accounts
from certification.policy import is_staff, runs_card_programme


class AuthenticatedUser:
    """What Flask-Login keeps for a request: the account and its server-side session token."""

    is_authenticated = True
    is_anonymous = False

    def __init__(
        self, account: UserAccount, token: str, second_factor_at: dt.datetime | None = None
    ) -> None:
        self.account = account
        self.token = token
        #: When this session last verified the second factor (None: the password alone).
        self.second_factor_at = second_factor_at

    @property
    def is_active(self) -> bool:
        return self.account.is_active

    def get_id(self) -> str:
        # Flask-Login stores this in the signed cookie; it names the session row, not the user.
        return self.token

    @property
    def person(self) -> Any:
        return self.account.person

    @property
    def is_staff(self) -> bool:
        return is_staff(self.account)

    @property
    def runs_card_programme(self) -> bool:
        # Only an ente titolato runs a card programme (cards.card_programmes lists them).
        return runs_card_programme(self.account)

    @property
    def is_partner(self) -> bool:
        return bool(partner_organisations(self.account))


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])


def idle_timeout() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


@login_manager.user_loader
def _load_user(token: str) -> AuthenticatedUser | None:
    row = accounts.live_session(db_session(), token, utcnow(), idle_timeout())
    return AuthenticatedUser(row.user, token, row.second_factor_at) if row else None


def fresh_cookie_session() -> None:
    """Empty the cookie session but for the language (a new session at each login step)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def log_in(account: UserAccount, second_factor_at: dt.datetime | None = None) -> None:
    """Start a fresh session for ``account`` (new id: no session fixation).

    ``second_factor_at``: when the second factor was verified (None: the password alone).
    """
    from flask_login import login_user

    fresh_cookie_session()
    token = accounts.start_session(
        db_session(), account, utcnow(), session_lifetime(), second_factor_at
    )
    login_user(AuthenticatedUser(account, token, second_factor_at))


def safe_next_url(target: str | None, default: str = "main.dashboard") -> str:
    """``target`` if it is a path on this site, else the ``default`` page.

    An absolute URL in ``?next=`` would turn the login page into an open redirect.
    """
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for(default)


def sorted_staff_roles(account: UserAccount) -> list[Any]:
    """The account's staff roles, by organisation then role, for display."""
    return sorted(
        account.person.staff_roles, key=lambda r: (r.organisation.short_name, r.role.value)
    )


def current_account() -> UserAccount:
    return cast(UserAccount, current_user.account)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # the server-side session row is the protection

"""Language: Italian first, English second.

The language is the one asked with ``?lang=`` (the switch of the public check's pages, which
have no session), else the account's choice when logged in, else the one picked with the switch
(kept in the session), else the browser's preference, else Italian.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from babel import Locale
from flask import Flask, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from app.config import ROOT
from app.extensions import babel
from app.public import PUBLIC
from certification.clock import Style, local_text

LOCALES = ("it", "en")
LANGUAGE_NAMES = {"it": "Italiano", "en": "English"}
#: Our languages parsed once: Flask-Babel takes a Locale as it is, where a name costs a parse
#: and a look for the locale's data file on disk on every request (issue 22).
PARSED = {name: Locale.parse(name) for name in LOCALES}


def select_locale() -> Locale | str:
    """The request's language (see the module's docstring), as one of :data:`PARSED`."""
    name = _selected()
    return PARSED.get(name, name)


def _selected() -> str:
    asked = request.args.get("lang")  # the GET language switch of the public check's pages
    if asked in LOCALES:
        return str(asked)
    if request.environ.get(PUBLIC):
        # A public check by code (app.public): no session, no user read; the browser's choice.
        return browser_locale(request.headers.get("Accept-Language"))
    if current_user and current_user.is_authenticated:
        return str(current_user.account.locale)
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    return browser_locale(request.headers.get("Accept-Language"))


@functools.lru_cache(maxsize=256)
def browser_locale(header: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header, else Italian; parsed once
    per distinct header (browsers send a handful of them)."""
    if not header:
        return "it"
    return parse_accept_header(header, LanguageAccept).best_match(LOCALES) or "it"


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LOCALES else "it"


def localized(obj: Any, field: str) -> str:
    """``obj.<field>_<lang>`` (or ``obj[field][lang]`` for JSON texts), falling back to Italian."""
    lang = current_language()
    if isinstance(obj, dict):
        text = obj.get(field, obj) if field else obj
        if isinstance(text, dict):
            return str(text.get(lang) or text.get("it") or "")
        return str(text or "")
    return str(getattr(obj, f"{field}_{lang}", None) or getattr(obj, f"{field}_it", ""))


def when(
    moment: dt.datetime | dt.date | None, style: Style = "medium", *, with_time: bool = True
) -> str:
    """A stored time for people in the page's (or e-mail's) language: Rome's wall clock, to
    the minute (:func:`certification.clock.local_text`, the one formatter)."""
    return local_text(moment, current_language(), style=style, with_time=with_time)


def init_app(app: Flask) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]
    # Flask-Babel's own date filters show Rome's dates too (a deadline at 23:59 UTC is the
    # next day in Rome).
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Rome"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "app" / "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["tr"] = localized
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals.update(
        current_language=current_language, LANGUAGE_NAMES=LANGUAGE_NAMES, LOCALES=LOCALES
    )

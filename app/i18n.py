"""Language: Italian first, English second.

The language is the account's choice when logged in, else the one picked with the switch
(kept in the session), else the browser's preference, else Italian.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from flask import Flask, request, session
from flask_babel import get_locale
from flask_login import current_user

from app.config import ROOT
from app.extensions import babel
from certification.clock import in_rome

LOCALES = ("it", "en")
LANGUAGE_NAMES = {"it": "Italiano", "en": "English"}


def select_locale() -> str:
    if current_user and current_user.is_authenticated:
        return str(current_user.account.locale)
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(LOCALES) or "it"


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


#: when()'s styles -> the locale's date format (the time is always hours and minutes).
_DATE_STYLES = {"short": "short", "medium": "medium", "long": "full"}


def when(moment: dt.datetime | None, style: str = "medium") -> str:
    """A stored time for people: Rome's wall clock, to the minute, in the page's language
    ("15 gen 2027, 10:00"; "long" adds the weekday, for convocations). The one formatter of
    date-times for pages and e-mails."""
    if moment is None:
        return ""
    locale = get_locale() or Locale.parse("it")
    local = in_rome(moment)
    date_style = _DATE_STYLES[style]
    pattern = str(locale.datetime_formats[date_style])
    return pattern.format(
        format_time(local, "short", locale=locale),
        format_date(local.date(), date_style, locale=locale),
    )


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

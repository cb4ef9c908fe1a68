"""Flask extensions, created unbound and attached in ``create_app``."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def submitted_email_key() -> str:
    """Rate-limit key for per-account throttling: the e-mail address typed into the form."""
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]

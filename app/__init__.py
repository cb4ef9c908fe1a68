"""The web layer: ``create_app`` wires configuration, database, extensions and blueprints."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import ROOT, load_config
from app.ratelimits import choose_storage, limiter_uri, web_workers


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an Attesta app. ``config`` overrides settings (tests pass theirs here)."""
    # Building imports the models, SQLAlchemy and the views: hundreds of thousands of objects,
    # which the cyclic garbage collector would walk two or three times on the way, a sixth of a
    # start's time (issue 20), to find almost no garbage. It is paused while the app is built;
    # what was built then goes to the oldest generation unwalked (freeze, unfreeze: no garbage is
    # kept for ever, the next full collection looks at it) and the collector runs as usual.
    running = gc.isenabled()
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        return _build(config)
    finally:
        if not frozen:  # someone else's frozen objects stay frozen
            gc.freeze()
            gc.unfreeze()
        if running:
            gc.enable()


def _build(config: Mapping[str, Any] | None) -> Flask:
    from app.db import RetryingFlask

    settings = load_config(config)
    rate_limits = choose_storage(settings, web_workers())
    app = RetryingFlask(
        "app",
        root_path=str(ROOT / "app"),
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
        instance_path=settings["INSTANCE_PATH"],
        instance_relative_config=False,
    )
    app.config.update(settings)
    app.config.update(
        TESTING=settings["ENV"] == "testing",
        MAX_CONTENT_LENGTH=settings["MAX_UPLOAD_MB"] * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        RATELIMIT_STORAGE_URI=limiter_uri(rate_limits.uri),
        RATELIMIT_ENABLED=settings["RATELIMIT_ENABLED"],
        RATELIMIT_HEADERS_ENABLED=True,
        JSON_SORT_KEYS=False,
    )
    app.extensions["attesta.rate_limits"] = rate_limits
    if settings["TRUSTED_PROXIES"]:
        n = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from app import cli, db, error_handlers, i18n, labels, origins, public, security, services
    from app.auth import second_factor, sessions
    from app.extensions import csrf, limiter

    db.init_app(app)
    services.init_app(app)
    origins.init_app(app)  # before the CSRF token check: a foreign site is refused first
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    sessions.init_app(app)
    second_factor.init_app(app)  # its guard asks Flask-Login, set up just above
    public.init_app(app)  # after the others: its hook goes first of all before-request hooks
    from app.certificates import holder_download

    holder_download.init_app(app)  # in front of the app: the holder's own PDF download
    security.init_app(app)
    error_handlers.init_app(app)
    labels.register(app)
    cli.init_app(app)

    from app.account import bp as account_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.cards import bp as cards_bp
    from app.cases import bp as cases_bp
    from app.catalogue import bp as catalogue_bp
    from app.certificates import bp as certificates_bp
    from app.keys import bp as keys_bp
    from app.main import bp as main_bp
    from app.outbox import bp as outbox_bp
    from app.portfolio import bp as portfolio_bp
    from app.privacy import bp as privacy_bp
    from app.referee import bp as referee_bp
    from app.register import bp as register_bp
    from app.staff import bp as staff_bp
    from app.verify import bp as verify_bp
    from app.wallet import bp as wallet_bp

    for blueprint in (
        auth_bp,
        main_bp,
        catalogue_bp,
        account_bp,
        staff_bp,
        portfolio_bp,
        cases_bp,
        certificates_bp,
        referee_bp,
        register_bp,
        keys_bp,
        verify_bp,
        cards_bp,
        outbox_bp,
        privacy_bp,
        wallet_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)
    return app

"""The holder's download before Flask (app/certificates/holder_download.py): reading the
session cookie once per cookie, and leaving other URLs alone at once (issue 22)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from app.certificates import holder_download
from app.certificates.holder_download import HolderDownloads


def _layer(app: Flask) -> HolderDownloads:
    return HolderDownloads(app, app.wsgi_app)


def _serializer(app: Flask) -> Any:
    return app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]


def test_a_cookie_s_signature_is_checked_once_its_age_every_time(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer, serializer = _layer(app), _serializer(app)
    cookie = serializer.dumps({"_user_id": "token-1", "csrf_token": "x"})
    loads = []
    real = serializer.loads

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(serializer, "loads", counted)
    assert layer._token(serializer, cookie, 3600) == "token-1"
    assert layer._token(serializer, cookie, 3600) == "token-1"
    assert len(loads) == 1  # the second time from memory
    # Older than the session's lifetime: refused, although its signature was checked before.
    now = holder_download.time.time()
    monkeypatch.setattr(holder_download.time, "time", lambda: now + 3601)
    assert layer._token(serializer, cookie, 3600) is None
    # From the future (a clock set back): refused too, as itsdangerous does.
    monkeypatch.setattr(holder_download.time, "time", lambda: now - 60)
    assert layer._token(serializer, cookie, 3600) is None


def test_a_forged_or_tokenless_cookie_gives_no_token(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer, serializer = _layer(app), _serializer(app)
    cookie = serializer.dumps({"_user_id": "token-1"})
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    assert layer._token(serializer, forged, 3600) is None
    assert layer._token(serializer, forged, 3600) is None  # nothing kept of a forgery
    assert layer._token(serializer, serializer.dumps({"locale": "en"}), 3600) is None
    # Signed with another key: not ours.
    monkeypatch.setattr(app, "secret_key", "another key")
    assert layer._token(_serializer(app), cookie, 3600) is None


def test_only_the_download_url_is_matched(app: Flask) -> None:
    layer = _layer(app)
    some = uuid.uuid4()
    found = layer._certificate_id({"PATH_INFO": f"/certificates/{some}/certificate.pdf"})
    assert found == some
    for path in ("/dashboard", f"/certificates/{some}", f"/certificates/{some}/card.pdf", "/"):
        assert layer._certificate_id({"PATH_INFO": path}) is None, path

"""What the views of several blueprints share: the CSRF-only form and the confirmation box,
downloads of stored files and bytes, the headers of pages that name a person, and a refusal's
field problems put on a form.

A helper used by one blueprint stays in that blueprint; one used by two or more lives here, so
no blueprint imports another's views or forms.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from flask import flash, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.http import dump_options_header, http_date, parse_etags
from werkzeug.utils import send_file as werkzeug_send_file
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file
from wtforms import BooleanField
from wtforms.validators import DataRequired

from app.errors import field_message
from app.security import RESPONSE_CLASS
from app.services import storage
from certification.errors import NotFound
from certification.storage.blobs import BlobStorage

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

R = TypeVar("R", bound=Response)

# --- forms ----------------------------------------------------------------------------------


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


def confirmation(label: Any) -> Any:
    """The box that confirms a legal act after reading its consequence (``label``)."""
    return BooleanField(
        label, validators=[DataRequired(_l("Tick the box to confirm: nothing has changed yet."))]
    )


def place_field_errors(
    form: Any,
    errors: Mapping[str, Iterable[str]],
    default: Any = None,
    message: Callable[[str], str] = field_message,
) -> list[str]:
    """Put a refusal's field problems (an :class:`InvalidInput`'s ``errors``: field name to
    codes) on the form's fields as translated messages, after the field's own. A problem whose
    field the form lacks goes on the ``default`` field if one is given; otherwise its messages
    are returned, for the caller to show."""
    unplaced: list[str] = []
    for name, codes in errors.items():
        messages = [message(code) for code in codes]
        field = getattr(form, name, None)
        if field is None:
            field = default
        if field is None:
            unplaced.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
    return unplaced


def flash_form_errors(form: Any) -> None:
    """A posted form's own problems (its validators') as one flashed error, for a form whose
    page is not shown again."""
    flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")


# --- responses ------------------------------------------------------------------------------


def send_stored(sha256: str, media_type: str, name: str, *, immutable: bool = False) -> Response:
    """Serve stored bytes as a download: never rendered inline by the browser. Streamed from
    the store (sendfile under gunicorn), not read into memory.

    ``immutable``: the bytes of an issued document, which never change (stored by their hash):
    tagged with that hash (``ETag``), so that a client that kept the file (a wallet, a script,
    a download manager) and names the hash in ``If-None-Match`` gets a 304 without the file
    being opened. Still ``no-store`` (security.md §3.7): no browser or proxy keeps it on our
    word, and the access check runs on every request, 304s included."""
    return stored_download(
        request.environ, storage(), sha256, media_type, name, immutable=immutable
    )


def stored_download(
    environ: WSGIEnvironment,
    store: BlobStorage,
    sha256: str,
    media_type: str,
    name: str,
    *,
    immutable: bool = False,
) -> Response:
    """:func:`send_stored` for the request ``environ``, with no Flask request context (the
    holder's download answers before Flask: app.certificates.holder_download)."""
    if immutable and parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(sha256):
        response = Response(status=304)
        _immutable(response, sha256)
        return response
    try:
        stored = store.open(sha256)
    except KeyError:
        raise NotFound("file missing") from None
    if immutable and name.isascii() and not _partial(environ):
        return _whole_immutable(environ, stored.stream, stored.size, media_type, name, sha256)
    response = _download(environ, stored.stream, stored.size, media_type, name)
    if immutable:
        _immutable(response, sha256)
    return response


def _partial(environ: WSGIEnvironment) -> bool:
    """Whether the request asks for a part of the file (or a condition on its date)."""
    return any(
        environ.get(name)
        for name in ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH")
    )


_now_text: tuple[int, str] = (0, "")


def _http_now() -> str:
    """``http_date()`` of now, made once a second (the download's Date and Expires)."""
    global _now_text
    second = int(time.time())
    if _now_text[0] != second:
        _now_text = (second, http_date(second))
    return _now_text[1]


def _whole_immutable(
    environ: WSGIEnvironment,
    stream: BinaryIO,
    size: int,
    media_type: str,
    name: str,
    sha256: str,
) -> Response:
    """The whole file of an immutable download, with the very headers :func:`_download` and
    :func:`_immutable` give it (in the same order), written out rather than worked out: the
    holder's download is the most frequent request there is (issue 22)."""
    now = _http_now()
    response = Response(
        wrap_file(environ, stream),
        headers=[
            ("Content-Disposition", dump_options_header("attachment", {"filename": name})),
            ("Content-Type", media_type),
            ("Cache-Control", "private, no-store"),
            ("Expires", now),
            ("Content-Length", str(size)),
            ("Date", now),
            ("Accept-Ranges", "bytes"),
            ("Content-Security-Policy", "default-src 'none'; sandbox"),
            ("ETag", f'"{sha256}"'),
        ],
        direct_passthrough=True,
    )
    setattr(response, RESPONSE_CLASS, "immutable-download")
    return response


def _immutable(response: Response, sha256: str) -> None:
    response.set_etag(sha256)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    setattr(response, RESPONSE_CLASS, "immutable-download")


def send_bytes(data: bytes, media_type: str, name: str) -> Response:
    """Serve bytes as a download, sandboxed and never cached."""
    return _download(request.environ, io.BytesIO(data), len(data), media_type, name)


def _download(
    environ: WSGIEnvironment, stream: BinaryIO, size: int, media_type: str, name: str
) -> Response:
    response = werkzeug_send_file(
        stream,
        environ,
        mimetype=media_type,
        as_attachment=True,
        download_name=name,
        conditional=False,
        etag=False,
        max_age=0,
        response_class=Response,
    )
    response.content_length = size  # werkzeug knows it only for paths and BytesIO
    response.make_conditional(environ, accept_ranges=True, complete_length=size)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def private(response: R) -> R:
    """Headers for pages that name a person: not indexed, not cached, no referrer."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    setattr(response, RESPONSE_CLASS, "private")  # the other security headers: app.security
    return response

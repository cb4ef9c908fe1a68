"""Published keys: what a third party needs to check Attesta's seals and credentials without
Attesta's web pages. Public, cacheable, and kept forever (retired keys included). Also the
daily signed checkpoints of the audit history, for outside parties to keep."""

from flask import Blueprint

bp = Blueprint("keys", __name__)

from app.keys import views  # noqa: E402, F401 - registers the routes

"""Development outbox: the e-mails Attesta would have sent, readable in the browser.

Only when ``ATTESTA_DEV_OUTBOX`` is on (``make run`` turns it on; production refuses it),
because it shows everyone's messages, password-reset links included.
"""

from flask import Blueprint

bp = Blueprint("outbox", __name__, url_prefix="/outbox")

from app.outbox import views  # noqa: E402, F401 - registers the routes

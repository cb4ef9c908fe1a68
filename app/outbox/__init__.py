"""Development outbox: the e-mails Attesta would have sent, readable in the browser.

Only when ``ATTESTA_DEV_OUTBOX`` is on (``make run`` turns it on; production refuses it),
because it shows everyone's messages, password-reset links included.
"""

from app.outbox import views  # noqa: F401 - the modules whose routes are the blueprint's
from app.outbox.blueprint import bp

__all__ = ["bp"]

"""The ``verify`` blueprint, in a module of its own: its view modules import it, and the
package imports them, with no cycle."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("verify", __name__)

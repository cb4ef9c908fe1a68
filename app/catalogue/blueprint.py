"""The ``catalogue`` blueprint, in a module of its own: its view modules import it, and the
package imports them, with no cycle."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")

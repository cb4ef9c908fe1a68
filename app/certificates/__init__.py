from flask import Blueprint

bp = Blueprint("certificates", __name__)

from app.certificates import sharing, views  # noqa: E402,F401

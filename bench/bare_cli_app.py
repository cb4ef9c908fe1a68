"""The bare baseline of the startup benchmark: the least a Flask command line loads.

One ``Flask(__name__)`` and nothing else: ``flask --app bench.bare_cli_app --help`` starts Python,
Flask and click (and the commands Flask's installed extensions add), which is what any Flask app's
command line pays before its own imports.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)

"""URL rules whose builders are written when first used, not when the app is built.

Werkzeug writes, compiles and loads two small Python functions for every URL rule as the rule
is added (the builders ``url_for`` calls). For Attesta's 160-odd routes that is about a tenth of
a second of every start, the command line's included (``flask --app wsgi --help``, the cron
jobs), although a command builds no URL and a web process builds only those of the pages it
serves. :class:`LazyBuildRule` parses and checks the rule as it is added, as Werkzeug does (a
bad rule still fails at start), and writes each builder the first time a URL is built from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyBuildRule(Rule):
    """A Werkzeug :class:`~werkzeug.routing.Rule` that compiles its URL builders on first use."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compile_now = super()._compile_builder
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_first(rule: LazyBuildRule, **values: Any) -> tuple[str, str]:
            # Replaces itself on the rule by the real builder, then builds with it. Two threads
            # that build at once compile the same function twice; either result is right.
            real = compile_now(append_unknown).__get__(rule, None)
            setattr(rule, attribute, real)
            return real(**values)

        return build_first

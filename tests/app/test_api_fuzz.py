"""The public API fuzzed from its own OpenAPI document (schemathesis), anonymously and with a
token of each kind of user: no 5xx, every response matches the documented schema, status and
content type, and operations that need a token refuse requests without one (or with a bad one).

Examples per operation and caller: API_FUZZ_EXAMPLES (10 in ``make test``; ``make fuzz``, which
.ci/run runs, sends 100).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session

from certification.people.accounts import create_api_token
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import make_account, make_candidate, make_organisation

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))
CALLERS = ["anonymous", "candidate", "signatory", "operator"]


def _tokens(db: Session) -> dict[str, str | None]:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    accounts = {
        "candidate": make_candidate(db),
        "signatory": make_account(db, roles=(Role.SIGNATORY,), organisation=ente),
        "operator": make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
    }
    tokens: dict[str, str | None] = {"anonymous": None}
    for name, account in accounts.items():
        _token, secret = create_api_token(db, account, "fuzz", NOW, dt.timedelta(days=3650))
        tokens[name] = secret
    db.commit()
    return tokens


def _operations(app: Flask) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
def test_the_document_lists_every_api_route(app: Flask) -> None:
    documented = {op.path for op in _operations(app)}
    routes = {
        rule.rule.removeprefix("/api/v1").replace("<uuid:", "{").replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"
    }
    assert routes == documented


@pytest.mark.slow
@pytest.mark.parametrize("caller", CALLERS)
def test_the_api_holds_under_fuzzing(
    app: Flask, db: Session, caller: str, request: pytest.FixtureRequest
) -> None:
    secret = _tokens(db)[caller]
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    sent: Counter[str] = Counter()
    operations = _operations(app)
    for operation in operations:
        name = f"{operation.method.upper()} {operation.path}"

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            sent[name] += 1  # noqa: B023 - fuzz() runs within this iteration
            response = case.call_and_validate(headers=headers)
            assert response.status_code < 500

        fuzz()
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f" api fuzzing as {caller}: {len(operations)} operations, "
            f"{sum(sent.values())} requests, no failure"
        )

"""Errors in one place: every domain error anywhere in certification/ is of a kind with an HTTP
status and has a translated message for its code, and the answer's status comes from the
error's class, so a new Conflict is a 409 without editing a table."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask import Flask

import certification
from app.errors import MESSAGES, STATUS_BY_KIND, status_of
from certification.errors import (
    AccessRefused,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    NotPermitted,
    TokenExpired,
)


def _domain_errors() -> list[type[DomainError]]:
    """Every subclass of DomainError declared in certification/, every module imported first."""
    for module in pkgutil.walk_packages(certification.__path__, "certification."):
        importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    todo = [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("certification.") and sub not in found:
                found.append(sub)
    return found


def test_every_domain_error_has_a_status_and_a_message() -> None:
    errors = _domain_errors()
    # The walk finds errors declared next to their operations, in every package.
    names = {e.__name__ for e in errors}
    assert {"InvalidTransition", "AlreadyIssued", "CardExists", "NoActiveKey", "PoolBusy"} <= names
    without_status = [e.__name__ for e in errors if status_of(e) is None]
    without_message = [f"{e.__name__} ({e.code})" for e in errors if e.code not in MESSAGES]
    assert without_status == [] and without_message == []


def test_the_status_is_the_kinds() -> None:
    assert STATUS_BY_KIND[Conflict] == 409 and status_of(Conflict) == 409
    assert status_of(AccessRefused) == 404  # answered as not found: no oracle
    assert status_of(TokenExpired) == 400
    assert status_of(DomainError) is None
    expected = {
        # The statuses the table of codes gave before the kinds (issue 20).
        "invalid_transition": 409,
        "stale_case": 409,
        "already_issued": 409,
        "card_exists": 409,
        "notice_immutable": 409,
        "evidence_locked": 409,
        "key_not_usable": 409,
        "upload_rejected": 422,
        "credential_invalid": 422,
        "rubric_invalid": 422,
        "key_passphrase_wrong": 503,
        "no_active_key": 503,
        "busy": 503,
        "token_used": 400,
    }
    by_code = {e.code: status_of(e) for e in _domain_errors()}
    assert {code: by_code[code] for code in expected} == expected


@pytest.mark.parametrize(
    ("kind", "status"), [(Conflict, 409), (NotFound, 404), (NotPermitted, 403), (InvalidInput, 422)]
)
def test_a_new_error_answers_with_its_kinds_status(app: Flask, kind: type, status: int) -> None:
    class Brandnew(kind):  # type: ignore[misc,valid-type]
        code = "conflict" if kind is Conflict else kind.code

    @app.get("/api/brandnew")
    def brandnew() -> str:
        raise Brandnew("made up for the test")

    response = app.test_client().get("/api/brandnew")
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == Brandnew.code

"""app.api.dumping: the planned dump gives what marshmallow's ``Schema.dump`` gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, fields, post_dump
from sqlalchemy.orm import Session

from app.api import schemas as s
from app.api.dumping import Dumper
from app.verify.checks import verification_json
from certification.clock import utcnow
from certification.models import Certificate
from certification.verification.checks import (
    verify_code,
)
from certification.verification.public import (
    public_view,
    set_public_consents,
)
from tests.support.certificates import issue_on_the_web

_CHECKED = dt.datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=dt.UTC)


def _certificate(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": "N-1",
        "verification_code": "ABCD-EFGH",
        "issued_on": dt.date(2026, 1, 2),
        "kind": "profilo",
        "holder_name": "M. R.",
        "holder_full_name_shown": False,
        "ente_titolato": "Ente",
        "ente_titolare": None,
        "framework_title": {"it": "Quadro", "en": None},
        "profile_code": "P1",
        "profile_title": {"it": "Profilo", "en": "Profile", "unknown": "dropped"},
        "eqf_level": None,
        "competences": [{"code": "C1", "title": {"it": "a", "en": "b"}, "eqf_level": 4}],
        "coverage": {"partial": True, "covered": 1, "total": 2, "missing": []},
        "assessment_methods": ["interview"],
        "status": "revoked",
        "status_changed_on": dt.date(2026, 3, 4),
        "superseded_by": None,
        "illustrative": False,
        "learning_experiences": [
            {"kind": "work", "host": None, "start": dt.date(2025, 1, 1), "end": None, "x": 1}
        ],
        "evidence": [
            {"type": "pdf", "date": None, "commitment": "ab" * 32, "indicators": ["i1"]},
            {"type": "pdf", "date": dt.date(2025, 2, 3), "sha256": "cd" * 32, "salt": "secret"},
        ],
        "private": "never on the wire",
    }
    body.update(changes)
    return body


def _body(certificate: dict[str, Any] | None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "verdict": "not_valid",
        "reason": "revoked",
        "method": "code",
        "checked_at": _CHECKED,
        "dimensions": [
            {"name": "found", "state": "found", "outcome": "pass", "detail": None, "message": "x"},
            {"name": "status", "state": "revoked", "outcome": "fail", "message": "y"},
        ],
        "certificate": certificate,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "body",
    [
        _body(_certificate()),
        _body(None),
        _body(None, checked_at=None),
        {k: v for k, v in _body(None).items() if k != "checked_at"},  # 404: no checked_at
        _body(_certificate(evidence=None, learning_experiences=[], coverage={"partial": 0})),
        _body({k: v for k, v in _certificate().items() if k not in ("evidence", "status")}),
        _body(_certificate(eqf_level="5", holder_full_name_shown=1)),  # coerced like marshmallow
    ],
)
def test_the_plan_dumps_what_the_schema_dumps(body: dict[str, Any]) -> None:
    assert Dumper(s.VerificationSchema()).dump(body) == s.VerificationSchema().dump(body)


def test_keys_the_schema_does_not_name_never_reach_the_wire() -> None:
    dumped = Dumper(s.VerificationSchema()).dump(_body(_certificate()))
    certificate = dumped["certificate"]
    assert "private" not in certificate
    assert all("salt" not in e for e in certificate["evidence"])
    assert "x" not in certificate["learning_experiences"][0]
    assert certificate["coverage"]["partial"] is True and dumped["checked_at"].endswith("+00:00")


def test_a_schema_with_hooks_is_refused() -> None:
    class Hooked(Schema):
        a = fields.String()

        @post_dump
        def _upper(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return data

    class Outer(Schema):
        inner = fields.Nested(Hooked)

    for schema in (Hooked(), Outer(), s.VerificationSchema(many=True)):
        with pytest.raises(ValueError, match="plain schemas"):
            Dumper(schema)


@pytest.mark.slow
def test_a_real_answer_dumps_as_the_schema_dumps_it(
    app: Flask, stage: dict[str, Any], db: Session
) -> None:
    certificate: Certificate = issue_on_the_web(app, stage, db)
    plan, schema = Dumper(s.VerificationSchema()), s.VerificationSchema()
    for shown in (False, True):
        set_public_consents(
            db,
            stage.candidate,
            certificate,
            show_name=shown,
            show_evidence=shown,
            text_version="t",
            now=utcnow(),
        )
        for language in ("it", "en"):
            with app.test_request_context(f"/api/v1/verify/x?lang={language}"):
                result = verify_code(db, certificate.verification_code, utcnow())
                assert result.certificate is not None
                body = verification_json(
                    result, public_view(db, result.certificate, result.consents)
                )
                assert ("evidence" in body["certificate"]) is shown
                assert plan.dump(body) == schema.dump(body)

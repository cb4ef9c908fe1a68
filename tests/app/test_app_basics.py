"""Configuration, health, errors, security headers, language, CLI, migrations."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

import certification.models  # noqa: F401 - all tables on the metadata
from app.config import ConfigError, load_config
from app.services import issuer
from certification.db import ModelBase
from tests.support.factories import PASSWORD, make_account
from tests.support.web import login, post_form


def test_migrations_produce_the_schema_of_the_models(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    assert compare_metadata(context, ModelBase.metadata) == []


def test_config_precedence_and_validation(tmp_path: Path) -> None:
    env = {"ATTESTA_SESSION_IDLE_MINUTES": "15", "ATTESTA_ENV": "development"}
    (tmp_path / "attesta.toml").write_text('base_url = "https://attesta.example.org"\n')
    config = load_config({"INSTANCE_PATH": str(tmp_path)}, environ=env)
    assert config["SESSION_IDLE_MINUTES"] == 15
    assert config["BASE_URL"] == "https://attesta.example.org"
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'attesta.sqlite3'}"
    assert config["SECURE_COOKIES"] is False
    secret = config["SECRET_KEY"]
    assert len(secret) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_config({"INSTANCE_PATH": str(tmp_path)}, environ=env)["SECRET_KEY"] == secret
    production = load_config({"INSTANCE_PATH": str(tmp_path)}, environ={})
    assert production["SECURE_COOKIES"] is True


def _secrets_of_a_new_instance(instance: str, start: Any) -> tuple[str, str]:
    start.wait()
    config = load_config({"INSTANCE_PATH": instance}, environ={})
    return config["SECRET_KEY"], config["KEY_PASSPHRASE"]


def test_workers_starting_together_on_a_new_instance_share_its_secrets(tmp_path: Path) -> None:
    # A parallel test run or a server's workers, on a checkout without instance/: each must
    # get the same whole secrets, none an error or a half-written (empty) file.
    workers = 8
    with multiprocessing.Manager() as manager, ProcessPoolExecutor(workers) as pool:
        start = manager.Barrier(workers)
        instances = [str(tmp_path)] * workers
        found = list(pool.map(_secrets_of_a_new_instance, instances, [start] * workers))
    assert len(set(found)) == 1
    secret_key, passphrase = found[0]
    assert len(secret_key) > 40 and len(passphrase) > 40 and secret_key != passphrase
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key_passphrase", "secret_key"]
    assert (tmp_path / "key_passphrase").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"ATTESTA_SESSION_IDLE_MINUTES": "soon"}, "ATTESTA_SESSION_IDLE_MINUTES must be a whole"),
        ({"ATTESTA_ENV": "staging"}, "ATTESTA_ENV must be one of"),
        ({"ATTESTA_SMTP_STARTTLS": "maybe"}, "true or false"),
        ({"ATTESTA_DEV_OUTBOX": "1"}, "never in production"),
    ],
)
def test_bad_configuration_names_the_variable(
    tmp_path: Path, environ: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        load_config({"INSTANCE_PATH": str(tmp_path)}, environ=environ)


def test_unknown_instance_setting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "attesta.toml").write_text("databse_url = 'x'\n")
    with pytest.raises(ConfigError, match="unknown setting 'databse_url'"):
        load_config({"INSTANCE_PATH": str(tmp_path)}, environ={})


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"]["status"] == "ok"


def test_healthz_reports_a_broken_database(
    app_factory: Callable[..., Flask], tmp_path: Path
) -> None:
    broken = app_factory(bind=False, DATABASE_URL=f"sqlite:///{tmp_path}/no/such/dir.db")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "degraded",
        "database": {"status": "unavailable", "backend": "sqlite"},
    }


def test_unknown_url_gets_a_page_in_the_users_language(client: FlaskClient) -> None:
    response = client.get("/non-esiste")
    assert response.status_code == 404
    assert "Pagina non trovata" in response.get_data(as_text=True)
    response = client.get("/non-esiste", headers={"Accept-Language": "en"})
    assert "Not found" in response.get_data(as_text=True)


def test_wrong_method(client: FlaskClient) -> None:
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_unexpected_errors_are_a_plain_500(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "secret internals" not in html
    assert "errore imprevisto" in html


def test_security_headers(client: FlaskClient, db: Session) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Cache-Control" not in response.headers
    account = make_account(db)
    db.commit()
    login(client, account.email, PASSWORD)
    assert client.get("/dashboard").headers["Cache-Control"] == "no-store"
    cookie = client.get_cookie("attesta")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


@pytest.mark.parametrize(
    ("env", "url", "warned"),
    [
        ("production", None, True),
        ("production", "https://tsa.example/", False),
        ("development", None, False),
    ],
)
def test_production_without_a_timestamping_authority_says_so(
    app_factory: Callable[..., Flask],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    env: str,
    url: str | None,
    warned: bool,
) -> None:
    roots = tmp_path / "tsa-roots.pem"
    roots.write_text("")
    app = app_factory(ENV=env, DEV_OUTBOX=False, TIMESTAMP_URL=url, TIMESTAMP_ROOTS=str(roots))
    with app.app_context(), caplog.at_level("WARNING"):
        issuer(app)
    assert ("DEMO timestamping authority" in caplog.text) is warned


def test_secure_cookies_in_production(app_factory: Callable[..., Flask]) -> None:
    production = app_factory(ENV="production", DEV_OUTBOX=False)
    assert production.config["SESSION_COOKIE_NAME"] == "__Host-attesta"
    assert production.config["SESSION_COOKIE_SECURE"] is True
    response = production.test_client().get("/", base_url="https://localhost")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    assert production.test_client().get("/outbox/").status_code == 404


def test_language_switch_is_remembered(client: FlaskClient, db: Session) -> None:
    response = post_form(client, "/language", {"locale": "en", "next": "/catalogue/?q=x"}, page="/")
    assert response.headers["Location"] == "/catalogue/?q=x"
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    account = make_account(db, locale="it")
    db.commit()
    login(client, account.email, PASSWORD)
    assert 'lang="it"' in client.get("/dashboard").get_data(as_text=True)  # the account's choice
    post_form(client, "/language", {"locale": "en"}, page="/dashboard")
    db.expire_all()
    assert account.locale == "en"
    # unknown languages and foreign redirects are ignored
    response = post_form(
        client, "/language", {"locale": "xx", "next": "https://evil.example"}, page="/"
    )
    assert response.headers["Location"] == "/"


@pytest.mark.slow
def test_cli_rubrics_and_demo(app: Flask, tmp_path: Path, db: Session) -> None:
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: attesta-rubrics/1\nframework: {code: lower}\n")
    result = runner.invoke(args=["rubrics", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: invalid rubric file" in result.output
    assert "framework.code: must be upper-case" in result.output
    result = runner.invoke(args=["rubrics", "check", "rubrics/data"])
    assert result.exit_code == 0
    assert "ok (DEMO-LOMBARDIA 1.0)" in result.output
    result = runner.invoke(args=["rubrics", "import", "rubrics/data"])
    assert result.exit_code == 0
    assert "already published, unchanged" in result.output

    first = runner.invoke(args=["demo", "load", "--json"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["demo", "load", "--json"])
    a, b = json.loads(first.output), json.loads(again.output)
    assert a == b  # idempotent: same organisations, same accounts
    roles = {r for acc in a["accounts"] for r in acc["roles"]}
    assert roles >= {
        "admin",
        "operatore_accoglienza",
        "tutor",
        "certificatore",
        "assessor",
        "signatory",
        "region_supervisor",
        "candidate",
    }
    states = {case["status"] for cases in a["cases"].values() for case in cases}
    assert {
        "validated_partial",
        "appeal_pending",
        "certified",
        "validation_issued",
        "transparency_issued",
        "suspended_inactive",
        "certificate_issued",
    } <= states

    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # Every staff account has its authenticator app, given as an otpauth:// URI; candidates
    # log in with the password alone.
    staff = [x for x in a["accounts"] if x["roles"] != ["candidate"]]
    assert len(staff) == 10
    assert all(x["totp"].startswith("otpauth://totp/Attesta:") for x in staff)
    assert all("totp" not in x for x in a["accounts"] if x["roles"] == ["candidate"])
    # the demo accounts work, with the password the README gives and the app's code
    client = app.test_client()
    admin = next(x for x in a["accounts"] if x["email"].startswith("admin@"))
    app_code = pyotp.parse_uri(admin["totp"])
    printed = runner.invoke(args=["demo", "code", admin["email"]]).output.strip()
    assert app_code.verify(printed, valid_window=1)
    assert runner.invoke(args=["demo", "code", "someone@example.org"]).exit_code == 1
    step = post_form(client, "/login", {"email": admin["email"], "password": admin["password"]})
    assert step.location == "/login/second-factor"
    assert post_form(client, step.location, {"code": app_code.now()}).status_code == 302
    consorzio = a["organisations"]["consorzio"]["id"]
    html = client.get(f"/staff/{consorzio}/").get_data(as_text=True)
    assert "Elena Ricci" in html and "Giorgio Galli" in html
    _certificate_commands(runner, a["certificates"], tmp_path)


def _certificate_commands(runner: Any, codes: dict[str, str], tmp_path: Path) -> None:
    """The demo issued a valid and a revoked certificate; the CLI exports, revokes, recovers."""
    assert set(codes) == {"valid", "revoked"}
    pdf, credential = tmp_path / "c.pdf", tmp_path / "c.json"
    assert runner.invoke(args=["certificates", "export", codes["valid"], str(pdf)]).exit_code == 0
    exported = runner.invoke(
        args=["certificates", "export", codes["valid"], str(credential), "--credential"]
    )
    assert exported.exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF") and json.loads(credential.read_text())["proof"]
    unknown = runner.invoke(args=["certificates", "export", "NOT-A-CODE", str(pdf)])
    assert unknown.exit_code == 1 and "no issued certificate" in unknown.output
    twice = runner.invoke(
        args=[
            "certificates",
            "revoke",
            codes["revoked"],
            "--reason",
            "Di nuovo.",
            "--as",
            "firmatario@demo.attesta.example",
        ]
    )
    assert twice.exit_code == 1 and "conflict" in twice.output  # already revoked
    revoked = runner.invoke(
        args=[
            "certificates",
            "revoke",
            codes["valid"],
            "--reason",
            "Prova.",
            "--ground",
            "procedural_defect",
            "--as",
            "firmatario@demo.attesta.example",
        ]
    )
    assert revoked.exit_code == 0, revoked.output
    recovered = runner.invoke(args=["certificates", "recover", "--minutes", "0"])
    assert recovered.exit_code == 0 and "0 pending issuance(s)" in recovered.output
    # The demo TSA lives for years: nothing to time-stamp again, however often it runs.
    for _ in range(2):
        stamped = runner.invoke(args=["certificates", "refresh-timestamps", "--days", "30"])
        assert stamped.exit_code == 0, stamped.output
        assert "0 certificate(s) time-stamped again." in stamped.output
    # A margin longer than the TSA itself lives: refused (renew the TSA with keys init).
    too_long = runner.invoke(args=["certificates", "refresh-timestamps", "--days", "4000"])
    assert too_long.exit_code == 1 and "timestamp_key_expiring" in too_long.output
    registered = runner.invoke(
        args=["certificates", "registered", codes["revoked"], "--ref", "RL-2026-0001"]
    )
    assert registered.exit_code == 0 and "case closed" in registered.output
    issue = [
        "certificates",
        "issue",
        "--as",
        "firmatario@demo.attesta.example",
        "--all-certified",
        "--idempotency-key",
        "cli-test-0001",
        "--workers",
        "0",
    ]
    issued = runner.invoke(args=issue)
    assert issued.exit_code == 0 and "1 issued, 0 failed" in issued.output, issued.output
    assert runner.invoke(args=issue).exit_code == 1  # nothing certified is left to issue


def test_suspend_inactive_command(app: Flask, db: Session) -> None:
    from certification.cases.states import CaseStatus
    from tests.support.factories import make_case

    case = make_case(db, status=CaseStatus.IDENTIFICATION)
    db.commit()
    result = app.test_cli_runner().invoke(args=["cases", "suspend-inactive", "--days", "1"])
    assert result.exit_code == 0 and f"suspended {case.protocol_number}" in result.output
    db.expire_all()
    assert case.status == CaseStatus.SUSPENDED_INACTIVE


def test_audit_verify_names_the_first_broken_link(app: Flask, db: Session) -> None:
    from certification.audit.chains import SIGNER, AuditSigner
    from certification.cases import workflow
    from certification.cases.states import CaseStatus
    from certification.people.roles import Role
    from tests.support.clock import NOW
    from tests.support.factories import make_case, make_organisation

    runner = app.test_cli_runner()
    assert runner.invoke(args=["keys", "init"]).exit_code == 0
    db.info[SIGNER] = AuditSigner(str(app.config["KEY_PASSPHRASE"]).encode())
    ente = make_organisation(db, code="CML")
    operator = make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente)
    case = make_case(db, ente=ente, status=CaseStatus.SUBMITTED)
    workflow.take_charge(db, operator, case, NOW)
    db.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "verifies" in result.output
    case.transitions[0].to_status = "certified"  # someone edits the history in the database
    db.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"case {case.protocol_number} at #1: content changed" in result.output


def test_a_nul_character_in_any_input_is_refused(client: FlaskClient) -> None:
    """PostgreSQL refuses NUL in text: it is turned back for every query and form, clearly."""
    api = client.get("/api/v1/profiles?q=e%00E")
    assert api.status_code == 422
    assert api.get_json()["error"]["details"] == {"input": ["invalid_characters"]}
    page = client.get("/catalogue/?q=%00", headers={"Accept-Language": "it"})
    assert page.status_code == 422
    assert "Il testo contiene caratteri non ammessi." in page.get_data(as_text=True)
    form = post_form(client, "/login", {"email": "a\x00@example.org", "password": "x"})
    assert form.status_code == 422
    key = client.get("/api/v1/profiles?q%00=x")
    assert key.status_code == 422
    multipart = post_form(
        client,
        "/login",
        {"email": "a\x00@example.org", "password": "x"},
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 422

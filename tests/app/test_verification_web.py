"""The public check on the web and over the API: by link, code, PDF and JSON; revoked shows
revoked; unknown codes all look alike; headers, rate limits, the log and the holder's choices."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.db import database
from app.services import upload_pool
from certification.certificates import lifecycle as C
from certification.keys.management import init_keys
from certification.models import Certificate, Competence, VerificationLog, VerificationResult
from certification.people.roles import Role
from certification.verification.public import (
    set_public_consents,
)
from certification.verification.results import kept_result, purge_expired
from tests.support import forgeries
from tests.support.certificates import (
    download,
    embedded_credential,
    found_again,
    issue_on_the_web,
    rows_of,
)
from tests.support.clock import NOW
from tests.support.factories import PASSWORD, make_account
from tests.support.services import require_tool
from tests.support.transactions import savepoint, session_on
from tests.support.web import app_on, app_settings, csrf_token, login, post_form
from tests.support.worlds import CaseWorld, another_case, assessment_world, certified

# --- one certificate for the module (as tests.support.certificates says) -------------------
# Issuing on the web (render, seal) was most of each test's time. The module issues one
# certificate as the signatory would, in its own transaction; every test runs in a SAVEPOINT of
# it (rolled back after the test) with an app of its own on the module's instance folder,
# where the certificate's files are. The tests that change the certificate itself (revoke it,
# rewrite its code or content) issue one of their own, for another case of the same ente.
pytestmark = pytest.mark.xdist_group("verification-web")


@pytest.fixture(scope="module")
def module_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verification-web") / "instance"


@pytest.fixture
def app_config(app_config: dict[str, Any], module_instance: Path) -> dict[str, Any]:
    """The suite's, with the module's instance folder (where the shared certificate is kept)."""
    return {**app_config, "INSTANCE_PATH": str(module_instance)}


@pytest.fixture(scope="module")
def issued_once(
    module_connection: Connection, database_url: str, module_instance: Path
) -> dict[str, Any]:
    """A certified case of an ente with the app's keys and a signatory (the suite's ``stage``),
    its certificate issued on the web and downloaded by its holder: the rows, the PDF."""
    application = app_on(module_connection, app_settings(database_url, module_instance))
    session = session_on(module_connection)
    try:
        w = assessment_world(session)
        w.ente.accreditation_number = "LOM-1234"  # frozen into the certificate, shown
        w.signatory = make_account(session, roles=(Role.SIGNATORY,), organisation=w.ente)
        stage = replace(w, case=certified(session, w))
        init_keys(session, None, application.config["KEY_PASSPHRASE"].encode(), NOW)
        session.commit()
        certificate = issue_on_the_web(application, stage, session)
        return {
            "rows": rows_of({**vars(stage), "certificate": certificate}),
            "pdf": download(application, stage, certificate),
        }
    finally:
        session.close()
        database(application).engine.dispose()


@pytest.fixture
def connection(module_connection: Connection) -> Iterator[Connection]:
    """The suite's ``connection``, here a SAVEPOINT of the module's transaction, rolled back
    after the test. A test that asks for ``issued`` has the module's certificate issued first
    (module fixtures are made before the test's); one that does not (an unknown code) does not
    wait for it."""
    yield from savepoint(module_connection)


@dataclass
class Issued:
    """The module's world and certificate as the test's session sees them, and its PDF."""

    stage: CaseWorld
    certificate: Certificate
    pdf: bytes


@pytest.fixture
def issued(db: Session, issued_once: dict[str, Any]) -> Issued:
    found = found_again(db, issued_once["rows"])
    certificate = found.pop("certificate")
    return Issued(CaseWorld(**found), certificate, issued_once["pdf"])


@pytest.fixture
def stage(db: Session, issued: Issued) -> CaseWorld:
    """Another certified case of the module's ente, for a test that issues its own
    certificate (to change it)."""
    w = another_case(db, issued.stage)
    case = certified(db, w)
    db.commit()
    return replace(w, case=case)


def _upload(client: FlaskClient, data: bytes, url: str = "/verify", name: str = "c.pdf") -> Any:
    form: dict[str, Any] = {"file": (io.BytesIO(data), name)}
    if not url.startswith("/api/"):
        form["csrf_token"] = csrf_token(client, "/verify")
    return client.post(url, data=form, content_type="multipart/form-data")


@pytest.mark.slow
def test_the_valid_certificate_verifies_by_link_code_pdf_and_json(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    stage, certificate, pdf = issued.stage, issued.certificate, issued.pdf
    _show_name(stage, certificate, db)
    anyone = app.test_client()
    code = certificate.verification_code
    typed = C.format_code(code).lower()
    pages = {
        "link": anyone.get(f"/verify/{code}"),
        "code": anyone.get(f"/verify?code={typed}"),
        "pdf": _upload(anyone, pdf),
        "json": _upload(anyone, embedded_credential(pdf), name="c.json"),
    }
    for how, page in pages.items():
        text = page.get_data(as_text=True)
        assert page.status_code == 200, how
        assert "verdict-valid" in text and "Questo certificato è autentico" in text, how
        assert certificate.number in text and stage.candidate.person.family_name in text
        # Never personal data beyond what a verifier needs.
        assert stage.candidate.email not in text
        assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "object-src 'none'" in page.headers["Content-Security-Policy"]
    english = anyone.get(f"/verify/{code}", headers={"Accept-Language": "en"})
    assert "This certificate is genuine, unchanged and valid today." in english.get_data(
        as_text=True
    )
    logged = db.scalars(select(VerificationLog).order_by(VerificationLog.at)).all()
    assert [(e.channel.value, e.method) for e in logged] == [
        ("qr", "code"),
        ("web", "code"),
        ("web", "pdf"),
        ("web", "json"),
        ("qr", "code"),
    ]


def _show_name(world: CaseWorld, certificate: Certificate, db: Session) -> None:
    set_public_consents(
        db,
        world.candidate,
        certificate,
        show_name=True,
        show_evidence=False,
        text_version="t",
        now=NOW,
    )
    db.commit()


@pytest.mark.slow
def test_revoked_shows_revoked_everywhere_and_tampered_files_fail(
    app: Flask,
    stage: CaseWorld,
    db: Session,
) -> None:
    certificate = issue_on_the_web(app, stage, db)
    pdf = download(app, stage, certificate)
    anyone = app.test_client()
    tampered = _upload(anyone, forgeries.append_garbage(pdf)).get_data(as_text=True)
    assert "verdict-not_valid" in tampered and "Al file è stato aggiunto qualcosa" in tampered
    assert certificate.number not in tampered  # a forged file never shows the register's data
    C.revoke_certificate(db, stage.signatory, certificate, "false_evidence", "Prove false", NOW)
    db.commit()
    for page in (anyone.get(f"/verify/{certificate.verification_code}"), _upload(anyone, pdf)):
        text = page.get_data(as_text=True)
        assert "verdict-not_valid" in text and "Revocato dall" in text
        assert "Prove false" not in text and "Prove" not in text
    api = anyone.get(f"/api/v1/verify/{certificate.verification_code}").get_json()
    assert api["verdict"] == "not_valid" and api["reason"] == "revoked"
    assert api["certificate"]["status"] == "revoked"


def test_the_page_opens_each_competence_to_what_was_certified(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    """Issue 19: each certified competence opens to its abilità, conoscenze, criteria and the
    level reached, from the certificate's frozen content even when the catalogue changes, with
    the standard it was assessed against; the body's regional accreditation is shown."""
    certificate = issued.certificate  # its ente has accreditation number LOM-1234
    signed = certificate.content["competences"][0]
    # Today's catalogue says something else: the page keeps what was certified.
    competence = db.scalar(select(Competence).where(Competence.code == signed["code"]))
    assert competence is not None
    competence.title_it = "Titolo cambiato dopo il rilascio"
    db.commit()
    page = app.test_client().get(f"/verify/{certificate.verification_code}")
    text = html.unescape(page.get_data(as_text=True))
    assert '<details class="competence-detail">' in text
    assert signed["title_it"] in text and "Titolo cambiato dopo il rilascio" not in text
    assert all(a["it"] in text for a in signed["abilita"] + signed["conoscenze"])
    for criterion in signed["criteria"]:
        reached = next(lvl for lvl in criterion["levels"] if lvl["code"] == criterion["level"])
        assert f"{criterion['text_it']} — <strong>{reached['label_it']}</strong>" in text
    standard = certificate.content["standard"]
    assert (
        f"/catalogue/{standard['framework_code']}/{standard['framework_version']}"
        f"/competences/{signed['code']}"
    ) in text
    assert "Accreditamento regionale n. LOM-1234" in text


@pytest.mark.slow
def test_a_checked_file_s_result_is_kept_for_30_days_with_a_report(
    app: Flask,
    issued: Issued,
    db: Session,
    tmp_path: Any,
) -> None:
    """Issue 19: an upload's verdict gets an address valid for 30 days, opened by anyone, with
    the same public data and nothing from the file, and a printable report; a forged offer, a
    bad or an expired address get the unknown-result page."""
    certificate, pdf = issued.certificate, issued.pdf
    checker = app.test_client()
    page = _upload(checker, pdf).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
    assert token is not None and "Conserva questo risultato" in page
    kept = post_form(checker, "/verify/r", {"token": token.group(1)}, page="/verify")
    assert kept.status_code == 302
    address = kept.headers["Location"]
    result_id = address.rsplit("/", 1)[1]
    stored = db.get(VerificationResult, result_id)
    assert stored is not None and stored.certificate_id == certificate.id
    assert stored.expires_at - stored.checked_at == dt.timedelta(days=30)
    assert pdf.hex()[:64] not in json.dumps(stored.dimensions)  # nothing of the file
    # Another browser opens the address: the verdict and the register.
    other = app.test_client().get(urlsplit(address).path)
    text = other.get_data(as_text=True)
    assert other.status_code == 200 and "verdict-valid" in text and certificate.number in text
    assert "Un risultato conservato" in text and "Conserva questo risultato" not in text
    report = app.test_client().get(urlsplit(address).path + "/report.pdf")
    assert report.status_code == 200 and report.mimetype == "application/pdf"
    (tmp_path / "r.pdf").write_bytes(report.data)
    printed = " ".join(
        subprocess.run(
            [require_tool("pdftotext"), str(tmp_path / "r.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )
    assert "Rapporto di verifica" in printed and "Valido" in printed
    assert certificate.number in printed and "Sigillo ed emittente" in printed
    # A forged offer, a bad address, an expired result: the unknown-result page, nothing kept.
    forged = post_form(checker, "/verify/r", {"token": token.group(1)[:-3] + "abc"}, page="/verify")
    assert forged.status_code == 404 and "Risultato di verifica sconosciuto" in forged.get_data(
        as_text=True
    )
    assert app.test_client().get("/verify/r/<script>").status_code == 404
    assert db.scalar(select(func.count()).select_from(VerificationResult)) == 1
    later = stored.expires_at + dt.timedelta(seconds=1)
    assert kept_result(db, result_id, later) is None
    assert purge_expired(db, later) == 1
    db.rollback()  # the daily command deletes it once its 30 days are over, not before
    purge = app.test_cli_runner().invoke(args=["verify", "purge-results"])
    assert purge.exit_code == 0 and "0 expired verification result(s) deleted." in purge.output


def test_unknown_codes_all_get_the_same_404(app: Flask) -> None:
    anyone = app.test_client()
    # The form's CSRF token is signed with the time: it changes from one second to the next.
    bodies = {
        re.sub(rb'name="csrf_token" value="[^"]*"', b"", anyone.get(f"/verify/{code}").get_data())
        for code in (
            "0" * 26,  # well formed, as codes were before the check character
            "0" * 27,  # well formed, its check character holds
            "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZZ",
            "nope",
            "%3Cscript%3E",
        )
    }
    assert len(bodies) == 1
    body = bodies.pop().decode()
    assert "Nessun certificato rilasciato con Attesta ha questo codice" in body
    # Headed as what it is, an unknown certificate (not a missing page), with what to do next.
    assert "<h1>Certificato sconosciuto</h1>" in body and "Pagina non trovata" not in body
    assert "Cosa puoi fare" in body
    api = {
        anyone.get(f"/api/v1/verify/{code}").get_data()
        for code in ("0" * 26, "0" * 27, "nope", "x" * 300)
    }
    assert len(api) == 1
    body = json.loads(api.pop())
    assert body["verdict"] == "not_valid" and body["reason"] == "not_found"
    assert body["certificate"] is None
    assert anyone.get("/api/v1/verify/nope").status_code == 404


def _mistype(code: str) -> str:
    """``code`` with its sixth symbol changed: the check character no longer holds."""
    return code[:5] + ("A" if code[5] != "A" else "B") + code[6:]


def test_a_mistyped_code_gets_its_own_page_and_api_answer_and_is_not_looked_up(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    stage, certificate = issued.stage, issued.certificate
    anyone = app.test_client()
    typo = C.format_code(_mistype(certificate.verification_code)).lower()
    before = db.scalar(select(func.count()).select_from(VerificationLog))
    page = anyone.get(f"/verify?code={typo}")
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "<h1>Il codice sembra scritto male</h1>" in text
    assert "Certificato sconosciuto" not in text and "verdict-valid" not in text
    assert certificate.number not in text and stage.candidate.person.family_name not in text
    assert f"<code>{typo}</code>" in text  # the code as typed
    groups = C.format_code(_mistype(certificate.verification_code)).split("-")
    assert len(groups) == 7
    for n, group in enumerate(groups, start=1):
        assert f"Gruppo {n}: <code>{group}</code>" in text
    assert f'value="{typo}"' in text  # in the form again, to be corrected
    assert page.headers["Cache-Control"] == "no-store"
    english = anyone.get(f"/verify/{typo}", headers={"Accept-Language": "en"})
    assert english.status_code == 422
    assert "<h1>The code looks mistyped</h1>" in english.get_data(as_text=True)
    assert "Group 7:" in english.get_data(as_text=True)
    # Over the API: the verification body, a reason of its own, 422.
    api = anyone.get(f"/api/v1/verify/{typo}")
    body = api.get_json()
    assert api.status_code == 422
    assert body["verdict"] == "not_valid" and body["reason"] == "mistyped"
    assert body["dimensions"][0]["state"] == "mistyped" and body["certificate"] is None
    assert "checked_at" not in body
    assert (
        body == anyone.get(f"/api/v1/verify/{_mistype(certificate.verification_code)}").get_json()
    )
    documented = anyone.get("/api/v1/openapi.json").get_json()
    assert (
        "mistyped"
        in documented["paths"]["/verify/{code}"]["get"]["responses"]["422"]["description"]
    )
    # Nothing was logged: like an unknown code, a mistyped one never reached the register.
    assert db.scalar(select(func.count()).select_from(VerificationLog)) == before
    # The right code still verifies.
    assert anyone.get(f"/verify/{certificate.verification_code}").status_code == 200


@pytest.mark.slow
def test_a_certificate_with_a_code_of_before_the_check_character_still_verifies(
    app: Flask,
    stage: CaseWorld,
    db: Session,
) -> None:
    certificate = issue_on_the_web(app, stage, db)
    legacy = "7" + certificate.verification_code[1:26]  # 26 symbols: no check character
    db.get(Certificate, certificate.id).verification_code = legacy
    db.commit()
    anyone = app.test_client()
    typed = C.format_code(legacy).lower()
    assert [len(group) for group in typed.split("-")] == [5, 5, 5, 5, 6]
    for url in (f"/verify/{legacy}", f"/verify?code={typed}"):
        page = anyone.get(url)
        assert page.status_code == 200 and "verdict-valid" in page.get_data(as_text=True), url
        assert C.format_code(legacy) in page.get_data(as_text=True)
    body = anyone.get(f"/api/v1/verify/{typed}").get_json()
    assert body["verdict"] == "valid" and body["certificate"]["verification_code"] == C.format_code(
        legacy
    )
    # One symbol wrong in an old code: nothing can tell it from an unknown one.
    assert anyone.get(f"/verify/{_mistype(legacy)}").status_code == 404


@pytest.mark.slow
def test_the_api_verifies_files_and_documents_itself(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    stage, certificate, pdf = issued.stage, issued.certificate, issued.pdf
    _show_name(stage, certificate, db)
    anyone = app.test_client()
    body = _upload(anyone, pdf, "/api/v1/verify").get_json()
    assert body["verdict"] == "valid" and body["method"] == "pdf"
    assert [d["name"] for d in body["dimensions"]] == [
        "found",
        "signature",
        "identical",
        "status",
        "validity",
    ]
    assert all(d["outcome"] == "pass" for d in body["dimensions"])
    record = body["certificate"]
    assert record["number"] == certificate.number and record["holder_full_name_shown"] is True
    assert "codice_fiscale" not in json.dumps(body) and "birth" not in json.dumps(body)
    bad = _upload(anyone, forgeries.flip_byte_in_signed_range(pdf), "/api/v1/verify").get_json()
    assert bad["verdict"] == "not_valid" and bad["reason"] == "invalid_signature"
    missing = anyone.post("/api/v1/verify", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "invalid_input"
    paths = anyone.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/verify"] and "get" in paths["/verify/{code}"]


def test_the_public_endpoints_are_rate_limited(
    app_factory: Callable[..., Flask],
) -> None:
    limited = app_factory(RATELIMIT_ENABLED=True)
    client = limited.test_client()
    statuses = [client.get(f"/verify/{'0' * 26}").status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    refused = client.get("/api/v1/verify/" + "0" * 26)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get("/verify").status_code == 200  # the form itself stays available


@pytest.mark.slow
def test_the_holder_sees_the_count_and_chooses_what_is_shown(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    stage, certificate = issued.stage, issued.certificate
    anyone = app.test_client()
    for _ in range(2):
        anyone.get(f"/verify/{certificate.verification_code}")
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    page = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert "Verificato 2 volte" in page
    url = f"/certificates/{certificate.id}/public"
    post_form(holder, url, {}, page=f"/certificates/{certificate.id}")  # nothing ticked
    text = anyone.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    person = stage.candidate.person
    assert person.family_name not in text and "solo iniziali" in text
    post_form(
        holder,
        url,
        {"public-show_name": "y", "public-show_evidence": "y"},
        page=f"/certificates/{certificate.id}",
    )
    text = anyone.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert person.family_name in text and "Contesto di apprendimento ed evidenze" in text
    signatory = app.test_client()
    login(signatory, stage.signatory.email, PASSWORD)
    refused = post_form(
        signatory, url, {"public-show_name": "y"}, page=f"/certificates/{certificate.id}"
    )
    assert refused.status_code == 403
    db.expire_all()
    assert db.get(Certificate, certificate.id) is not None


def test_the_log_is_written_in_batches_and_survives_a_busy_database(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    from app.db import database
    from app.verification_log import VerificationRecorder
    from certification.models import VerificationChannel
    from certification.verification.checks import verify_code

    certificate = issued.certificate
    result = verify_code(db, certificate.verification_code, NOW)
    failing = [True]

    def sessions() -> Session:
        session = database(app).sessionmaker()
        if failing[0]:
            session.commit = _busy  # type: ignore[method-assign]
        return session

    def _busy() -> None:
        raise RuntimeError("database is locked")

    # A long interval: the test, not the thread, decides when to write.
    recorder = VerificationRecorder(sessions, interval=3600)
    for channel in (VerificationChannel.QR, VerificationChannel.API):
        recorder.record(result, channel, NOW)
    assert recorder.flush() == 0 and recorder.pending_for(certificate.id) == 2  # kept
    failing[0] = False
    assert recorder.flush() == 2 and recorder.pending_for(certificate.id) == 0
    db.expire_all()
    logged = db.scalars(select(VerificationLog)).all()
    assert sorted(e.channel.value for e in logged) == ["api", "qr"]


@pytest.mark.slow
def test_only_what_the_holder_holds_shows_the_register(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    """An id alone, a credential whose proof fails, a PDF that is not byte for byte the one
    issued: the answer of an unknown certificate, nothing from the register."""
    stage, certificate, pdf = issued.stage, issued.certificate, issued.pdf
    _show_name(stage, certificate, db)
    credential = json.loads(embedded_credential(pdf))
    credential["name"] = "Laurea in medicina"
    unknown = "urn:uuid:00000000-0000-4000-8000-000000000000"
    anyone = app.test_client()
    family_name = stage.candidate.person.family_name
    for known, other in (
        ({"id": f"urn:uuid:{certificate.id}"}, {"id": unknown}),
        (credential, {**credential, "id": unknown}),
    ):
        answers = []
        for document in (known, other):
            data = json.dumps(document).encode()
            api = _upload(anyone, data, "/api/v1/verify", name="c.json")
            body = api.get_json()
            assert api.status_code == 200 and body["certificate"] is None, body
            del body["checked_at"]
            page = _upload(anyone, data, name="c.json").get_data(as_text=True)
            assert "verdict-not_valid" in page and "Nessun certificato rilasciato" in page
            assert certificate.number not in page and family_name not in page
            answers.append(body)
        assert answers[0] == answers[1]
    padded = forgeries.change_signature_padding(pdf)
    page = _upload(anyone, padded).get_data(as_text=True)
    assert "verdict-not_valid" in page and "Il file è diverso da quello rilasciato" in page
    assert certificate.number not in page and family_name not in page
    body = _upload(anyone, padded, "/api/v1/verify").get_json()
    assert (body["reason"], body["certificate"]) == ("modified", None)


@pytest.mark.slow
def test_an_expired_seal_is_indeterminate_on_the_page_and_in_the_api(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    from certification.demo.portfolio import simple_pdf
    from certification.keys.material import active_key
    from certification.models import KeyPurpose, SigningKey

    certificate, pdf = issued.certificate, issued.pdf
    credential = embedded_credential(pdf)
    seal = db.get(SigningKey, certificate.seal_kid)
    assert seal is not None
    pdf = forgeries.seal_with_certificate_window(
        forgeries.with_attachment(
            simple_pdf("Certificato", [certificate.number]), credential, "credential.json"
        ),
        seal,
        active_key(db, None, KeyPurpose.ROOT_CA),
        app.config["KEY_PASSPHRASE"].encode(),
        (-4 * 365, -1),
    )
    anyone = app.test_client()
    italian = _upload(anyone, pdf).get_data(as_text=True)
    assert "verdict-indeterminate" in italian
    assert "il suo certificato di sigillo è scaduto" in italian
    assert certificate.number not in italian
    english = anyone.post(
        "/verify",
        data={"file": (io.BytesIO(pdf), "c.pdf"), "csrf_token": csrf_token(anyone, "/verify")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "its seal certificate has expired and nothing proves" in english
    body = _upload(anyone, pdf, "/api/v1/verify").get_json()
    assert (body["verdict"], body["reason"], body["certificate"]) == (
        "indeterminate",
        "seal_expired",
        None,
    )
    signature = next(d for d in body["dimensions"] if d["name"] == "signature")
    assert (signature["outcome"], signature["detail"]) == ("unknown", "no_proof_of_existence")
    spec = anyone.get("/api/v1/openapi.json").get_json()
    states = spec["components"]["schemas"]["Dimension"]["properties"]["state"]["enum"]
    assert (
        "seal_expired" in states
        and "seal_expired" in spec["paths"]["/verify"]["post"]["description"]
    )


def test_with_every_upload_slot_taken_an_issued_pdf_is_still_found_by_its_hash(
    app: Flask,
    app_factory: Callable[..., Flask],
    issued: Issued,
    db: Session,
) -> None:
    """A PDF byte-identical to an issued one needs no check in the pool; a credential's proof
    and an altered PDF's seal do, and get 503 with Retry-After while every slot is taken."""
    pdf = issued.pdf
    full = app_factory(UPLOAD_SLOTS=1, UPLOAD_QUEUE=0, UPLOAD_WAIT_MS=0)  # same instance folder
    anyone = full.test_client()
    with upload_pool(full).slots.slot():
        found = _upload(anyone, pdf, url="/api/v1/verify")
        proof = _upload(anyone, embedded_credential(pdf), url="/api/v1/verify", name="c.json")
        altered = _upload(anyone, forgeries.append_garbage(pdf), url="/api/v1/verify")
    assert found.status_code == 200 and found.json["verdict"] == "valid"
    for busy in (proof, altered):
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
        assert busy.json["error"]["code"] == "busy"


def _reveal(client: FlaskClient, code: str, data: bytes, salt: str, api: bool = False) -> Any:
    form: dict[str, Any] = {"file": (io.BytesIO(data), "evidence.txt"), "salt": salt}
    if api:
        form["code"] = code
        url = "/api/v1/verify/evidence"
    else:
        # As from the certificate's public page, which has no session and so no CSRF token:
        # the reveal acts as nobody and needs none (like the API's).
        url = f"/verify/{code}/evidence"
    return client.post(url, data=form, content_type="multipart/form-data")


@pytest.mark.slow
def test_the_holder_reveals_one_evidence_file_on_the_web(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    stage, certificate = issued.stage, issued.certificate
    salt = certificate.evidence_commitments[0].salt
    url = stage.evidence.url.encode()
    code = certificate.verification_code
    anyone = app.test_client()
    page = anyone.get(f"/verify/{code}").get_data(as_text=True)
    assert "Verifica un’evidenza" in page and f"/verify/{code}/evidence" in page
    # With the holder's consent the page lists the evidence: its commitment, never its hash.
    set_public_consents(
        db,
        stage.candidate,
        certificate,
        show_name=False,
        show_evidence=True,
        text_version="t",
        now=NOW,
    )
    db.commit()
    page = anyone.get(f"/verify/{code}").get_data(as_text=True)
    commitment = certificate.evidence_commitments[0].commitment
    assert f"impegno {commitment[:16]}" in page and "per DEMO-C01" in page
    assert certificate.evidence_commitments[0].content_sha256[:16] not in page
    confirmed = _reveal(anyone, code, url, salt)
    text = confirmed.get_data(as_text=True)
    assert confirmed.status_code == 200 and "Evidenza confermata" in text
    assert "Questo file è evidenza per" in text and "DEMO-C01" in text
    assert certificate.number in text and confirmed.headers["Cache-Control"] == "no-store"
    english = anyone.post(
        f"/verify/{code}/evidence",
        data={
            "file": (io.BytesIO(url), "e.txt"),
            "salt": salt,
        },
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "Evidence confirmed" in english and "This file is evidence for" in english
    for data, guess in ((url, "0" * 64), (b"https://example.org/altro", salt)):
        refused = _reveal(anyone, code, data, guess)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 200 and "Evidenza non confermata" in text
        assert "Questo file è evidenza per" not in text
    assert _reveal(anyone, code, url, "not a salt").status_code == 422
    assert _reveal(anyone, "0" * 26, url, salt).status_code == 404
    # The holder's own page says where the salts are.
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    own = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert "commitments.json" in own and "impegni salati" in own


def test_the_api_reveals_evidence_and_documents_it(
    app: Flask,
    issued: Issued,
    db: Session,
) -> None:
    stage, certificate = issued.stage, issued.certificate
    salt = certificate.evidence_commitments[0].salt
    url = stage.evidence.url.encode()
    code = C.format_code(certificate.verification_code)
    anyone = app.test_client()
    body = _reveal(anyone, code, url, salt, api=True).get_json()
    assert (body["confirmed"], body["reason"]) == (True, "confirmed")
    assert [(i["code"], i["kind"]) for i in body["indicators"]] == [("DEMO-C01", "competence")]
    assert body["verification"]["verdict"] == "valid"
    assert body["verification"]["certificate"]["number"] == certificate.number
    wrong = _reveal(anyone, code, url, "f" * 64, api=True)
    assert wrong.status_code == 200
    assert (wrong.get_json()["confirmed"], wrong.get_json()["reason"]) == (False, "not_confirmed")
    assert wrong.get_json()["indicators"] == []
    unknown = _reveal(anyone, "0" * 26, url, salt, api=True)
    assert unknown.status_code == 404 and unknown.get_json()["verification"] is None
    malformed = _reveal(anyone, code, url, "xyz", api=True)
    assert malformed.status_code == 422
    assert malformed.get_json()["error"]["details"] == {"salt": ["salt_malformed"]}
    paths = anyone.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/verify/evidence"]


@pytest.mark.slow
def test_the_pages_show_the_certificate_in_the_reader_s_language(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    """Issue 21: whatever language the certificate was issued in, the public check and the
    holder's page show its content in the reader's; content frozen without English shows the
    Italian."""
    certificate = issue_on_the_web(app, stage, db)
    signed = certificate.content["competences"][0]
    profile_it = certificate.content["standard"]["profile_title_it"]
    profile_en = certificate.content["standard"]["profile_title_en"]
    code = certificate.verification_code
    anyone = app.test_client()
    english = html.unescape(
        anyone.get(f"/verify/{code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    )
    assert signed["title_en"] in english and signed["title_it"] not in english
    assert profile_en in english and signed["abilita"][0]["en"] in english
    italian = html.unescape(
        anyone.get(f"/verify/{code}", headers={"Accept-Language": "it"}).get_data(as_text=True)
    )
    assert signed["title_it"] in italian and signed["title_en"] not in italian
    stage.candidate.locale = "en"
    db.commit()
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    page = html.unescape(holder.get(f"/certificates/{certificate.id}").get_data(as_text=True))
    assert profile_en in page and signed["title_en"] in page
    # The badge's alternative text describes the image, drawn in the certificate's language.
    page = re.sub(r'<img class="profile-badge"[^>]*lang="it"[^>]*>', "", page)
    assert profile_it not in page and signed["title_it"] not in page
    # Frozen before the content had English: the Italian, never an empty or "None" title.
    content = json.loads(json.dumps(certificate.content))
    content["standard"].pop("profile_title_en")
    content["competences"][0].pop("title_en")
    certificate.content = content
    db.commit()
    old = html.unescape(
        anyone.get(f"/verify/{code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    )
    assert signed["title_it"] in old and profile_it in old and "None" not in old

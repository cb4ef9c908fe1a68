"""The public check on the web and over the API: by link, code, PDF and JSON; revoked shows
revoked; unknown codes all look alike; headers, rate limits, the log and the holder's choices."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import subprocess
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.services import upload_pool
from certification import certificates as C
from certification.models import Certificate, Competence, VerificationLog, VerificationResult
from certification.verification import set_public_consents
from certification.verification_results import kept_result, purge_expired
from tests import forgeries
from tests.app.test_certificates_web import _download, _issue, stage  # noqa: F401 - fixture
from tests.certification.test_assessment import w  # noqa: F401 - the `w` fixture
from tests.certification.test_certificates import embedded_credential
from tests.conftest import NOW, csrf_token, login, post_form, require_tool
from tests.factories import PASSWORD


def _upload(client: FlaskClient, data: bytes, url: str = "/verify", name: str = "c.pdf") -> Any:
    form: dict[str, Any] = {"file": (io.BytesIO(data), name)}
    if not url.startswith("/api/"):
        form["csrf_token"] = csrf_token(client, "/verify")
    return client.post(url, data=form, content_type="multipart/form-data")


def test_the_valid_certificate_verifies_by_link_code_pdf_and_json(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    certificate = _issue(app, stage, db)
    pdf = _download(app, stage, certificate)
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
        assert certificate.number in text and stage["candidate"].person.family_name in text
        # Never personal data beyond what a verifier needs.
        assert stage["candidate"].email not in text
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


def _show_name(world: dict[str, Any], certificate: Certificate, db: Session) -> None:
    set_public_consents(
        db,
        world["candidate"],
        certificate,
        show_name=True,
        show_evidence=False,
        text_version="t",
        now=NOW,
    )
    db.commit()


def test_revoked_shows_revoked_everywhere_and_tampered_files_fail(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    certificate = _issue(app, stage, db)
    pdf = _download(app, stage, certificate)
    anyone = app.test_client()
    tampered = _upload(anyone, forgeries.append_garbage(pdf)).get_data(as_text=True)
    assert "verdict-not_valid" in tampered and "Al file è stato aggiunto qualcosa" in tampered
    assert certificate.number not in tampered  # a forged file never shows the register's data
    C.revoke_certificate(db, stage["signatory"], certificate, "false_evidence", "Prove false", NOW)
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
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    """Issue 19: each certified competence opens to its abilità, conoscenze, criteria and the
    level reached, from the certificate's frozen content even when the catalogue changes, with
    the standard it was assessed against; the body's regional accreditation is shown."""
    stage["ente"].accreditation_number = "LOM-1234"
    db.commit()
    certificate = _issue(app, stage, db)
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


def test_a_checked_file_s_result_is_kept_for_30_days_with_a_report(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
    tmp_path: Any,
) -> None:
    """Issue 19: an upload's verdict gets an address valid for 30 days, opened by anyone, with
    the same public data and nothing from the file, and a printable report; a forged offer, a
    bad or an expired address get the unknown-result page."""
    certificate = _issue(app, stage, db)
    pdf = _download(app, stage, certificate)
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


def test_unknown_codes_all_get_the_same_404(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    anyone = app.test_client()
    bodies = {
        anyone.get(f"/verify/{code}").get_data()
        for code in ("0" * 26, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZZ", "nope", "%3Cscript%3E")
    }
    assert len(bodies) == 1
    body = bodies.pop().decode()
    assert "Nessun certificato rilasciato con Attesta ha questo codice" in body
    # Headed as what it is, an unknown certificate (not a missing page), with what to do next.
    assert "<h1>Certificato sconosciuto</h1>" in body and "Pagina non trovata" not in body
    assert "Cosa puoi fare" in body
    api = {
        anyone.get(f"/api/v1/verify/{code}").get_data() for code in ("0" * 26, "nope", "x" * 300)
    }
    assert len(api) == 1
    body = json.loads(api.pop())
    assert body["verdict"] == "not_valid" and body["reason"] == "not_found"
    assert body["certificate"] is None
    assert anyone.get("/api/v1/verify/nope").status_code == 404


def test_the_api_verifies_files_and_documents_itself(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    certificate = _issue(app, stage, db)
    pdf = _download(app, stage, certificate)
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
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    limited = app_factory(RATELIMIT_ENABLED=True)
    client = limited.test_client()
    statuses = [client.get(f"/verify/{'0' * 26}").status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    refused = client.get("/api/v1/verify/" + "0" * 26)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get("/verify").status_code == 200  # the form itself stays available


def test_the_holder_sees_the_count_and_chooses_what_is_shown(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    certificate = _issue(app, stage, db)
    anyone = app.test_client()
    for _ in range(2):
        anyone.get(f"/verify/{certificate.verification_code}")
    holder = app.test_client()
    login(holder, stage["candidate"].email, PASSWORD)
    page = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert "Verificato 2 volte" in page
    url = f"/certificates/{certificate.id}/public"
    post_form(holder, url, {}, page=f"/certificates/{certificate.id}")  # nothing ticked
    text = anyone.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    person = stage["candidate"].person
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
    login(signatory, stage["signatory"].email, PASSWORD)
    refused = post_form(
        signatory, url, {"public-show_name": "y"}, page=f"/certificates/{certificate.id}"
    )
    assert refused.status_code == 403
    db.expire_all()
    assert db.get(Certificate, certificate.id) is not None


def test_the_log_is_written_in_batches_and_survives_a_busy_database(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    from app.db import database
    from app.verification_log import VerificationRecorder
    from certification.models import VerificationChannel
    from certification.verification import verify_code

    certificate = _issue(app, stage, db)
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


def test_only_what_the_holder_holds_shows_the_register(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    """An id alone, a credential whose proof fails, a PDF that is not byte for byte the one
    issued: the answer of an unknown certificate, nothing from the register."""
    certificate = _issue(app, stage, db)
    pdf = _download(app, stage, certificate)
    _show_name(stage, certificate, db)
    credential = json.loads(embedded_credential(pdf))
    credential["name"] = "Laurea in medicina"
    unknown = "urn:uuid:00000000-0000-4000-8000-000000000000"
    anyone = app.test_client()
    family_name = stage["candidate"].person.family_name
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


def test_an_expired_seal_is_indeterminate_on_the_page_and_in_the_api(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    from certification.demo_portfolio import simple_pdf
    from certification.keys import active_key
    from certification.models import KeyPurpose, SigningKey

    certificate = _issue(app, stage, db)
    credential = embedded_credential(_download(app, stage, certificate))
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
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    """A PDF byte-identical to an issued one needs no check in the pool; a credential's proof
    and an altered PDF's seal do, and get 503 with Retry-After while every slot is taken."""
    certificate = _issue(app, stage, db)
    pdf = _download(app, stage, certificate)
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
        form["csrf_token"] = csrf_token(client, f"/verify/{code}")
        url = f"/verify/{code}/evidence"
    return client.post(url, data=form, content_type="multipart/form-data")


def test_the_holder_reveals_one_evidence_file_on_the_web(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    certificate = _issue(app, stage, db)
    salt = certificate.evidence_commitments[0].salt
    url = stage["evidence"].url.encode()
    code = certificate.verification_code
    anyone = app.test_client()
    page = anyone.get(f"/verify/{code}").get_data(as_text=True)
    assert "Verifica un’evidenza" in page and f"/verify/{code}/evidence" in page
    # With the holder's consent the page lists the evidence: its commitment, never its hash.
    set_public_consents(
        db,
        stage["candidate"],
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
            "csrf_token": csrf_token(anyone, f"/verify/{code}"),
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
    login(holder, stage["candidate"].email, PASSWORD)
    own = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert "commitments.json" in own and "impegni salati" in own


def test_the_api_reveals_evidence_and_documents_it(
    app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    certificate = _issue(app, stage, db)
    salt = certificate.evidence_commitments[0].salt
    url = stage["evidence"].url.encode()
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

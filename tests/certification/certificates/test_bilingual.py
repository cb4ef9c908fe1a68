"""Issue 21, item 3: a certificate reads in Italian and English in one document (the Italian
binding, said on the page, the English marked as English in the tagged PDF), its credential
carries both languages and still verifies, and content frozen without English still renders."""

from __future__ import annotations

import copy
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from sqlalchemy.orm import Session

from certification.certificates import credentials
from certification.certificates.production import TEMPLATE, build_credential, pdf_context
from certification.verification.public import (
    public_view,
)
from tests.support.certificates import CertificateWorld, issue, registry_resolver
from tests.support.credentials import (
    CREATED,
    ISSUER_ID,
    REVOCATION_LIST,
    STATUS_INDEX,
    SUSPENSION_LIST,
    issuer_key,
    method_of,
    ob_credential,
    run_verifier,
    verifier_command,
)
from tests.support.pdfs import accessibility_findings
from tests.support.services import require_tool


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [require_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return " ".join(out.split())


def _elements(node: Any) -> Iterator[Any]:
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _elements(kid)


def _without_english(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` as a certificate frozen before its texts had English would hold it."""
    old = copy.deepcopy(content)
    for key in [k for k in old["standard"] if k.endswith("_en")]:
        del old["standard"][key]
    for competence in old["competences"]:
        del competence["title_en"]
        for statement in competence["abilita"] + competence["conoscenze"]:
            del statement["en"]
        for criterion in competence["criteria"]:
            del criterion["text_en"]
            for level in criterion["levels"]:
                del level["label_en"]
    for required in old["standard"].get("profile_competences", []):
        del required["title_en"]
    return old


@pytest.mark.slow
def test_the_certificate_reads_in_italian_and_english(
    db: Session, world: CertificateWorld, storage: Any, tmp_path: Path
) -> None:
    certificate = issue(db, world)
    pdf = storage.get(certificate.pdf_sha256)
    text = _text(pdf, tmp_path)
    content = certificate.content
    competence = content["competences"][0]
    criterion = competence["criteria"][0]
    achieved = competence["achieved_level"]
    reached = next(lvl for lvl in criterion["levels"] if lvl["code"] == achieved)
    both = [
        ("Certificato di singole competenze", "Certificate of single competences"),
        (
            "Il testo in italiano è l'unico giuridicamente vincolante",
            "The Italian text is the only legally binding one",
        ),
        ("Titolare", "Holder"),
        ("Standard di riferimento", "Reference standard"),
        ("Competenze certificate", "Certified competences"),
        ("Livello raggiunto", "Level reached"),
        (reached["label_it"], reached["label_en"]),
        ("attesta 1 delle", "it attests 1 of the"),
        ("non il profilo completo", "not the whole profile"),
        ("Apprendimento informale", "Informal learning"),
        ("Colloquio tecnico", "Technical interview"),
        ("Per l'ente titolato", "For the ente titolato"),
        ("Abilità", "Skills"),
        (competence["abilita"][0]["it"], competence["abilita"][0]["en"]),
        (competence["conoscenze"][0]["it"], competence["conoscenze"][0]["en"]),
    ]
    missing = [words for pair in both for words in pair if words not in text]
    assert missing == []
    for title in (competence["title_it"], competence["title_en"]):  # may wrap in the table
        assert title.split()[0] in text and title.split()[-1] in text
    assert content["standard"]["profile_title_en"] in text
    assert content["ente"]["legal_name"] in text and certificate.number in text
    # Italian is the document's language; each English part says it is English.
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert str(document.Root.Lang) == "it"
        languages = [str(e.Lang) for e in _elements(document.Root.StructTreeRoot) if "/Lang" in e]
    assert languages and set(languages) == {"en"}
    assert accessibility_findings(pdf, tmp_path) == []


@pytest.mark.slow
def test_the_credential_carries_both_languages_and_verifies(
    db: Session, world: CertificateWorld, storage: Any, tmp_path: Path
) -> None:
    certificate = issue(db, world)
    credential = json.loads(storage.get(certificate.credential_sha256))
    content = certificate.content
    competence = content["competences"][0]
    assert credential["@context"][2] == credentials.LANGUAGE_MAPS
    achievement = credential["credentialSubject"]["achievement"]
    # OB 3.0's schema: strings, in Italian (the binding text); both languages in the maps.
    assert achievement["inLanguage"] == "it"
    for node, key in [
        (credential, "name"),
        (achievement, "name"),
        (achievement, "description"),
        (achievement["criteria"], "narrative"),
        (credential["credentialSubject"], "narrative"),
        (credential["evidence"][0], "name"),
    ]:
        assert isinstance(node[key], str) and node[key] == node[f"{key}Map"]["it"], key
        assert node[f"{key}Map"]["en"] and node[f"{key}Map"]["en"] != node[key], key
    assert achievement["nameMap"]["en"].startswith("Certificate of single competences: 1 of")
    assert content["standard"]["profile_title_en"] in achievement["nameMap"]["en"]
    result = next(
        d for d in achievement["resultDescription"] if d["id"].endswith(competence["code"])
    )
    assert result["nameMap"] == {"it": competence["title_it"], "en": competence["title_en"]}
    levels = {lvl["level"]: lvl["nameMap"] for lvl in result["rubricCriterionLevel"]}
    first = competence["criteria"][0]["levels"][0]
    assert levels[first["code"]] == {"it": first["label_it"], "en": first["label_en"]}
    aligned = next(a for a in achievement["alignment"] if a["targetCode"] == competence["code"])
    assert aligned["targetNameMap"]["en"] == competence["title_en"]
    # Attesta's verifier, then digitalbazaar's (re-signed under the test issuer it is given).
    assert credentials.verify_credential(credential, registry_resolver(db)).ok
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": ISSUER_ID}
    unsigned["credentialStatus"] = [
        credentials.status_entry(REVOCATION_LIST, "revocation", STATUS_INDEX),
        credentials.status_entry(SUSPENSION_LIST, "suspension", STATUS_INDEX),
    ]
    key = issuer_key()
    signed = credentials.sign_credential(unsigned, key, method_of(key), CREATED)
    code, output = run_verifier(verifier_command(), tmp_path, signed)
    assert (code, output["verified"], output["errors"]) == (0, True, []), output
    # The language maps are signed: changing the English breaks the proof.
    forged = copy.deepcopy(signed)
    forged["credentialSubject"]["achievement"]["nameMap"]["en"] = "Master's degree"
    assert not credentials.verify_credential(forged, lambda _m: key.public_key()).ok


def test_no_other_inline_context_is_accepted() -> None:
    """Only the language maps exactly as pinned: an inline context could redefine terms."""
    key = issuer_key()
    with_maps = ob_credential()
    with_maps["@context"] = [*with_maps["@context"], credentials.LANGUAGE_MAPS]
    with_maps["nameMap"] = {"it": with_maps["name"], "en": "Certified competence"}
    signed = credentials.sign_credential(with_maps, key, method_of(key), CREATED)
    assert credentials.verify_credential(signed, lambda _m: key.public_key()).ok
    other = {**credentials.LANGUAGE_MAPS, "nameMap": {"@id": "https://example.org/title"}}
    for contexts in ([*with_maps["@context"][:2], other], [*with_maps["@context"][:2], {}]):
        changed = {**signed, "@context": contexts}
        check = credentials.verify_credential(changed, lambda _m: key.public_key())
        assert (check.ok, check.reason) == (False, "context_not_allowed"), contexts
        with pytest.raises(credentials.CredentialError) as refused:
            credentials.sign_credential(
                {**with_maps, "@context": contexts}, key, method_of(key), CREATED
            )
        assert refused.value.reason == "context_not_allowed"


@pytest.mark.slow
def test_content_frozen_without_english_still_renders_builds_and_shows(
    db: Session, world: CertificateWorld, renderer: Any, tmp_path: Path
) -> None:
    """A certificate whose content has no English texts (frozen before they were): the PDF
    prints them once, in Italian, with the labels still in both languages; the credential's
    maps fall back to the Italian; the public record answers."""
    certificate = issue(db, world)
    old = _without_english(certificate.content)
    competence = old["competences"][0]
    html = renderer.render_html(TEMPLATE, pdf_context(old), "it")  # type: ignore[arg-type]
    assert "None" not in html and "Certified competences" in html
    assert html.count(competence["title_it"]) == 2  # table and annex, no English after either
    pdf = renderer.render_pdf(TEMPLATE, pdf_context(old), "it")  # type: ignore[arg-type]
    assert competence["abilita"][0]["it"] in _text(pdf, tmp_path)
    assert accessibility_findings(pdf, tmp_path) == []
    built = build_credential(old)  # type: ignore[arg-type]
    result = next(
        d
        for d in built["credentialSubject"]["achievement"]["resultDescription"]
        if d["id"].endswith(competence["code"])
    )
    # Never Italian labelled as English.
    assert result["nameMap"] == {"it": competence["title_it"]}
    certificate.content = old
    record = public_view(db, certificate)
    assert record["competences"][0]["title_en"] is None
    assert record["standard"]["profile_title_en"] is None


@pytest.mark.slow
def test_a_competence_title_does_not_break_after_its_first_word(
    db: Session, world: CertificateWorld, renderer: Any, tmp_path: Path
) -> None:
    """The demo's first competence, seen by eye at 80 dpi: its Italian title, inline beside the
    English block, broke after its first word ("Individuare / e valutare un'opportunità
    imprenditoriale") though the column held more."""
    content = copy.deepcopy(issue(db, world).content)
    competence = content["competences"][0]
    competence["title_it"] = "Individuare e valutare un'opportunità imprenditoriale"
    competence["title_en"] = "Identify and assess a business opportunity"
    competence["eqf_level"] = 5
    for level in competence["criteria"][0]["levels"]:  # the demo's narrower level column
        if level["code"] == competence["achieved_level"]:
            level["label_it"], level["label_en"] = "Dimostrato", "Demonstrated"
    pdf = renderer.render_pdf(TEMPLATE, pdf_context(content), "it")  # type: ignore[arg-type]
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    layout = subprocess.run(
        [require_tool("pdftotext"), "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    start, end = layout.index("Competenze certificate"), layout.index("Come sono state acquisite")
    table = layout[start:end]  # the table only: the annex repeats the title as a heading
    lines = [" ".join(line.split()) for line in table.splitlines()]
    # The column is as wide as the other columns leave it: the title may wrap, but not after
    # its first word.
    assert any("Individuare e valutare" in line for line in lines)
    assert any("Identify and assess a business" in line for line in lines)

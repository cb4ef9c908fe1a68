"""Producing a certificate from its frozen content: the Open Badges 3.0 credential (signed
``eddsa-rdfc-2022``), the PDF/A-3 with the credential attached, and the PAdES seal.

Pure work on plain data (no database session), so it runs in the web process, the CLI or a
worker process alike, and the same content always yields the same certificate text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Final

import segno
from cryptography.hazmat.primitives.asymmetric import ed25519
from markupsafe import Markup
from sqlalchemy.orm import Session
from weasyprint import Attachment

from certification import commitments, credentials
from certification.coverage import Coverage, coverage, frozen_required
from certification.documents import CONTEXTS, EVIDENCE_TYPES, EXPERIENCE_KINDS, METHODS, ROME
from certification.keys import KeyMaterial, KeyPassphraseWrong, active_key, load_private_key
from certification.models import KeyPurpose
from certification.rendering import DocumentRenderer
from certification.sealing import PdfSealer

TEMPLATE: Final = "certificato.html"
CREDENTIAL_FILE_NAME: Final = "credential.json"
OB3_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
EQF_URL: Final = "http://data.europa.eu/snb/eqf/{}"
ATLANTE_URL: Final = "https://atlantelavoro.inapp.gov.it/"
TITLES: Final = {
    "it": {
        "competenze_singole": "Certificato di singole competenze",
        "profilo_completo": "Attestato di competenza — profilo completo",
    },
    "en": {
        "competenze_singole": "Certificate of single competences",
        "profilo_completo": "Certificate of competence — full profile",
    },
}

#: How a certificate says what part of its profile it covers (certification.coverage).
SCOPE: Final = {
    "it": {
        "partial_name": "{title}: {covered} di {total} competenze del profilo «{profile}»",
        "partial": "Certificazione di singole competenze: attesta {covered} delle {total} "
        "competenze del profilo «{profile}», non il profilo completo.",
        "missing": "Competenze del profilo non comprese: {missing}.",
        "full": "Certificazione dell'intero profilo «{profile}».",
    },
    "en": {
        "partial_name": "{title}: {covered} of {total} competences of the profile “{profile}”",
        "partial": "Certification of single competences: it attests {covered} of the {total} "
        "competences of the profile “{profile}”, not the whole profile.",
        "missing": "Competences of the profile not included: {missing}.",
        "full": "Certification of the whole profile “{profile}”.",
    },
}


def scope_statement(found: Coverage, profile: str, locale: str, *, name_missing: bool) -> str:
    """The sentence saying what part of ``profile`` a certificate covers, in ``locale``; with
    ``name_missing``, the profile's competences it does not include (the credential names them;
    the PDF lists only what is certified, domain.md §7.3)."""
    words = SCOPE[locale]
    if not found.partial:
        return words["full"].format(profile=profile)
    text = words["partial"].format(covered=found.covered, total=found.total, profile=profile)
    if name_missing and found.missing:
        listed = "; ".join(f"{m['code']} {m[f'title_{locale}']}" for m in found.missing)
        text += " " + words["missing"].format(missing=listed)
    return text


# --- URLs (stable, published) ------------------------------------------------------------------


def issuer_url(base_url: str, organisation_id: str) -> str:
    return f"{base_url}/issuers/{organisation_id}.json"


def status_list_url(base_url: str, organisation_id: str, purpose: str) -> str:
    return f"{base_url}/status/{organisation_id}/{purpose}.json"


def verify_url(base_url: str, code: str) -> str:
    return f"{base_url}/verify/{code}"


def verification_method(base_url: str, organisation_id: str, kid: str) -> str:
    return f"{issuer_url(base_url, organisation_id)}#{kid}"


# --- signing material -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignerMaterial:
    """An ente's active seal and credential keys (still encrypted) and the root certificate:
    picklable, so worker processes build their own :class:`IssuerSigner` from it."""

    organisation_id: str
    seal: KeyMaterial
    root: KeyMaterial
    credential: KeyMaterial
    timestamp_url: str | None = None


def signer_material(
    session: Session, organisation_id: uuid.UUID, timestamp_url: str | None
) -> SignerMaterial:
    """The ente's active keys (:class:`NoActiveKey` without them). Building an
    :class:`IssuerSigner` from them checks the passphrase."""
    return SignerMaterial(
        organisation_id=str(organisation_id),
        seal=KeyMaterial.of(active_key(session, organisation_id, KeyPurpose.PDF_SEAL)),
        root=KeyMaterial.of(active_key(session, None, KeyPurpose.ROOT_CA)),
        credential=KeyMaterial.of(active_key(session, organisation_id, KeyPurpose.CREDENTIAL)),
        timestamp_url=timestamp_url,
    )


class IssuerSigner:
    """An ente's keys, parsed once and reused for every certificate it issues."""

    def __init__(self, material: SignerMaterial, passphrase: bytes) -> None:
        self.material = material
        self.sealer = PdfSealer(
            material.seal, material.root, passphrase, timestamp_url=material.timestamp_url
        )
        key = load_private_key(material.credential, passphrase)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyPassphraseWrong("the credential key is not Ed25519")
        self.credential_key = key

    @property
    def seal_kid(self) -> str:
        return self.material.seal.kid

    @property
    def credential_kid(self) -> str:
        return self.material.credential.kid


# --- the credential ---------------------------------------------------------------------------


def _datetime(value: str) -> str:
    """An xsd:dateTime in UTC with a Z, as VC 2.0 verifiers expect."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = dt.datetime.combine(parsed.date(), dt.time(), tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_time(value: str | None) -> str | None:
    return _datetime(value + "T00:00:00+00:00") if value else None


def _alignment(name: str, url: str, code: str, framework: str, kind: str) -> dict[str, Any]:
    return {
        "type": ["Alignment"],
        "targetName": name,
        "targetUrl": url,
        "targetCode": code,
        "targetFramework": framework,
        "targetType": kind,
    }


def _level_id(criterion_code: str, level: str) -> str:
    return f"urn:attesta:level:{criterion_code}:{level}"


def _levels(criterion: dict[str, Any], locale: str) -> list[dict[str, Any]]:
    return [
        {
            "id": _level_id(criterion["code"], level["code"]),
            "type": ["RubricCriterionLevel"],
            "name": level[f"label_{locale}"],
            "level": level["code"],
        }
        for level in criterion["levels"]
    ]


def build_credential(content: dict[str, Any], locale: str) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential of a certificate (domain.md §5.6–5.7).

    The achievement is the certificate; each certified competence is an alignment (its QRSP
    code, Atlante ADA codes, EQF level, ESCO/EntreComp links) with a result description and a
    result, and so is each criterion; evidence appears as type, date and a salted commitment
    naming the results it supports (:func:`_evidence`).
    """
    base = content["base_url"]
    ente = content["ente"]
    standard = content["standard"]
    title = TITLES[locale][content["kind"]]
    catalogue = f"{base}/catalogue/{standard['framework_code']}/{standard['framework_version']}"
    alignments: list[dict[str, Any]] = []
    descriptions: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for competence in content["competences"]:
        code = competence["code"]
        name = competence[f"title_{locale}"]
        alignments.append(
            _alignment(
                name,
                f"{catalogue}/competences/{code}",
                code,
                standard[f"framework_title_{locale}"],
                "ceasn:Competency",
            )
        )
        for ada in competence["ada_codes"]:
            alignments.append(
                _alignment(
                    ada,
                    ATLANTE_URL,
                    ada,
                    "Atlante del lavoro e delle qualificazioni (INAPP)",
                    "ext:AtlanteADA",
                )
            )
        if competence["eqf_level"]:
            level = competence["eqf_level"]
            alignments.append(
                _alignment(f"EQF {level}", EQF_URL.format(level), str(level), "EQF", "ext:EQFLevel")
            )
        for other in competence["alignments"]:
            if other.get("uri"):
                alignments.append(
                    _alignment(
                        other["label"][locale]
                        if isinstance(other.get("label"), dict)
                        else other["code"],
                        other["uri"],
                        other["code"],
                        other["framework"],
                        "ext:" + str(other["framework"]).title(),
                    )
                )
        scale = competence["criteria"][0] if competence["criteria"] else None
        description: dict[str, Any] = {
            "id": commitments.result_id(code),
            "type": ["ResultDescription"],
            "name": name,
            "resultType": "RubricCriterionLevel",
            "rubricCriterionLevel": _levels(scale, locale) if scale else [],
        }
        threshold = (
            next((lvl["code"] for lvl in scale["levels"] if lvl["passing"]), None)
            if scale
            else None
        )
        if scale and threshold:
            description["requiredLevel"] = _level_id(scale["code"], threshold)
        descriptions.append(description)
        results.append(
            {
                "type": ["Result"],
                "resultDescription": commitments.result_id(code),
                "status": "Completed",
                **(
                    {"achievedLevel": _level_id(scale["code"], competence["achieved_level"])}
                    if scale and competence["achieved_level"]
                    else {}
                ),
            }
        )
        for criterion in competence["criteria"]:
            descriptions.append(
                {
                    "id": commitments.result_id(criterion["code"]),
                    "type": ["ResultDescription"],
                    "name": criterion[f"text_{locale}"],
                    "resultType": "RubricCriterionLevel",
                    "rubricCriterionLevel": _levels(criterion, locale),
                }
            )
            if criterion["level"]:
                results.append(
                    {
                        "type": ["Result"],
                        "resultDescription": commitments.result_id(criterion["code"]),
                        "achievedLevel": _level_id(criterion["code"], criterion["level"]),
                    }
                )
    issuer: dict[str, Any] = {
        "id": issuer_url(base, ente["id"]),
        "type": ["Profile"],
        "name": ente["legal_name"],
        "url": ente["website"] or base,
    }
    identifiers = []
    if ente["tax_code"]:
        identifiers.append(
            {
                "type": ["IdentifierEntry"],
                "identifier": ente["tax_code"],
                "identifierType": "ext:CodiceFiscale",
            }
        )
    if ente["accreditation_number"]:
        identifiers.append(
            {
                "type": ["IdentifierEntry"],
                "identifier": ente["accreditation_number"],
                "identifierType": "ext:AccreditamentoRegionale",
            }
        )
    if identifiers:
        issuer["otherIdentifier"] = identifiers
    titolare = content["titolare"]
    if titolare:
        issuer["parentOrg"] = {
            "id": f"urn:uuid:{titolare['id']}",
            "type": ["Profile"],
            "name": titolare["legal_name"],
        }
    learning = content["learning"]
    narrative = "; ".join(
        [", ".join(CONTEXTS[locale][c] for c in learning["contexts"])]
        + [
            f"{EXPERIENCE_KINDS[locale][x['kind']]}" + (f" — {x['host']}" if x["host"] else "")
            for x in learning["experiences"]
        ]
    )
    profile = standard[f"profile_title_{locale}"]
    name = f"{title}: {profile}"
    summary = standard[f"legal_reference_{locale}"] or standard[f"framework_title_{locale}"]
    required = frozen_required(content)
    if required is not None:  # certificates issued since the content lists them say their scope
        found = coverage(content, required)
        if found.partial:
            name = SCOPE[locale]["partial_name"].format(
                title=title, covered=found.covered, total=found.total, profile=profile
            )
        summary = f"{scope_statement(found, profile, locale, name_missing=True)} {summary}"
    achievement: dict[str, Any] = {
        "id": "urn:uuid:"
        + str(
            uuid.uuid5(
                uuid.NAMESPACE_URL,
                f"{catalogue}/profiles/{standard['profile_code']}#"
                + ",".join(c["code"] for c in content["competences"]),
            )
        ),
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": name,
        "description": summary,
        "criteria": {
            "narrative": "\n".join(
                f"- {c['code']} {c[f'title_{locale}']}"
                + "".join(f"\n  - {s[locale]}" for s in c["abilita"] + c["conoscenze"])
                for c in content["competences"]
            )
        },
        "alignment": alignments,
        "resultDescription": descriptions,
        "humanCode": standard["profile_code"],
        "inLanguage": locale,
        "version": standard["framework_version"],
        "tag": [c["code"] for c in content["competences"]],
    }
    if titolare:
        achievement["creator"] = issuer["parentOrg"]
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [content["holder_identifier"]],
        "achievement": achievement,
        "result": results,
        "narrative": narrative,
    }
    if learning["start"]:
        subject["activityStartDate"] = _date_time(learning["start"])
    if learning["end"]:
        subject["activityEndDate"] = _date_time(learning["end"])
    organisation = ente["id"]
    index = content["status_index"]
    return {
        "@context": [VC2_CONTEXT, OB3_CONTEXT],
        "id": f"urn:uuid:{content['certificate_id']}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{title} {content['number']}",
        "issuer": issuer,
        "validFrom": _datetime(content["issued_at"]),
        "awardedDate": _date_time(content["assessment"]["decided_on"]),
        "credentialSubject": subject,
        "evidence": [_evidence(item, content, locale) for item in content["evidence"]],
        "credentialStatus": [
            credentials.status_entry(status_list_url(base, organisation, purpose), purpose, index)
            for purpose in ("revocation", "suspension")
        ],
    }


#: What a committed evidence item says of itself in the credential (before its date).
COMMITTED_EVIDENCE: Final = {
    "it": "Impegno salato sull'evidenza: il titolare può rivelare il file e il sale per "
    "dimostrare a quali indicatori si riferisce",
    "en": "Salted commitment to the evidence: the holder can reveal the file and the salt to "
    "prove which indicators it supports",
}


def _evidence(item: dict[str, Any], content: dict[str, Any], locale: str) -> dict[str, Any]:
    """An OB 3.0 ``Evidence`` entry. The content's ``evidence_format`` decides how it reads:
    1 (certificates issued before commitments, no such key) gives the plain sha256, as then
    issued; 2 gives the salted commitment as ``id`` and its indicators as ``narrative``
    (:mod:`certification.commitments`)."""
    entry: dict[str, Any] = {
        "type": ["Evidence"],
        "name": EVIDENCE_TYPES[locale].get(item["type"], item["type"]),
        "genre": item["type"],
    }
    if content.get("evidence_format", 1) < commitments.EVIDENCE_FORMAT:
        return {**entry, "description": f"sha256:{item['sha256']} ({item['date']})"}
    return {
        "id": commitments.commitment_id(item["commitment"]),
        **entry,
        "description": f"{COMMITTED_EVIDENCE[locale]} ({item['date']})",
        "narrative": commitments.indicators_narrative(item["indicators"]),
    }


def holder_identifier(identity: str, identity_type: str, salt: str) -> dict[str, Any]:
    """An OB3 IdentityObject: the salted sha256 of the holder's identifier, never the clear
    codice fiscale or e-mail (domain.md §5.6)."""
    digest = hashlib.sha256((identity + salt).encode()).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": f"sha256${digest}",
        "identityType": identity_type,
        "hashed": True,
        "salt": salt,
    }


# --- the PDF ----------------------------------------------------------------------------------


def _display_date(value: str | None) -> str:
    return dt.date.fromisoformat(value[:10]).strftime("%d/%m/%Y") if value else ""


def pdf_context(content: dict[str, Any], locale: str) -> dict[str, Any]:
    """What the template prints, from the frozen content, in the document's language."""
    base = content["base_url"]
    url = verify_url(base, content["verification_code"])
    qr = segno.make(url, error="m")
    issued_at = dt.datetime.fromisoformat(content["issued_at"]).astimezone(ROME)
    learning = content["learning"]
    required = frozen_required(content)
    return {
        **content,
        "title": TITLES[locale][content["kind"]],
        "scope": scope_statement(
            coverage(content, required),
            content["standard"][f"profile_title_{locale}"],
            locale,
            name_missing=False,
        )
        if required is not None
        else None,
        "issued_on": issued_at.strftime("%d/%m/%Y"),
        "holder_birth_date": _display_date(content["holder"]["birth_date"]),
        "verify_url": url,
        "verify_base": f"{base}/verify",
        "code_display": "-".join(content["verification_code"][i : i + 5] for i in range(0, 25, 5))
        + content["verification_code"][25:],
        # Our own SVG from our own URL: no candidate text in it, nothing to fetch.
        "qr_svg": Markup(qr.svg_inline(scale=2.4, dark="#000", border=2)),  # noqa: S704
        "contexts": [CONTEXTS[locale][c] for c in learning["contexts"]],
        "experiences": [
            {
                "kind": EXPERIENCE_KINDS[locale][x["kind"]],
                "host": x["host"],
                "period": _display_date(x["start"])
                + (" – " + _display_date(x["end"]) if x["end"] else ""),
            }
            for x in learning["experiences"]
        ],
        "methods": [METHODS[locale][m] for m in content["assessment"]["methods"]],
        "assessed_on": ", ".join(_display_date(d) for d in content["assessment"]["dates"]),
        "supersedes": content.get("supersedes"),
    }


#: Certificates are PDF/A-3b: archival, with the credential as an associated file.
PDF_VARIANT: Final = "pdf/a-3b"


@dataclass(frozen=True)
class ProducedCertificate:
    pdf: bytes
    credential_json: bytes


def produce_certificate(
    content: dict[str, Any],
    locale: str,
    signer: IssuerSigner,
    renderer: DocumentRenderer,
    *,
    hasher: Executor | None = None,
) -> ProducedCertificate:
    """Sign the credential, render the PDF/A-3 with it attached, and seal the PDF.

    With a ``hasher`` (an executor of other processes), the credential's canonical hash, a
    tenth of the work, is computed there while this process lays out the pages; the key
    never leaves this process, only the (public) credential does."""
    base = content["base_url"]
    signing = credentials.prepare_signing(
        build_credential(content, locale),
        verification_method(base, content["ente"]["id"], signer.credential_kid),
        dt.datetime.fromisoformat(content["issued_at"]),
    )
    hashed = hasher.submit(credentials.signing_hash, signing) if hasher is not None else None
    laid_out = renderer.layout(
        TEMPLATE, pdf_context(content, locale), locale, pdf_variant=PDF_VARIANT
    )
    hash_data = hashed.result() if hashed is not None else credentials.signing_hash(signing)
    credential = signing.finish(signer.credential_key, hash_data)
    credential_json = json.dumps(credential, ensure_ascii=False, indent=2).encode()
    attachment = Attachment(
        file_obj=io.BytesIO(credential_json),
        name=CREDENTIAL_FILE_NAME,
        description="Open Badges 3.0 credential (W3C Verifiable Credential 2.0)",
        relationship="Alternative",
    )
    pdf = renderer.write_pdf(laid_out, pdf_variant=PDF_VARIANT, attachments=[attachment])
    sealed = signer.sealer.seal(
        pdf,
        reason=f"{TITLES['it'][content['kind']]} {content['number']}",
        location=content["place"] or "Italia",
    )
    return ProducedCertificate(pdf=sealed, credential_json=credential_json)


def render_preview(content: dict[str, Any], locale: str, renderer: DocumentRenderer) -> bytes:
    """The certificate as it would be sealed, from :func:`certificates.preview_content`, marked
    on every page as a preview that is not valid: not signed, not sealed, no credential."""
    return renderer.render_pdf(TEMPLATE, {**pdf_context(content, locale), "preview": True}, locale)

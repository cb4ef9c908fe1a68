"""Producing a certificate from its frozen content: the Open Badges 3.0 credential (signed
``eddsa-rdfc-2022``), the PDF/A-3 with the credential attached, and the PAdES seal.

Pure work on plain data (no database session), so it runs in the web process, the CLI or a
worker process alike, and the same content always yields the same certificate text.

One module over 600 lines because the credential and the PDF are two views of the same frozen
content, built in one call (:func:`produce_certificate`) with the same signer, in the web
process or a rendering worker; the credential's Open Badges mapping (:func:`build_credential`)
is the part that would leave first if it grew.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ed25519
from markupsafe import Markup
from sqlalchemy.orm import Session

from certification.certificates import badges, commitments, credentials
from certification.certificates.content import (
    CertificateContent,
    Competence,
    Criterion,
    EvidenceItem,
    HolderIdentifier,
    PrintedContent,
)
from certification.certificates.coverage import Coverage, coverage, frozen_required
from certification.certificates.sealing import PdfSealer
from certification.certificates.tsa import (
    DemoTimestampAuthority,
    HttpTimestamps,
    TimestampSource,
)
from certification.clock import local_text
from certification.keys.material import (
    KeyMaterial,
    KeyPassphraseWrong,
    NoActiveKey,
    active_key,
    load_private_key,
)
from certification.keys.revocation import Revoked, crl_der, revoked_certificates
from certification.models import KeyPurpose
from certification.numbering.codes import format_code
from certification.rendering import DocumentRenderer
from certification.vocabulary import (
    ASSESSMENT_METHODS,
    EVIDENCE_TYPES,
    EXPERIENCE_KINDS,
    LANGUAGES,
    LEARNING_CONTEXTS,
    text,
)

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

#: How a certificate says what part of its profile it covers (certification.certificates.coverage).
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
        listed = "; ".join(
            f"{m['code']} {m.get('title_' + locale) or m['title_it']}" for m in found.missing
        )
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
    """An ente's active seal and credential keys (still encrypted), the root CA, Attesta's
    time-stamping key and the root's revocations (for its CRL): picklable, so worker processes
    build their own :class:`IssuerSigner` from it. Seals are PAdES B-LTA when there is a
    time-stamping authority: ``timestamp_url`` (production's), else Attesta's own key."""

    organisation_id: str
    seal: KeyMaterial
    root: KeyMaterial
    credential: KeyMaterial
    timestamp_url: str | None = None
    #: The roots (PEM) the TSA at ``timestamp_url`` chains to.
    timestamp_roots: tuple[str, ...] = ()
    timestamping: KeyMaterial | None = None
    revoked: tuple[Revoked, ...] = ()


def signer_material(
    session: Session,
    organisation_id: uuid.UUID,
    timestamp_url: str | None,
    timestamp_roots: tuple[str, ...] = (),
) -> SignerMaterial:
    """The ente's active keys (:class:`NoActiveKey` without them). Building an
    :class:`IssuerSigner` from them checks the passphrase."""
    root = KeyMaterial.of(active_key(session, None, KeyPurpose.ROOT_CA))
    try:
        timestamping: KeyMaterial | None = KeyMaterial.of(
            active_key(session, None, KeyPurpose.TIMESTAMP)
        )
    except NoActiveKey:  # keys made before Attesta had its own TSA: `keys init` adds it
        timestamping = None
    return SignerMaterial(
        organisation_id=str(organisation_id),
        seal=KeyMaterial.of(active_key(session, organisation_id, KeyPurpose.PDF_SEAL)),
        root=root,
        credential=KeyMaterial.of(active_key(session, organisation_id, KeyPurpose.CREDENTIAL)),
        timestamp_url=timestamp_url,
        timestamp_roots=timestamp_roots,
        timestamping=timestamping,
        revoked=revoked_certificates(session, root),
    )


def timestamp_source(material: SignerMaterial, passphrase: bytes) -> TimestampSource | None:
    """Where seals get their time-stamps: the configured TSA's URL, else Attesta's own."""
    if material.timestamp_url:
        return HttpTimestamps(material.timestamp_url, material.timestamp_roots)
    if material.timestamping is not None:
        return DemoTimestampAuthority(
            material.timestamping, material.root.certificate_pem or "", passphrase
        )
    return None


class IssuerSigner:
    """An ente's keys, parsed once and reused for every certificate it issues."""

    def __init__(self, material: SignerMaterial, passphrase: bytes) -> None:
        self.material = material
        self._passphrase = passphrase
        self.sealer = PdfSealer(
            material.seal,
            material.root,
            passphrase,
            timestamps=timestamp_source(material, passphrase),
        )
        key = load_private_key(material.credential, passphrase)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyPassphraseWrong("the credential key is not Ed25519")
        self.credential_key = key

    def crl(self, now: dt.datetime) -> bytes | None:
        """The root CA's CRL for the seal's DSS (made once a day per process), when seals
        are time-stamped."""
        if self.sealer.timestamps is None:
            return None
        return crl_der(self.material.root, self.material.revoked, self._passphrase, now)

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


def _alignment(
    name: str | None, url: str, code: str | None, framework: str, kind: str
) -> dict[str, Any]:
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


def _in(record: Any, base: str, locale: str) -> str:
    """``record[base_<locale>]``, the Italian when the frozen content has no English."""
    return str(record.get(f"{base}_{locale}") or record[f"{base}_it"])


def _own(record: Any, base: str, locale: str) -> str | None:
    """``record[base_<locale>]``, None when the frozen content has none."""
    found = record.get(f"{base}_{locale}")
    return str(found) if found else None


def _bilingual(node: dict[str, Any], key: str, words: dict[str, str | None]) -> dict[str, Any]:
    """``node[key]`` in Italian, the binding language (OB 3.0's schema wants a string), and
    ``node[key + "Map"]`` with both languages (:data:`credentials.LANGUAGE_MAPS`); a text the
    frozen content has no English for is in the map in Italian only, never mislabelled."""
    node[key] = words["it"]
    node[f"{key}Map"] = {locale: text for locale, text in words.items() if text}
    return node


def _levels(criterion: Criterion) -> list[dict[str, Any]]:
    return [
        _bilingual(
            {
                "id": _level_id(criterion["code"], level["code"]),
                "type": ["RubricCriterionLevel"],
                "level": level["code"],
            },
            "name",
            {locale: _own(level, "label", locale) for locale in LANGUAGES},
        )
        for level in criterion["levels"]
    ]


def _achievement_words(content: CertificateContent, locale: str) -> dict[str, str]:
    """The achievement's name, description and criteria, and the learning narrative, in
    ``locale``."""
    standard = content["standard"]
    title = TITLES[locale][content["kind"]]
    framework_title = _in(standard, "framework_title", locale)
    profile = _in(standard, "profile_title", locale)
    name = f"{title}: {profile}"
    summary = _in(standard, "legal_reference", locale) or framework_title
    required = frozen_required(content)
    if required is not None:  # certificates issued since the content lists them say their scope
        found = coverage(content, required)
        if found.partial:
            name = SCOPE[locale]["partial_name"].format(
                title=title, covered=found.covered, total=found.total, profile=profile
            )
        summary = f"{scope_statement(found, profile, locale, name_missing=True)} {summary}"
    learning = content["learning"]
    return {
        "title": title,
        "framework_title": framework_title,
        "name": name,
        "description": summary,
        "criteria": "\n".join(
            f"- {c['code']} {_in(c, 'title', locale)}"
            + "".join(f"\n  - {s.get(locale) or s['it']}" for s in c["abilita"] + c["conoscenze"])
            for c in content["competences"]
        ),
        "narrative": "; ".join(
            [", ".join(text(LEARNING_CONTEXTS, c, locale, c) for c in learning["contexts"])]
            + [
                text(EXPERIENCE_KINDS, x["kind"], locale, x["kind"])
                + (f" — {x['host']}" if x["host"] else "")
                for x in learning["experiences"]
            ]
        ),
    }


def build_credential(content: CertificateContent) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential of a certificate (domain.md §5.6–5.7), in Italian and
    English: each text is a string in Italian, the binding language, with a language map of
    both beside it (:func:`_bilingual`, :data:`credentials.LANGUAGE_MAPS`).

    The achievement is the certificate; each certified competence is an alignment (its QRSP
    code, Atlante ADA codes, EQF level, ESCO/EntreComp links) with a result description and a
    result, and so is each criterion; evidence appears as type, date and a salted commitment
    naming the results it supports (:func:`_evidence`).
    """
    base = content["base_url"]
    ente = content["ente"]
    standard = content["standard"]
    words = {locale: _achievement_words(content, locale) for locale in LANGUAGES}

    def both(key: str) -> dict[str, str | None]:
        return {locale: words[locale][key] for locale in LANGUAGES}

    catalogue = f"{base}/catalogue/{standard['framework_code']}/{standard['framework_version']}"
    alignments: list[dict[str, Any]] = []
    descriptions: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for competence in content["competences"]:
        code = competence["code"]
        names = {locale: _own(competence, "title", locale) for locale in LANGUAGES}
        alignments.append(
            _bilingual(
                _alignment(
                    None,
                    f"{catalogue}/competences/{code}",
                    code,
                    words["it"]["framework_title"],
                    "ceasn:Competency",
                ),
                "targetName",
                names,
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
            uri = other.get("uri")
            if uri:
                label = other.get("label")
                entry = _alignment(
                    other["code"],
                    uri,
                    other["code"],
                    other["framework"],
                    "ext:" + str(other["framework"]).title(),
                )
                if isinstance(label, dict) and label.get("it"):
                    _bilingual(
                        entry,
                        "targetName",
                        {locale: label.get(locale) for locale in LANGUAGES},
                    )
                alignments.append(entry)
        scale = competence["criteria"][0] if competence["criteria"] else None
        description: dict[str, Any] = _bilingual(
            {
                "id": commitments.result_id(code),
                "type": ["ResultDescription"],
                "resultType": "RubricCriterionLevel",
                "rubricCriterionLevel": _levels(scale) if scale else [],
            },
            "name",
            names,
        )
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
                _bilingual(
                    {
                        "id": commitments.result_id(criterion["code"]),
                        "type": ["ResultDescription"],
                        "resultType": "RubricCriterionLevel",
                        "rubricCriterionLevel": _levels(criterion),
                    },
                    "name",
                    {locale: _own(criterion, "text", locale) for locale in LANGUAGES},
                )
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
    }
    _bilingual(achievement, "name", both("name"))
    _bilingual(achievement, "description", both("description"))
    achievement.update(
        {
            "criteria": _bilingual({}, "narrative", both("criteria")),
            "alignment": alignments,
            "resultDescription": descriptions,
            "humanCode": standard["profile_code"],
            # The language of the strings; their English is in the language maps.
            "inLanguage": "it",
            "version": standard["framework_version"],
            "tag": [c["code"] for c in content["competences"]],
        }
    )
    image = badges.achievement_image(content)
    if image is not None:  # certificates issued since badges were frozen in their content
        achievement["image"] = image
    if titolare:
        achievement["creator"] = issuer["parentOrg"]
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [content["holder_identifier"]],
        "achievement": achievement,
        "result": results,
    }
    _bilingual(subject, "narrative", both("narrative"))
    if learning["start"]:
        subject["activityStartDate"] = _date_time(learning["start"])
    if learning["end"]:
        subject["activityEndDate"] = _date_time(learning["end"])
    organisation = ente["id"]
    index = content["status_index"]
    credential: dict[str, Any] = {
        "@context": [VC2_CONTEXT, OB3_CONTEXT, credentials.LANGUAGE_MAPS],
        "id": f"urn:uuid:{content['certificate_id']}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
    }
    _bilingual(
        credential,
        "name",
        {locale: f"{words[locale]['title']} {content['number']}" for locale in LANGUAGES},
    )
    credential.update(
        {
            "issuer": issuer,
            "validFrom": _datetime(content["issued_at"]),
            "awardedDate": _date_time(content["assessment"]["decided_on"]),
            "credentialSubject": subject,
            "evidence": [_evidence(item, content) for item in content["evidence"]],
            "credentialStatus": [
                credentials.status_entry(
                    status_list_url(base, organisation, purpose), purpose, index
                )
                for purpose in ("revocation", "suspension")
            ],
        }
    )
    return credential


#: What a committed evidence item says of itself in the credential (before its date).
COMMITTED_EVIDENCE: Final = {
    "it": "Impegno salato sull'evidenza: il titolare può rivelare il file e il sale per "
    "dimostrare a quali indicatori si riferisce",
    "en": "Salted commitment to the evidence: the holder can reveal the file and the salt to "
    "prove which indicators it supports",
}


def _evidence(item: EvidenceItem, content: CertificateContent) -> dict[str, Any]:
    """An OB 3.0 ``Evidence`` entry, in both languages. The content's ``evidence_format``
    decides how it reads: 1 (certificates issued before commitments, no such key) gives the
    plain sha256, as then issued; 2 gives the salted commitment as ``id`` and its indicators as
    ``narrative`` (:mod:`certification.certificates.commitments`)."""
    entry: dict[str, Any] = {"type": ["Evidence"]}
    _bilingual(
        entry,
        "name",
        {
            locale: text(EVIDENCE_TYPES, item["type"], locale, default=item["type"])
            for locale in LANGUAGES
        },
    )
    entry["genre"] = item["type"]
    if content.get("evidence_format", 1) < commitments.EVIDENCE_FORMAT:
        return {**entry, "description": f"sha256:{item['sha256']} ({item['date']})"}
    entry = {"id": commitments.commitment_id(item["commitment"]), **entry}
    _bilingual(
        entry,
        "description",
        {locale: f"{COMMITTED_EVIDENCE[locale]} ({item['date']})" for locale in LANGUAGES},
    )
    return {**entry, "narrative": commitments.indicators_narrative(item["indicators"])}


def holder_identifier(identity: str, identity_type: str, salt: str) -> HolderIdentifier:
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


#: The QR code's alternative text, for screen readers.
QR_TITLE: Final = {
    "it": "Codice QR per verificare il certificato all'indirizzo {url}",
    "en": "QR code to verify the certificate at {url}",
}


def _display_date(value: str | None) -> str:
    return local_text(dt.date.fromisoformat(value[:10]), style="numeric") if value else ""


def _both(it: str, en: str | None) -> dict[str, str | None]:
    """A text in Italian and English, for the bilingual certificate. The English is None when
    the frozen content has none (a certificate reserved before its English was frozen) or it
    reads the same: the certificate then prints the Italian once."""
    return {"it": it, "en": en if en and en != it else None}


def _achieved_level(competence: Competence) -> dict[str, str | None] | None:
    """The level reached on a competence (its lowest on the criteria), in both languages."""
    code = competence.get("achieved_level")
    criteria = competence["criteria"]
    if not code or not criteria:
        return None
    level = next((lvl for lvl in criteria[0]["levels"] if lvl["code"] == code), None)
    if level is None:
        return {"it": code, "en": None}
    return _both(level["label_it"], level.get("label_en"))


def _certificate_competence(competence: Competence) -> dict[str, Any]:
    return {
        "code": competence["code"],
        "title": _both(competence["title_it"], competence.get("title_en")),
        "eqf_level": competence["eqf_level"],
        "ada_codes": competence["ada_codes"],
        "achieved": _achieved_level(competence),
        "abilita": [_both(s["it"], s.get("en")) for s in competence["abilita"]],
        "conoscenze": [_both(s["it"], s.get("en")) for s in competence["conoscenze"]],
    }


def pdf_context(content: PrintedContent) -> dict[str, Any]:
    """What the template prints, from the frozen content: every text in Italian, the
    certificate's legally binding language, and in English (issue 21). Content frozen before
    a text had its English prints that text in Italian only (:func:`_both`)."""
    base = content["base_url"]
    url = verify_url(base, content["verification_code"])
    import segno  # noqa: PLC0415 - heavy: the QR library only where a document is drawn

    qr = segno.make_qr(url, error="m")  # never a Micro QR: a URL does not fit one anyway
    issued_at = dt.datetime.fromisoformat(content["issued_at"])
    learning = content["learning"]
    standard = content["standard"]
    required = frozen_required(content)
    found = coverage(content, required) if required is not None else None
    profile = _both(standard["profile_title_it"], standard.get("profile_title_en"))
    scope = (
        {
            locale: scope_statement(
                found, profile[locale] or profile["it"] or "", locale, name_missing=False
            )
            for locale in LANGUAGES
        }
        if found is not None
        else None
    )
    return {
        **content,
        "title": {locale: TITLES[locale][content["kind"]] for locale in LANGUAGES},
        "scope": scope,
        "framework_title": _both(
            standard["framework_title_it"], standard.get("framework_title_en")
        ),
        "legal_reference": _both(
            standard["legal_reference_it"], standard.get("legal_reference_en")
        ),
        "profile": profile,
        "certified": [_certificate_competence(c) for c in content["competences"]],
        "issued_on": local_text(issued_at, style="numeric", with_time=False),
        "holder_birth_date": _display_date(content["holder"]["birth_date"]),
        "verify_url": url,
        "verify_base": f"{base}/verify",
        "code_display": format_code(content["verification_code"]),
        # Our own SVG from our own URL: no candidate text in it, nothing to fetch.
        # The title is the QR code's alternative text in the tagged PDF.
        "qr_svg": Markup(  # noqa: S704
            qr.svg_inline(scale=2.4, dark="#000", border=2, title=QR_TITLE["it"].format(url=url))
        ),
        "contexts": {
            locale: [text(LEARNING_CONTEXTS, c, locale, default=c) for c in learning["contexts"]]
            for locale in LANGUAGES
        },
        "experiences": [
            {
                "kind": {
                    locale: text(EXPERIENCE_KINDS, x["kind"], locale, default=x["kind"])
                    for locale in LANGUAGES
                },
                "host": x["host"],
                "period": _display_date(x["start"])
                + (" – " + _display_date(x["end"]) if x["end"] else ""),
            }
            for x in learning["experiences"]
        ],
        "methods": {
            locale: [
                text(ASSESSMENT_METHODS, m, locale, default=m)
                for m in content["assessment"]["methods"]
            ]
            for locale in LANGUAGES
        },
        "assessed_on": ", ".join(_display_date(d) for d in content["assessment"]["dates"]),
        "supersedes": content.get("supersedes"),
    }


#: Certificates are PDF/A-3a: archival and tagged (readable by assistive technology), with the
#: credential as an associated file.
PDF_VARIANT: Final = "pdf/a-3a"


@dataclass(frozen=True)
class ProducedCertificate:
    pdf: bytes
    credential_json: bytes


def produce_certificate(
    content: CertificateContent,
    locale: str,
    signer: IssuerSigner,
    renderer: DocumentRenderer,
    *,
    hasher: Executor | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> ProducedCertificate:
    """Sign the credential, render the PDF/A-3 with it attached, and seal the PDF (time-stamped
    by Attesta's own TSA as of ``clock()`` once the pages are laid out, default the real time;
    :class:`TimestampUnavailable` when the TSA fails).

    Both are in Italian and English whatever ``locale`` (the holder's language, which the
    issuance pipeline carries along with the content) says: the Italian is the binding text.

    With a ``hasher`` (an executor of other processes), the credential's canonical hash, a
    tenth of the work, is computed there while this process lays out the pages; the key
    never leaves this process, only the (public) credential does."""
    base = content["base_url"]
    signing = credentials.prepare_signing(
        build_credential(content),
        verification_method(base, content["ente"]["id"], signer.credential_kid),
        dt.datetime.fromisoformat(content["issued_at"]),
    )
    hashed = hasher.submit(credentials.signing_hash, signing) if hasher is not None else None
    # The document's language is Italian, the binding one; its English parts say they are.
    laid_out = renderer.layout(TEMPLATE, pdf_context(content), "it", pdf_variant=PDF_VARIANT)
    hash_data = hashed.result() if hashed is not None else credentials.signing_hash(signing)
    credential = signing.finish(signer.credential_key, hash_data)
    credential_json = json.dumps(credential, ensure_ascii=False, indent=2).encode()
    from weasyprint import Attachment  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    attachment = Attachment(
        file_obj=io.BytesIO(credential_json),
        name=CREDENTIAL_FILE_NAME,
        description="Open Badges 3.0 credential (W3C Verifiable Credential 2.0)",
        relationship="Alternative",
    )
    pdf = renderer.write_pdf(laid_out, pdf_variant=PDF_VARIANT, attachments=[attachment])
    moment = clock() if clock is not None else dt.datetime.now(dt.UTC)
    sealed = signer.sealer.seal(
        pdf,
        reason=f"{TITLES['it'][content['kind']]} {content['number']}",
        location=content["place"] or "Italia",
        now=moment,
        crl=signer.crl(moment),
    )
    return ProducedCertificate(pdf=sealed, credential_json=credential_json)


def render_preview(content: PrintedContent, renderer: DocumentRenderer) -> bytes:
    """The certificate as it would be sealed, from :func:`certificates.preview_content`, marked
    on every page as a preview that is not valid: not signed, not sealed, no credential."""
    return renderer.render_pdf(TEMPLATE, {**pdf_context(content), "preview": True}, "it")

"""The OpenAPI 3.1 document of ``/api/v1``, built from the marshmallow schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.api import schemas as s

_ERRORS = {
    "404": {"description": "Not found", "content": {"application/json": {"schema": "Error"}}},
    "429": {"description": "Rate limited", "content": {"application/json": {"schema": "Error"}}},
}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


@cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="Attesta API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Competence standards, accounts, bulk issuance of certificates and "
            "their public verification. Errors have a stable `code`. To check a certificate "
            "without Attesta, a verifier needs the published root CA (`/keys/root-ca.pem`) "
            "and its revocation list (`/pki/root.crl`), "
            "keys (`/keys/`), issuer profiles (`/issuers/<id>.json`) and status lists "
            "(`/status/<id>/revocation.json`, `/status/<id>/suspension.json`).",
        },
        servers=[{"url": "/api/v1"}],
    )
    spec.components.security_scheme(
        "token", {"type": "http", "scheme": "bearer", "description": "Personal access token"}
    )
    for name, schema in (
        ("Error", s.ErrorSchema),
        ("Framework", s.FrameworkSchema),
        ("FrameworkList", s.FrameworkListSchema),
        ("ProfileList", s.ProfileListSchema),
        ("Profile", s.ProfileSchema),
        ("Competence", s.CompetenceSchema),
        ("Me", s.MeSchema),
        ("BulkRequest", s.BulkRequestSchema),
        ("Bulk", s.BulkSchema),
        ("Verification", s.VerificationSchema),
        ("EvidenceReveal", s.EvidenceRevealSchema),
    ):
        spec.components.schema(name, schema=schema)

    spec.path(
        path="/frameworks",
        operations={
            "get": {
                "operationId": "listFrameworks",
                "summary": "Published framework versions",
                "tags": ["catalogue"],
                "responses": {"200": _ok("FrameworkList", "Frameworks")},
            }
        },
    )
    spec.path(
        path="/profiles",
        operations={
            "get": {
                "operationId": "searchProfiles",
                "summary": "Search profiles by words and EQF level",
                "tags": ["catalogue"],
                "parameters": [{"in": "query", "schema": s.ProfileQuerySchema}],
                "responses": {
                    "200": _ok("ProfileList", "Matching profiles"),
                    "422": {
                        "description": "Invalid parameters",
                        "content": {"application/json": {"schema": "Error"}},
                    },
                },
            }
        },
    )
    spec.path(
        path="/frameworks/{code}/{version}/profiles/{profile_code}",
        operations={
            "get": {
                "operationId": "getProfile",
                "summary": "A profile with its competences",
                "tags": ["catalogue"],
                "parameters": _path_params("code", "version", "profile_code"),
                "responses": {"200": _ok("Profile", "The profile"), **_ERRORS},
            }
        },
    )
    spec.path(
        path="/frameworks/{code}/{version}/competences/{competence_code}",
        operations={
            "get": {
                "operationId": "getCompetence",
                "summary": "A competence with abilità, conoscenze, criteria and levels",
                "tags": ["catalogue"],
                "parameters": _path_params("code", "version", "competence_code"),
                "responses": {"200": _ok("Competence", "The competence"), **_ERRORS},
            }
        },
    )
    spec.path(
        path="/me",
        operations={
            "get": {
                "operationId": "getMe",
                "summary": "The account the token belongs to",
                "tags": ["accounts"],
                "security": [{"token": []}],
                "responses": {
                    "200": _ok("Me", "The account"),
                    "401": {
                        "description": "Missing or invalid token",
                        "content": {"application/json": {"schema": "Error"}},
                    },
                },
            }
        },
    )
    spec.path(
        path="/certificates/bulk",
        operations={
            "post": {
                "operationId": "issueCertificatesInBulk",
                "summary": "Issue the certificates of many certified cases (signatories)",
                "description": "Runs in the background on a worker pool; poll the Location. "
                "The same Idempotency-Key with the same cases returns the same request "
                "(nothing is issued twice); with other cases it is refused (409).",
                "tags": ["certificates"],
                "security": [{"token": []}],
                "parameters": [
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": True,
                        # Printable ASCII, no space at either end (what the server accepts).
                        "schema": {
                            "type": "string",
                            "minLength": 8,
                            "maxLength": 100,
                            "pattern": "^[!-~][ -~]{6,98}[!-~]$",
                        },
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "BulkRequest"}},
                },
                "responses": {
                    "202": _ok("Bulk", "Accepted: the request is running"),
                    "200": _ok("Bulk", "The earlier request with this Idempotency-Key"),
                    "401": _error("Missing or invalid token"),
                    "403": _error("The token's user is not a signatory"),
                    "409": _error("The Idempotency-Key was used for other cases"),
                    "422": _error("Invalid body or Idempotency-Key"),
                },
            }
        },
    )
    spec.path(
        path="/certificates/bulk/{bulk_id}",
        operations={
            "get": {
                "operationId": "getBulkIssuance",
                "summary": "Progress and per-item results of a bulk issuance",
                "tags": ["certificates"],
                "security": [{"token": []}],
                "parameters": _path_params("bulk_id"),
                "responses": {
                    "200": _ok("Bulk", "The request"),
                    "401": _error("Missing or invalid token"),
                    **_ERRORS,
                },
            }
        },
    )
    verdict_note = (
        "One overall `verdict` (`valid`, `not_valid`, `indeterminate`) and five `dimensions` "
        "(found, signature, identical, status, validity), each with a stable `state`. The "
        "`certificate` is read from the register, never from the submitted file. Public, "
        "rate-limited per client (429 with Retry-After)."
    )
    spec.path(
        path="/verify/{code}",
        operations={
            "get": {
                "operationId": "verifyByCode",
                "summary": "Verify a certificate by its verification code",
                "description": verdict_note + " The code is case- and separator-insensitive "
                "(O is read as 0, I and L as 1, U as V). Codes are 27 characters, the last a "
                "check character (Luhn mod 32 over the Crockford base32 alphabet); certificates "
                "issued before it have 26 characters and no check character, and are looked up "
                "as they are. A 27-character code whose check character does not match is a "
                "typing mistake: it is not looked up and gets 422 with the reason `mistyped` "
                "(the `found` dimension's state too). Unknown and malformed codes get the same "
                "404 body.",
                "tags": ["verification"],
                "parameters": _path_params("code"),
                "responses": {
                    "200": _ok("Verification", "The verdict for a certificate in the register"),
                    "404": _ok("Verification", "No certificate has this code"),
                    "422": _ok(
                        "Verification",
                        "The code looks mistyped (reason `mistyped`): its check character does "
                        "not match, so it was not looked up",
                    ),
                    "429": _ERRORS["429"],
                },
            }
        },
    )
    spec.path(
        path="/verify",
        operations={
            "post": {
                "operationId": "verifyFile",
                "summary": "Verify a certificate PDF or its credential JSON",
                "description": verdict_note + " Any file gets a verdict (200); a damaged or "
                "forged one gets `not_valid` with the reason. A file shows the register's "
                "`certificate` only if it is byte for byte the PDF issued, or a credential whose "
                "proof holds with the register's key; anything else (an id alone, a failing "
                "proof, a PDF changed anywhere) gets the answer of an unknown certificate. A PDF "
                "sealed with a seal certificate that has since expired, and not the issued "
                "bytes, is `indeterminate` with the reason `seal_expired`. A file whose check "
                "ran out of memory, CPU or time gets `malformed`, detail `limit`. Files are "
                "checked a few at a time: when every slot is taken and the short queue is full "
                "or its wait ran out, the answer is 503 with `Retry-After` and the error code "
                "`busy` (nothing was checked or logged: send the file again later).",
                "tags": ["verification"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "additionalProperties": False,
                                "properties": {
                                    "file": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": "The PDF (at most 10 MB) or the JSON",
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok("Verification", "The verdict"),
                    "413": _error("Larger than the upload limit"),
                    "422": _error("No file sent"),
                    "429": _ERRORS["429"],
                    "503": {
                        **_error(
                            "Every upload check slot is taken (error code `busy`): try again "
                            "after `Retry-After` seconds"
                        ),
                        "headers": {
                            "Retry-After": {
                                "description": "Seconds to wait before sending the file again",
                                "schema": {"type": "integer", "minimum": 1},
                            }
                        },
                    },
                },
            }
        },
    )
    spec.path(
        path="/verify/evidence",
        operations={
            "post": {
                "operationId": "verifyEvidence",
                "summary": "Confirm that a file is evidence for indicators of a certificate",
                "description": "The holder reveals one evidence file and its salt (from the "
                "`commitments.json` of their data export). Each evidence item of a certificate "
                "with evidence commitments is, in its credential, an `Evidence` whose `id` is "
                "`urn:attesta:evidence-commitment:v1:<hex>` and whose `narrative` lists the "
                "indicators (`- <resultDescription id>` lines): hex = SHA-256(field("
                "'attesta-evidence-commitment-v1') || field(salt, 32 bytes) || field(SHA-256 of "
                "the file) || uint32(n) || field(indicator)...), field(b) = uint32 big-endian "
                "length || b, indicators UTF-8, sorted, unique. The answer confirms the "
                "indicators, or refuses: a wrong file and a wrong salt get the same "
                "`not_confirmed`, so nothing can be guessed without the salt; certificates "
                "issued before commitments get `not_committed`. It shows nothing beyond the "
                "public check by code. Public, rate-limited like file uploads.",
                "tags": ["verification"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["code", "salt", "file"],
                                "additionalProperties": False,
                                "properties": {
                                    "code": {
                                        "type": "string",
                                        "maxLength": 100,
                                        # No NUL: every input refuses it (app/security.py).
                                        "pattern": "^[^\\x00]*$",
                                        "description": "The certificate's verification code",
                                    },
                                    "salt": {
                                        "type": "string",
                                        "pattern": "^[0-9a-fA-F]{64}$",
                                        "description": "The item's salt, 64 hex digits",
                                    },
                                    "file": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": "The evidence file as exported (a link "
                                        "or a text: its .txt file, the exact UTF-8 bytes)",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok("EvidenceReveal", "Confirmed, or refused with the reason"),
                    "404": _ok("EvidenceReveal", "No certificate has this code"),
                    "413": _error("Larger than the upload limit"),
                    "422": _error(
                        "No file sent, the salt is not 64 hex digits, or the code holds a NUL"
                    ),
                    "429": _ERRORS["429"],
                },
            }
        },
    )
    return spec.to_dict()


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": "Error"}}}

"""marshmallow schemas of the API's responses and query parameters (and so of its OpenAPI)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.labels import VERIFICATION_STATES


class TextSchema(Schema):
    it = fields.String(required=True)
    en = fields.String(required=True)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable machine code"})
    message = fields.String(required=True, metadata={"description": "In the request's language"})
    details = fields.Dict(metadata={"description": "Field paths and problem codes"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class AlignmentSchema(Schema):
    framework = fields.String(required=True)
    code = fields.String(allow_none=True)
    uri = fields.String(allow_none=True)
    label = fields.Nested(TextSchema, required=True)
    verify = fields.Boolean(required=True)


class FrameworkSchema(Schema):
    code = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)
    publisher = fields.Nested(TextSchema, required=True)
    legal_reference = fields.Nested(TextSchema, required=True)
    illustrative = fields.Boolean(required=True)
    content_sha256 = fields.String(required=True)
    valid_from = fields.Date(allow_none=True)


class LevelSchema(Schema):
    code = fields.String(required=True)
    label = fields.Nested(TextSchema, required=True)
    descriptor = fields.Nested(TextSchema, required=True)
    passing = fields.Boolean(required=True)


class CriterionSchema(Schema):
    code = fields.String(required=True)
    text = fields.Nested(TextSchema, required=True)
    expected_evidence = fields.List(fields.String(), required=True)
    levels = fields.List(fields.Nested(LevelSchema), required=True)


class CompetenceSummarySchema(Schema):
    code = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)
    eqf_level = fields.Integer(allow_none=True)
    mandatory = fields.Boolean()
    url = fields.String(required=True)


class CompetenceSchema(Schema):
    framework = fields.Nested(FrameworkSchema, required=True)
    code = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)
    description = fields.Nested(TextSchema, required=True)
    eqf_level = fields.Integer(allow_none=True)
    certifiable = fields.Boolean(required=True)
    ada_codes = fields.List(fields.String(), required=True)
    alignments = fields.List(fields.Nested(AlignmentSchema), required=True)
    abilita = fields.List(fields.Nested(TextSchema), required=True)
    conoscenze = fields.List(fields.Nested(TextSchema), required=True)
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)


class ProfileSummarySchema(Schema):
    framework_code = fields.String(required=True)
    framework_version = fields.String(required=True)
    code = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)
    eqf_level = fields.Integer(allow_none=True)
    illustrative = fields.Boolean(required=True)
    url = fields.String(required=True)


class ProfileSchema(Schema):
    framework = fields.Nested(FrameworkSchema, required=True)
    code = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)
    description = fields.Nested(TextSchema, required=True)
    eqf_level = fields.Integer(allow_none=True)
    sep_code = fields.String(allow_none=True)
    illustrative = fields.Boolean(required=True)
    alignments = fields.List(fields.Nested(AlignmentSchema), required=True)
    competences = fields.List(fields.Nested(CompetenceSummarySchema), required=True)


class ProfileListSchema(Schema):
    items = fields.List(fields.Nested(ProfileSummarySchema), required=True)
    count = fields.Integer(required=True)


class FrameworkListSchema(Schema):
    items = fields.List(fields.Nested(FrameworkSchema), required=True)


class ProfileQuerySchema(Schema):
    q = fields.String(
        load_default="",
        # No NUL: every input refuses it (app/security.py).
        validate=[validate.Length(max=100), validate.Regexp(r"^[^\x00]*$")],
        metadata={"description": "Words to find in codes, titles, descriptions"},
    )
    eqf = fields.Integer(
        load_default=None, validate=validate.Range(1, 8), metadata={"description": "EQF level 1-8"}
    )


class RoleSchema(Schema):
    organisation_id = fields.UUID(required=True)
    organisation = fields.String(required=True)
    role = fields.String(required=True)


class MeSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    given_name = fields.String(required=True)
    family_name = fields.String(required=True)
    locale = fields.String(required=True)
    is_candidate = fields.Boolean(required=True)
    roles = fields.List(fields.Nested(RoleSchema), required=True)


class BulkRequestSchema(Schema):
    case_ids = fields.List(
        fields.UUID(),
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "The CERTIFIED cases to issue certificates for"},
    )


class BulkItemSchema(Schema):
    case_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["pending", "issued", "failed"]))
    certificate_id = fields.UUID()
    number = fields.String()
    verification_code = fields.String()
    error = fields.String(metadata={"description": "Stable error code of a failed item"})


class BulkSchema(Schema):
    id = fields.UUID(required=True)
    idempotency_key = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)
    total = fields.Integer(required=True)
    done = fields.Integer(required=True)
    items = fields.List(fields.Nested(BulkItemSchema), required=True)


# --- verification -----------------------------------------------------------------------------

_OUTCOMES = ["pass", "fail", "unknown", "not_applicable"]
#: Every state a dimension can have (app.labels says what each means).
_STATES = sorted(VERIFICATION_STATES)


class DimensionSchema(Schema):
    name = fields.String(
        required=True,
        validate=validate.OneOf(["found", "signature", "identical", "status", "validity"]),
    )
    state = fields.String(
        required=True,
        validate=validate.OneOf(_STATES),
        metadata={"description": "Stable code, e.g. `revoked`, `untrusted_issuer`"},
    )
    outcome = fields.String(required=True, validate=validate.OneOf(_OUTCOMES))
    detail = fields.String(allow_none=True, metadata={"description": "A finer stable code"})
    message = fields.String(required=True, metadata={"description": "In the request's language"})


class PublicCompetenceSchema(Schema):
    code = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)
    eqf_level = fields.Integer(allow_none=True, required=True)


class ProfileCompetenceSchema(Schema):
    code = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)


class CoverageSchema(Schema):
    """How much of its profile a certificate covers (certification.certificates.coverage)."""

    # "partial" is a Schema attribute of marshmallow's: the field keeps the name on the wire.
    is_partial = fields.Boolean(
        required=True,
        data_key="partial",
        attribute="partial",
        metadata={
            "description": "True for a certification of single competences (competenze_singole):"
            " the certificate does not attest the whole profile"
        },
    )
    covered = fields.Integer(
        required=True, metadata={"description": "The profile's required competences it holds"}
    )
    total = fields.Integer(
        required=True,
        metadata={"description": "The profile's required (mandatory) competences"},
    )
    missing = fields.List(
        fields.Nested(ProfileCompetenceSchema),
        required=True,
        metadata={"description": "The profile's required competences it does not hold"},
    )


class PublicEvidenceSchema(Schema):
    type = fields.String(required=True)
    date = fields.Date(allow_none=True)
    sha256 = fields.String(
        metadata={"description": "Certificates issued before evidence commitments only"}
    )
    commitment = fields.String(
        metadata={
            "description": "Salted commitment (64 hex digits; see POST /verify/evidence); "
            "certificates with evidence commitments only"
        }
    )
    indicators = fields.List(
        fields.String(),
        metadata={
            "description": "The resultDescription ids the evidence supports (with commitment)"
        },
    )


class PublicExperienceSchema(Schema):
    kind = fields.String(required=True)
    host = fields.String(allow_none=True)
    start = fields.Date(allow_none=True)
    end = fields.Date(allow_none=True)


class PublicCertificateSchema(Schema):
    """What the register shows a verifier; never the codice fiscale, birth date or e-mail."""

    number = fields.String(required=True)
    verification_code = fields.String(required=True)
    issued_on = fields.Date(required=True)
    kind = fields.String(required=True)
    holder_name = fields.String(required=True)
    holder_full_name_shown = fields.Boolean(
        required=True, metadata={"description": "False: initials only, by the holder's choice"}
    )
    ente_titolato = fields.String(required=True)
    ente_titolare = fields.String(allow_none=True, required=True)
    framework_title = fields.Nested(TextSchema, required=True)
    profile_code = fields.String(required=True)
    profile_title = fields.Nested(TextSchema, required=True)
    eqf_level = fields.Integer(allow_none=True, required=True)
    competences = fields.List(fields.Nested(PublicCompetenceSchema), required=True)
    coverage = fields.Nested(CoverageSchema, required=True)
    assessment_methods = fields.List(fields.String(), required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["issued", "suspended", "revoked", "superseded"])
    )
    status_changed_on = fields.Date(allow_none=True, required=True)
    superseded_by = fields.String(
        allow_none=True, required=True, metadata={"description": "Code of the correction"}
    )
    illustrative = fields.Boolean(required=True)
    learning_experiences = fields.List(
        fields.Nested(PublicExperienceSchema),
        metadata={"description": "Only when the holder chose to show them"},
    )
    evidence = fields.List(
        fields.Nested(PublicEvidenceSchema),
        metadata={"description": "Only when the holder chose to show it"},
    )


class VerificationSchema(Schema):
    verdict = fields.String(
        required=True, validate=validate.OneOf(["valid", "not_valid", "indeterminate"])
    )
    reason = fields.String(
        required=True,
        validate=validate.OneOf(_STATES),
        metadata={
            "description": "`valid` or the first failing state (`mistyped`: a code whose check "
            "character does not match, never looked up); `indeterminate` comes with "
            "`busy` (try again later), `unavailable`, `unknown`, or `seal_expired`: a PDF "
            "sealed with the ente's seal whose certificate has expired, with nothing (no "
            "time-stamp, not the bytes the register holds) proving the seal was made before"
        },
    )
    method = fields.String(required=True, validate=validate.OneOf(["code", "pdf", "json", "file"]))
    checked_at = fields.DateTime(metadata={"description": "Absent when nothing was found"})
    dimensions = fields.List(fields.Nested(DimensionSchema), required=True)
    certificate = fields.Nested(PublicCertificateSchema, allow_none=True, required=True)


class IndicatorSchema(Schema):
    id = fields.String(
        required=True, metadata={"description": "The credential's resultDescription id"}
    )
    code = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["competence", "criterion"]))
    competence_code = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)


class EvidenceRevealSchema(Schema):
    confirmed = fields.Boolean(required=True)
    reason = fields.String(
        required=True,
        validate=validate.OneOf(["confirmed", "not_confirmed", "not_committed", "not_found"]),
        metadata={
            "description": "`not_confirmed` for a wrong file and a wrong salt alike; "
            "`not_committed` for certificates issued before evidence commitments"
        },
    )
    message = fields.String(required=True, metadata={"description": "In the request's language"})
    indicators = fields.List(
        fields.Nested(IndicatorSchema),
        required=True,
        metadata={"description": "What the file is evidence for (empty unless confirmed)"},
    )
    verification = fields.Nested(
        VerificationSchema,
        allow_none=True,
        required=True,
        metadata={"description": "The certificate's check by code; null for an unknown code"},
    )

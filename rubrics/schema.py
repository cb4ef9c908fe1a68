"""marshmallow schemas of the rubric file format ``attesta-rubrics/1``.

Unknown keys are errors; every human text is ``{it: ..., en: ...}``, both required (Italian
first, English second, both complete). Cross-references (scales, competence codes) are checked
after the shapes, so each message names the path of the offending value.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

FORMAT = "attesta-rubrics/1"
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,59}$")
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")
EVIDENCE_TYPES = ("DOCUMENTO", "TESTIMONIANZA", "PRODOTTO", "OSSERVAZIONE", "COLLOQUIO")
ALIGNMENT_FRAMEWORKS = ("ESCO", "ISCO", "ATLANTE", "EQF", "ENTRECOMP", "DIGCOMP", "QRSP")

_code = validate.Regexp(CODE_RE, error="must be upper-case letters, digits, '.', '_' or '-'")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class DateField(fields.Field[dt.date]):
    """A date written bare in YAML (parsed to a date) or as an ISO string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            raise self.make_error("invalid")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.make_error("invalid")

    default_error_messages = {"invalid": "must be a date like 2026-01-31"}  # noqa: RUF012


class TextSchema(_Strict):
    """A text in Italian and English."""

    it = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    en = fields.String(required=True, validate=validate.Length(min=1, max=4000))

    @validates_schema
    def _not_blank(self, data: dict[str, str], **_: Any) -> None:
        blank = {lang: ["must not be blank"] for lang, text in data.items() if not text.strip()}
        if blank:
            raise ValidationError(blank)


def _text(required: bool = True) -> fields.Nested:
    return fields.Nested(TextSchema, required=required, allow_none=not required)


class AlignmentSchema(_Strict):
    framework = fields.String(required=True, validate=validate.OneOf(ALIGNMENT_FRAMEWORKS))
    code = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    uri = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    label = _text()
    #: True when the alignment is a hint still to be verified against the official source.
    verify = fields.Boolean(load_default=False)


class LevelSchema(_Strict):
    code = fields.String(required=True, validate=_code)
    label = _text()
    descriptor = _text()
    passing = fields.Boolean(required=True)


class ScaleSchema(_Strict):
    code = fields.String(required=True, validate=_code)
    title = _text()
    levels = fields.List(
        fields.Nested(LevelSchema), required=True, validate=validate.Length(min=2, max=10)
    )

    @validates_schema
    def _levels(self, data: dict[str, Any], **_: Any) -> None:
        levels = data["levels"]
        _unique([lvl["code"] for lvl in levels], "levels", "code")
        passing = [lvl["passing"] for lvl in levels]
        if not any(passing):
            raise ValidationError({"levels": ["at least one level must be passing"]})
        first = passing.index(True)
        if not all(passing[first:]):
            raise ValidationError(
                {
                    "levels": [
                        "levels go from lowest to highest: every level above a passing one "
                        "must pass too"
                    ]
                }
            )


class CriterionSchema(_Strict):
    code = fields.String(required=True, validate=_code)
    text = _text()
    expected_evidence = fields.List(
        fields.String(validate=validate.OneOf(EVIDENCE_TYPES)),
        load_default=list,
    )
    scale = fields.String(required=True, validate=_code)


class CompetenceSchema(_Strict):
    code = fields.String(required=True, validate=_code)
    title = _text()
    description = _text()
    eqf_level = fields.Integer(load_default=None, validate=validate.Range(1, 8), strict=True)
    certifiable = fields.Boolean(load_default=True)
    ada_codes = fields.List(fields.String(validate=validate.Length(1, 40)), load_default=list)
    alignments = fields.List(fields.Nested(AlignmentSchema), load_default=list)
    abilita = fields.List(_text(), required=True, validate=validate.Length(min=1))
    conoscenze = fields.List(_text(), required=True, validate=validate.Length(min=1))
    criteria = fields.List(
        fields.Nested(CriterionSchema), required=True, validate=validate.Length(min=1)
    )


class ProfileCompetenceSchema(_Strict):
    code = fields.String(required=True, validate=_code)
    mandatory = fields.Boolean(load_default=True)


class ProfileSchema(_Strict):
    code = fields.String(required=True, validate=_code)
    title = _text()
    description = _text()
    eqf_level = fields.Integer(load_default=None, validate=validate.Range(1, 8), strict=True)
    sep_code = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{1,2}$"))
    illustrative = fields.Boolean(load_default=False)
    alignments = fields.List(fields.Nested(AlignmentSchema), load_default=list)
    competences = fields.List(
        fields.Nested(ProfileCompetenceSchema), required=True, validate=validate.Length(min=1)
    )

    @validates_schema
    def _no_repeats(self, data: dict[str, Any], **_: Any) -> None:
        _unique([c["code"] for c in data["competences"]], "competences", "code")


class FrameworkSchema(_Strict):
    code = fields.String(required=True, validate=_code)
    version = fields.String(
        required=True, validate=validate.Regexp(VERSION_RE, error="must be like 1.0 or 2026.1")
    )
    title = _text()
    publisher = _text()
    legal_reference = _text()
    notice = _text(required=False)
    source_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    illustrative = fields.Boolean(required=True)
    valid_from = DateField(load_default=None, allow_none=True)


class RubricFileSchema(_Strict):
    """The whole file: checks shapes, then that every reference resolves."""

    format = fields.String(required=True, validate=validate.Equal(FORMAT))
    framework = fields.Nested(FrameworkSchema, required=True)
    scales = fields.List(fields.Nested(ScaleSchema), required=True, validate=validate.Length(1))
    competences = fields.List(
        fields.Nested(CompetenceSchema), required=True, validate=validate.Length(min=1)
    )
    profiles = fields.List(fields.Nested(ProfileSchema), load_default=list)

    @validates_schema
    def _references(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, Any] = {}
        scale_codes = {s["code"] for s in data.get("scales", [])}
        competence_codes = {c["code"] for c in data.get("competences", [])}
        for key, items in (
            ("scales", "scales"),
            ("competences", "competences"),
            ("profiles", "profiles"),
        ):
            try:
                _unique([i["code"] for i in data.get(items, [])], key, "code")
            except ValidationError as exc:
                errors.update(exc.messages_dict)
        criterion_codes: list[str] = []
        for ci, comp in enumerate(data.get("competences", [])):
            for ki, crit in enumerate(comp["criteria"]):
                criterion_codes.append(crit["code"])
                if crit["scale"] not in scale_codes:
                    _put(
                        errors,
                        ["competences", ci, "criteria", ki, "scale"],
                        f"unknown scale {crit['scale']!r}",
                    )
        duplicates = sorted({c for c in criterion_codes if criterion_codes.count(c) > 1})
        if duplicates:
            _put(errors, ["competences"], f"criterion codes used twice: {', '.join(duplicates)}")
        for pi, prof in enumerate(data.get("profiles", [])):
            for li, link in enumerate(prof["competences"]):
                if link["code"] not in competence_codes:
                    _put(
                        errors,
                        ["profiles", pi, "competences", li, "code"],
                        f"unknown competence {link['code']!r}",
                    )
        if errors:
            raise ValidationError(errors)


def _unique(values: list[str], key: str, field: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise ValidationError({key: {index: {field: [f"{value!r} appears twice"]}}})
        seen.add(value)


def _put(errors: dict[Any, Any], path: list[Any], message: str) -> None:
    node = errors
    for part in path[:-1]:
        node = node.setdefault(part, {})
    slot = node.setdefault(path[-1], [])
    if isinstance(slot, dict):  # the path already holds nested errors: attach at its root
        slot = slot.setdefault("_schema", [])
    slot.append(message)

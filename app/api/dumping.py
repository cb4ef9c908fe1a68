"""A schema's dump without marshmallow's per-call machinery, for the public check's hot path.

``Schema.dump`` walks its fields, hooks and nested schemas anew on every call: on
``GET /api/v1/verify/<code>`` that was an eighth of the server's time (issue 22). A
:class:`Dumper` reads the schema's fields once and keeps a plan per schema (key on the wire,
key read, how the value is written), then dumps plain dicts by that plan: the same output as
``schema.dump`` for the dicts the API builds (tests/app/test_api_dumping.py compares the two),
and the schema stays the one truth of the shape (the OpenAPI spec is generated from it).

Only what these schemas use is planned: nested schemas, lists (of nested schemas or of plain
fields), strings, integers, booleans, dates and date-times; any other field is written by its
own ``_serialize``. Values are read from mappings only, as the API's bodies are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import Schema, fields

_MISSING = object()
Write = Callable[[Any], Any]


def _text(value: Any) -> Any:
    return value if value is None or type(value) is str else str(value)


def _integer(value: Any) -> Any:
    return value if value is None or type(value) is int else int(value)


def _boolean(value: Any) -> Any:
    return value if value is None or type(value) is bool else bool(value)


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _writer(field: fields.Field[Any]) -> Write:
    """How ``field`` writes a value that is present (None included)."""
    if isinstance(field, fields.Nested):
        plan = _plan(field.schema)
        if field.many:
            return lambda value: None if value is None else [_dump(plan, v) for v in value]
        return lambda value: None if value is None else _dump(plan, value)
    if isinstance(field, fields.List):
        inner = _writer(field.inner)
        return lambda value: None if value is None else [inner(v) for v in value]
    # Subclasses first: DateTime and Date share no base but Field; Integer is a Number.
    if isinstance(field, (fields.DateTime, fields.Date)) and (
        getattr(field, "format", None) in (None, "iso")
    ):
        return _iso
    if type(field) is fields.String:
        return _text
    if type(field) is fields.Integer and not field.as_string:
        return _integer
    if type(field) is fields.Boolean:
        return _boolean
    return lambda value: field._serialize(value, None, None)


Plan = tuple[tuple[str, str, Write], ...]


def _plan(schema: Schema) -> Plan:
    """(key on the wire, key read, writer) for each field the schema dumps, in its order."""
    if schema.many or schema.only or schema.exclude or any(schema._hooks.values()):
        raise ValueError(f"a Dumper plans plain schemas: {type(schema).__name__} is not one")
    return tuple(
        (field.data_key or name, field.attribute or name, _writer(field))
        for name, field in schema.dump_fields.items()
    )


def _dump(plan: Plan, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for wire, key, write in plan:
        value = data.get(key, _MISSING)
        if value is not _MISSING:
            out[wire] = write(value)
    return out


class Dumper:
    """``Dumper(schema).dump(data)`` == ``schema.dump(data)`` for a mapping ``data``, faster."""

    def __init__(self, schema: Schema) -> None:
        self._plan = _plan(schema)

    def dump(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return _dump(self._plan, data)

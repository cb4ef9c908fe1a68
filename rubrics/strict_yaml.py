"""Strict YAML for rubric files: PyYAML's safe loader, refusing duplicate keys, and every
problem reported as :class:`StrictYAMLError` with where it is.

Loaded by :func:`rubrics.loader.load_rubric_text` when a rubric file is first read: PyYAML costs
a tenth of a second of every start of every ``flask`` command that reads none.
"""

from __future__ import annotations

from typing import Any

import yaml


class StrictYAMLError(ValueError):
    """Text that is not valid YAML: ``where`` (line and column, when known) and ``message``."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


def load(text: str | bytes) -> Any:
    """The data of a YAML document, or :class:`StrictYAMLError`."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:  # e.g. "[[[[..." nested deeper than the parser can go
        raise StrictYAMLError("", "not valid YAML: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise StrictYAMLError(where, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise StrictYAMLError("", f"not valid YAML: {exc}") from None


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys instead of keeping the last one, and
    reports a value it cannot build as a YAML error at its position: SafeLoader's own
    constructors raise ValueError, KeyError, AttributeError... for ``2026-02-30``,
    ``!!int x`` or ``!!bool maybe``."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            problem = (
                f"not a valid {kind}: {node.value[:60]!r}"
                if isinstance(node, yaml.ScalarNode)
                else f"not a valid {kind}"
            )
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def _construct_mapping(loader: _StrictLoader, node: yaml.Node) -> dict[Any, Any]:
    if not isinstance(node, yaml.MappingNode):  # e.g. "!!map [1]"
        raise yaml.constructor.ConstructorError(
            None, None, "expected a mapping here", node.start_mark
        )
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:  # a list, mapping or set as a key: "{[1]: 2}"
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a single value", key_node.start_mark
            ) from None
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

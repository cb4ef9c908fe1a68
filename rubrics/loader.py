"""Read rubric files: strict YAML, then the schema, with errors that say where and what.

Every problem is reported as ``(path, message)``, with paths like
``competences[2].criteria[0].scale``, together with the file name, so a person editing the
file can find it at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from rubrics.schema import RubricFileSchema

DATA_DIR = Path(__file__).parent / "data"
#: Rubric files are small; anything bigger is a mistake or an attack on the parser.
MAX_FILE_BYTES = 2 * 1024 * 1024


class RubricFileError(Exception):
    """A rubric file that cannot be read or does not match the format."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path or '(file)'}: {message}" for path, message in problems)
        super().__init__(f"{source}: invalid rubric file\n{lines}")


@dataclass(frozen=True)
class RubricFile:
    """A validated rubric file: its content as plain JSON-able data, and where it came from."""

    source: str
    content: dict[str, Any] = field(repr=False)

    @property
    def code(self) -> str:
        return str(self.content["framework"]["code"])

    @property
    def version(self) -> str:
        return str(self.content["framework"]["version"])

    @property
    def sha256(self) -> str:
        """Hash of the canonical JSON of the content: equal content, equal hash."""
        return hashlib.sha256(canonical_json(self.content)).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: a stable byte form of JSON-able data."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_rubric_text(text: str | bytes, source: str) -> RubricFile:
    """Parse and validate rubric YAML given as text; ``source`` names it in errors."""
    if len(text) > MAX_FILE_BYTES:
        raise RubricFileError(source, [("", f"file larger than {MAX_FILE_BYTES} bytes")])
    from rubrics import strict_yaml  # noqa: PLC0415 - heavy: PyYAML, loaded when a file is read

    try:
        raw = strict_yaml.load(text)
    except strict_yaml.StrictYAMLError as exc:
        raise RubricFileError(source, [(exc.where, exc.message)]) from None
    if not isinstance(raw, dict):
        raise RubricFileError(source, [("", "the file must be a mapping with 'format' first")])
    try:
        data = RubricFileSchema().load(raw)
    except ValidationError as exc:
        raise RubricFileError(source, sorted(_flatten(exc.messages))) from None
    return RubricFile(source=source, content=_jsonable(data))


def load_rubric_file(path: Path) -> RubricFile:
    """Read and validate one rubric file from disk."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RubricFileError(str(path), [("", f"file larger than {MAX_FILE_BYTES} bytes")])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RubricFileError(str(path), [("", "the file is not UTF-8 text")]) from None
    except OSError as exc:
        raise RubricFileError(str(path), [("", f"cannot read the file: {exc.strerror}")]) from None
    return load_rubric_text(text, str(path))


def rubric_files_in(path: Path) -> list[Path]:
    """The rubric files at ``path``: the file itself, or every ``*.yaml``/``*.yml`` below it."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    return [path]


def bundled_rubric_files() -> list[Path]:
    """The rubric files shipped with Attesta in ``rubrics/data``."""
    return rubric_files_in(DATA_DIR)


def _flatten(messages: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key, value in messages.items():
            if isinstance(key, int):
                child = f"{path}[{key}]"
            elif key == "_schema":
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            out.extend(_flatten(value, child))
        return out
    if isinstance(messages, list):
        return [(path, str(m)) for m in messages if not isinstance(m, dict | list)] + [
            pair for m in messages if isinstance(m, dict | list) for pair in _flatten(m, path)
        ]
    return [(path, str(messages))]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value

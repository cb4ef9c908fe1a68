"""Competence standards as data: the rubric file format, its schema and its loader.

A rubric file (YAML, ``format: attesta-rubrics/1``) holds one version of a framework:
rating scales, competences (abilità, conoscenze, criteria) and profiles that group them.
See ``rubrics/FORMAT.md``. This package imports nothing from ``certification`` or ``app``.
"""

from rubrics.loader import (
    RubricFile,
    RubricFileError,
    bundled_rubric_files,
    load_rubric_file,
    load_rubric_text,
)

__all__ = [
    "RubricFile",
    "RubricFileError",
    "bundled_rubric_files",
    "load_rubric_file",
    "load_rubric_text",
]

"""Rubric files for tests: a small valid one to change, and its YAML text."""

from __future__ import annotations

from typing import Any

import yaml


def valid_rubric() -> dict[str, Any]:
    """A small valid rubric file's content (one framework, its scale, competences, a profile)."""
    text = {"it": "testo", "en": "text"}
    level = lambda code, passing: {  # noqa: E731
        "code": code,
        "label": text,
        "descriptor": text,
        "passing": passing,
    }
    return {
        "format": "attesta-rubrics/1",
        "framework": {
            "code": "TEST-FW",
            "version": "1.0",
            "title": text,
            "publisher": text,
            "legal_reference": text,
            "illustrative": True,
            "valid_from": "2026-01-01",
        },
        "scales": [
            {
                "code": "S4",
                "title": text,
                "levels": [
                    level("L0", False),
                    level("L1", False),
                    level("L2", True),
                    level("L3", True),
                ],
            }
        ],
        "competences": [
            {
                "code": "C1",
                "title": text,
                "description": text,
                "eqf_level": 4,
                "abilita": [text],
                "conoscenze": [text],
                "criteria": [
                    {
                        "code": "C1-I1",
                        "text": text,
                        "scale": "S4",
                        "expected_evidence": ["DOCUMENTO"],
                    }
                ],
            }
        ],
        "profiles": [
            {
                "code": "P1",
                "title": text,
                "description": text,
                "eqf_level": 4,
                "competences": [{"code": "C1", "mandatory": True}],
            }
        ],
    }


def dump_rubric(data: dict[str, Any]) -> str:
    """The YAML text of a rubric file."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from rubrics import RubricFileError, bundled_rubric_files, load_rubric_file, load_rubric_text
from rubrics.loader import MAX_FILE_BYTES
from tests.support.rubrics import dump_rubric, valid_rubric


@pytest.mark.parametrize("path", bundled_rubric_files(), ids=lambda p: p.name)
def test_every_bundled_rubric_file_is_valid(path: Path) -> None:
    rubric = load_rubric_file(path)
    assert rubric.content["framework"]["illustrative"] is True
    assert rubric.content["profiles"], "a bundled framework without profiles"


@pytest.mark.slow
def test_bundled_demo_profiles_match_domain_brief() -> None:
    rubric = load_rubric_file(next(p for p in bundled_rubric_files() if "demo" in str(p)))
    profiles = {p["code"]: p for p in rubric.content["profiles"]}
    assert set(profiles) == {"DEMO-P01", "DEMO-P02", "DEMO-P03"}
    assert [profiles[c]["eqf_level"] for c in ("DEMO-P01", "DEMO-P02", "DEMO-P03")] == [4, 4, 5]
    competences = {c["code"] for c in rubric.content["competences"]}
    for profile in profiles.values():
        assert {link["code"] for link in profile["competences"]} <= competences


def test_valid_file_loads_and_hash_is_stable() -> None:
    a = load_rubric_text(dump_rubric(valid_rubric()), "a.yaml")
    b = load_rubric_text(dump_rubric(valid_rubric()), "b.yaml")
    assert a.code == "TEST-FW"
    assert a.version == "1.0"
    assert a.sha256 == b.sha256
    changed = valid_rubric()
    changed["competences"][0]["title"]["it"] = "altro"
    assert load_rubric_text(dump_rubric(changed), "c.yaml").sha256 != a.sha256


def _set(data: dict[str, Any], path: list[Any], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()

BROKEN = [
    # (what is changed, new value, path in the error, words in the message)
    (["format"], "other/1", "format", "Must be equal"),
    (["framework", "code"], "lower case", "framework.code", "upper-case"),
    (["framework", "version"], "1 0", "framework.version", "1.0"),
    (["framework", "title", "en"], "  ", "framework.title.en", "blank"),
    (["framework", "title"], {"it": "solo italiano"}, "framework.title.en", "required"),
    (["framework", "illustrative"], _DELETE, "framework.illustrative", "required"),
    (["framework", "valid_from"], "31/12/2026", "framework.valid_from", "date"),
    (["competences", 0, "eqf_level"], 9, "competences[0].eqf_level", "less than or equal to 8"),
    (["competences", 0, "eqf_level"], "4", "competences[0].eqf_level", "integer"),
    (["competences", 0, "criteria"], [], "competences[0].criteria", "Shorter"),
    (
        ["competences", 0, "criteria", 0, "scale"],
        "NOPE",
        "competences[0].criteria[0].scale",
        "unknown scale 'NOPE'",
    ),
    (
        ["competences", 0, "criteria", 0, "expected_evidence"],
        ["SELFIE"],
        "competences[0].criteria[0].expected_evidence[0]",
        "one of",
    ),
    (["competences", 0, "surprise"], 1, "competences[0].surprise", "Unknown field"),
    (
        ["profiles", 0, "competences", 0, "code"],
        "C9",
        "profiles[0].competences[0].code",
        "unknown competence 'C9'",
    ),
    (
        ["scales", 0, "levels", 3, "passing"],
        False,
        "scales[0].levels",
        "every level above a passing one",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "where", "words"), BROKEN, ids=[".".join(map(str, b[0])) for b in BROKEN]
)
def test_schema_errors_name_the_file_the_path_and_the_problem(
    path: list[Any], value: Any, where: str, words: str | None
) -> None:
    data = copy.deepcopy(valid_rubric())
    _set(data, path, value)
    with pytest.raises(RubricFileError) as info:
        load_rubric_text(dump_rubric(data), "rubrics/data/x.yaml")
    error = info.value
    assert error.source == "rubrics/data/x.yaml"
    assert str(error).startswith("rubrics/data/x.yaml: invalid rubric file")
    matching = [message for p, message in error.problems if p == where]
    assert matching, error.problems
    if words:
        assert any(words in m for m in matching), matching


def test_no_passing_level_is_refused() -> None:
    data = valid_rubric()
    for level in data["scales"][0]["levels"]:
        level["passing"] = False
    with pytest.raises(RubricFileError) as info:
        load_rubric_text(dump_rubric(data), "x.yaml")
    assert ("scales[0].levels", "at least one level must be passing") in info.value.problems


def test_duplicate_codes_are_refused() -> None:
    data = valid_rubric()
    data["competences"].append(copy.deepcopy(data["competences"][0]))
    with pytest.raises(RubricFileError) as info:
        load_rubric_text(dump_rubric(data), "x.yaml")
    assert any(p == "competences[1].code" and "twice" in m for p, m in info.value.problems)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("format: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("format: a\nformat: b\n", "duplicate key 'format'"),
        ("a: !!python/object/apply:os.system ['echo hacked']\n", "not valid YAML"),
    ],
)
def test_unreadable_yaml_is_reported(text: str, words: str) -> None:
    with pytest.raises(RubricFileError) as info:
        load_rubric_text(text, "bad.yaml")
    assert any(words in message for _, message in info.value.problems), info.value.problems


def test_yaml_errors_say_where(tmp_path: Path) -> None:
    with pytest.raises(RubricFileError) as info:
        load_rubric_text("format: ok\nframework: {code: [\n", "f.yaml")
    assert info.value.problems[0][0].startswith("line ")


def test_oversized_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("titolo: perché".encode("latin-1"))
    for path, words in ((big, "larger than"), (latin, "not UTF-8")):
        with pytest.raises(RubricFileError) as info:
            load_rubric_file(path)
        assert words in info.value.problems[0][1]
    with pytest.raises(RubricFileError, match="cannot read"):
        load_rubric_file(tmp_path / "missing.yaml")

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification.errors import NotFound, RubricInvalid, RubricVersionConflict
from certification.models import AuditEvent, Criterion, Framework
from certification.standards import (
    get_competence,
    get_profile,
    import_rubric,
    parse_rubric,
    search_profiles,
)
from rubrics import bundled_rubric_files
from tests.support.clock import NOW
from tests.support.rubrics import dump_rubric, valid_rubric

FW = ("DEMO-LOMBARDIA", "1.0")


def test_the_bundled_framework_is_published_with_every_row(db: Session) -> None:
    framework = db.scalar(select(Framework).where(Framework.code == FW[0]))
    assert framework is not None
    assert framework.illustrative
    assert [p.code for p in framework.profiles] == ["DEMO-P01", "DEMO-P02", "DEMO-P03"]
    competence = get_competence(db, *FW, "DEMO-C12")
    assert competence.eqf_level == 4
    assert competence.ada_codes
    assert competence.abilita
    assert competence.conoscenze
    assert competence.criteria
    for criterion in competence.criteria:
        assert [lvl.code for lvl in criterion.levels] == ["L0", "L1", "L2", "L3"]
        assert criterion.passing_level is not None
        assert criterion.passing_level.code == "L2"


@pytest.mark.slow
def test_reimporting_the_same_content_changes_nothing(db: Session) -> None:
    text = bundled_rubric_files()[0].read_bytes()
    before = db.scalar(select(func.count()).select_from(Criterion))
    result = import_rubric(db, None, parse_rubric(text, "again.yaml"), NOW)
    assert result.created is False
    assert db.scalar(select(func.count()).select_from(Criterion)) == before


def test_a_published_version_cannot_change(db: Session) -> None:
    data = valid_rubric()
    import_rubric(db, None, parse_rubric(dump_rubric(data), "v1.yaml"), NOW)
    data["competences"][0]["title"]["it"] = "Titolo cambiato"
    with pytest.raises(RubricVersionConflict) as info:
        import_rubric(db, None, parse_rubric(dump_rubric(data), "v1-changed.yaml"), NOW)
    assert info.value.params == {"code": "TEST-FW", "version": "1.0"}
    data["framework"]["version"] = "1.1"
    result = import_rubric(db, None, parse_rubric(dump_rubric(data), "v1.1.yaml"), NOW)
    assert result.created
    assert result.framework.version == "1.1"
    assert get_competence(db, "TEST-FW", "1.0", "C1").title_it == "testo"
    assert get_competence(db, "TEST-FW", "1.1", "C1").title_it == "Titolo cambiato"


def test_import_is_audited(db: Session) -> None:
    result = import_rubric(db, None, parse_rubric(dump_rubric(valid_rubric()), "v1.yaml"), NOW)
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "rubric.imported", AuditEvent.entity_id == str(result.framework.id)
        )
    )
    assert event is not None
    assert event.details["code"] == "TEST-FW"


def test_invalid_rubric_becomes_a_domain_error_with_paths() -> None:
    with pytest.raises(RubricInvalid) as info:
        parse_rubric("format: attesta-rubrics/1\n", "x.yaml")
    assert "framework" in info.value.errors
    assert info.value.params["source"] == "x.yaml"


@pytest.mark.parametrize(
    ("text", "eqf", "expected"),
    [
        ("", None, ["DEMO-P01", "DEMO-P02", "DEMO-P03"]),
        ("", 5, ["DEMO-P03"]),
        ("", 4, ["DEMO-P01", "DEMO-P02"]),
        ("eventi", None, ["DEMO-P02"]),
        ("EVENT ORGANISER", None, ["DEMO-P02"]),
        ("coworking", 5, []),
        ("DEMO-C23", None, ["DEMO-P03"]),
        ("100%", None, []),
        ("_", None, []),
    ],
)
def test_search_profiles(db: Session, text: str, eqf: int | None, expected: list[str]) -> None:
    found = [
        p.code for p in search_profiles(db, text=text, eqf_level=eqf) if p.framework.code == FW[0]
    ]
    assert found == expected


def test_unknown_catalogue_items_are_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        get_profile(db, FW[0], "9.9", "DEMO-P01")
    with pytest.raises(NotFound):
        get_competence(db, *FW, "DEMO-C99")

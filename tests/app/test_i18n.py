"""Italian first, English second, both complete: every message in the code is translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale

from app import labels
from certification import vocabulary
from certification.models import (
    AssessmentMethod,
    EvidenceType,
    ExperienceKind,
    LearningContext,
    Outcome,
    PanelFunction,
)
from rubrics.schema import EVIDENCE_TYPES as RUBRIC_EVIDENCE_TYPES

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "en_": None,  # documents' English, next to their Italian (certification.rendering)
}


def _source_messages() -> set[str]:
    method_map = [
        ("app/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["it", "en"])
def test_catalogue_is_complete_and_in_sync(locale: str) -> None:
    path = ROOT / f"app/translations/{locale}/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
    missing = sorted(_source_messages() - ids)
    assert missing == [], "run `make extract-messages` and translate"
    untranslated = [
        m.id
        for m in catalog
        if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    problems = [(m.id, error) for m in catalog for error in m.check(catalog)]
    assert (untranslated, fuzzy, problems) == ([], [], [])


# Names that Italian uses as they are.
SAME_IN_ITALIAN = {
    "Assessor (esperto di settore)",
    "Atlante SEP %(code)s",
    "Codice fiscale",
    "Documento di trasparenza",
    "Documento di validazione",
    "Ente titolare",
    "Verbale di valutazione",
}


def test_italian_is_really_italian() -> None:
    with (ROOT / "app/translations/it/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="it")
    same = [
        m.id
        for m in catalog
        if m.id
        and isinstance(m.id, str)
        and m.string == m.id
        and len(m.id) > 12
        and " " in m.id
        and m.id not in SAME_IN_ITALIAN
    ]
    assert same == []


def test_pages_name_the_enumerations_with_the_vocabulary_of_documents(app: Flask) -> None:
    """Pages and PDFs name experience kinds, learning contexts, evidence types, methods,
    outcomes and panel functions with the same words (certification.vocabulary), in the page's
    language, first letter capitalised; every member has them."""
    pages = {
        ExperienceKind: labels.EXPERIENCE_KIND_LABELS,
        LearningContext: labels.LEARNING_CONTEXT_LABELS,
        EvidenceType: labels.EVIDENCE_TYPE_LABELS,
        AssessmentMethod: labels.METHOD_LABELS,
        Outcome: labels.OUTCOME_LABELS,
        PanelFunction: labels.PANEL_FUNCTION_LABELS,
    }
    assert set(pages) == set(vocabulary.TABLES)
    for kind, page_labels in pages.items():
        assert set(page_labels) == set(kind), kind.__name__
        for member in kind:
            words = vocabulary.TABLES[kind][member]
            for locale in ("it", "en"):
                with app.test_request_context(), force_locale(locale):
                    shown = str(page_labels[member])
                written = words.in_language(locale)
                assert shown == written[:1].upper() + written[1:], (member, locale)
    with app.test_request_context(), force_locale("it"):
        assert str(labels.METHOD_LABELS[AssessmentMethod.COLLOQUIO_TECNICO]) == "Colloquio tecnico"
        assert str(labels.EVIDENCE_TYPE_LABELS[EvidenceType.LINK]) == "Collegamento"


def test_evidence_types_and_expected_evidence_are_not_swapped() -> None:
    """EVIDENCE_TYPE_LABELS names the candidate's evidence (EvidenceType);
    EXPECTED_EVIDENCE_LABELS the evidence a rubric's criterion expects."""
    assert set(labels.EVIDENCE_TYPE_LABELS) == set(EvidenceType)
    assert set(labels.EXPECTED_EVIDENCE_LABELS) == set(RUBRIC_EVIDENCE_TYPES)
    assert not hasattr(labels, "EVIDENCE_KIND_LABELS")


def test_the_request_s_language_is_a_locale_parsed_once(app: Flask) -> None:
    from flask_babel import get_locale

    from app.i18n import PARSED, current_language

    for header, expected in (("en-GB,en;q=0.9", "en"), ("de", "it"), ("", "it")):
        with app.test_request_context("/api/v1/verify/X", headers={"Accept-Language": header}):
            assert get_locale() is PARSED[expected]  # no parse per request (issue 22)
            assert current_language() == expected
    with app.test_request_context("/verify?code=X&lang=en"):
        assert get_locale() is PARSED["en"]

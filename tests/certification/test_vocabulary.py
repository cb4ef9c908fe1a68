"""One vocabulary for the enumerations that pages, PDFs and credentials name
(certification.vocabulary)."""

from __future__ import annotations

import enum

import pytest

from certification import vocabulary
from certification.models import AssessmentMethod, EvidenceType, PanelFunction

#: Where the Italian is the English word, rightly (the term Lombardy's rules use).
SAME_IN_BOTH = {PanelFunction.ASSESSOR}


@pytest.mark.parametrize("kind", list(vocabulary.TABLES), ids=lambda k: k.__name__)
def test_every_member_has_its_words_in_both_languages(kind: type[enum.StrEnum]) -> None:
    table = vocabulary.TABLES[kind]
    assert set(table) == set(kind), f"{kind.__name__}: members without words"
    for member, label in table.items():
        assert label.it.strip() and label.en.strip(), member
        assert (label.it == label.en) == (member in SAME_IN_BOTH), member
        assert [label.in_language(lang) for lang in vocabulary.LANGUAGES] == [label.it, label.en]


def test_documents_read_words_by_the_values_frozen_in_their_content() -> None:
    methods = vocabulary.ASSESSMENT_METHODS
    assert vocabulary.text(methods, "colloquio_tecnico", "it") == "colloquio tecnico"
    assert vocabulary.text(methods, AssessmentMethod.PROVA_PRATICA, "en") == "practical test"
    evidence = vocabulary.EVIDENCE_TYPES
    assert vocabulary.text(evidence, EvidenceType.LINK, "it") == "Collegamento"
    assert vocabulary.text(evidence, "audio", "en", default="audio") == "audio"
    with pytest.raises(KeyError):
        vocabulary.text(methods, "audio", "it")
    with pytest.raises(KeyError):
        vocabulary.text(methods, "colloquio_tecnico", "de")

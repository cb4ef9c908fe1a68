"""The words for the domain's enumerations, in Italian and English: one source for pages, PDFs
and credentials.

Each member of :class:`~certification.models.ExperienceKind`,
:class:`~certification.models.LearningContext`, :class:`~certification.models.EvidenceType`,
:class:`~certification.models.AssessmentMethod`, :class:`~certification.models.Outcome` and
:class:`~certification.models.PanelFunction` has one :class:`Label` here, its Italian and its
English, and nowhere else:

- documents (:mod:`certification.cases.documents`) and certificates
  (:mod:`certification.certificates.production`: the PDF and the signed credential) print them as
  written, in the document's language: lower case where they run inside a sentence ("esame del
  dossier delle evidenze, colloquio tecnico"), and :func:`text` reads them by the values frozen
  in a document's content;
- pages and e-mails (``app/labels.py``) show the same words in the page's language, their first
  letter capitalised.

The words live in this table, not in the gettext catalogue (``app/translations``), because the
domain imports no Flask or Babel, a credential is built without a renderer, and the words of a
sealed certificate must not change when a page's translation is edited: a certificate produced
again from its frozen content (recovery) reads exactly as the one first produced. Changing a word
here changes the documents issued from then on. ``tests/certification/test_vocabulary.py``
checks that every member has both languages.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from certification.models import (
    AssessmentMethod,
    EvidenceType,
    ExperienceKind,
    LearningContext,
    Outcome,
    PanelFunction,
)

LANGUAGES: Final = ("it", "en")


class Label(NamedTuple):
    """One enumeration member's words."""

    it: str
    en: str

    def in_language(self, locale: str) -> str:
        """The words in ``locale`` ("it" or "en"; KeyError for any other)."""
        if locale not in LANGUAGES:
            raise KeyError(locale)
        return self.it if locale == "it" else self.en


EXPERIENCE_KINDS: Final[dict[ExperienceKind, Label]] = {
    ExperienceKind.VOLONTARIATO: Label("Volontariato", "Volunteering"),
    ExperienceKind.TIROCINIO: Label("Tirocinio", "Internship"),
    ExperienceKind.ORGANIZZAZIONE_EVENTO: Label("Organizzazione di eventi", "Event organisation"),
    ExperienceKind.ANIMAZIONE_COWORKING: Label(
        "Animazione di spazi di coworking", "Co-working animation"
    ),
    ExperienceKind.PROGETTO_STARTUP: Label(
        "Progetto d'impresa / start-up", "Business / start-up project"
    ),
    ExperienceKind.LAVORO: Label("Lavoro", "Work"),
    ExperienceKind.SERVIZIO_CIVILE: Label("Servizio civile", "Civil service"),
    ExperienceKind.FORMAZIONE_NON_FORMALE: Label("Formazione non formale", "Non-formal training"),
    ExperienceKind.ALTRO: Label("Altro", "Other"),
}

LEARNING_CONTEXTS: Final[dict[LearningContext, Label]] = {
    LearningContext.FORMALE: Label("apprendimento formale", "formal learning"),
    LearningContext.NON_FORMALE: Label("apprendimento non formale", "non-formal learning"),
    LearningContext.INFORMALE: Label("apprendimento informale", "informal learning"),
}

EVIDENCE_TYPES: Final[dict[EvidenceType, Label]] = {
    EvidenceType.DOCUMENTO_ATTESTAZIONE: Label(
        "Documento / attestazione", "Document / attestation"
    ),
    EvidenceType.PRODOTTO: Label("Prodotto", "Product"),
    EvidenceType.FOTO_VIDEO: Label("Foto", "Photo"),
    EvidenceType.TESTIMONIANZA_TERZI: Label("Testimonianza di terzi", "Third-party testimonial"),
    EvidenceType.AUTODICHIARAZIONE_DPR445: Label(
        "Autodichiarazione (DPR 445/2000)", "Self-declaration (DPR 445/2000)"
    ),
    EvidenceType.LINK: Label("Collegamento", "Link"),
}

ASSESSMENT_METHODS: Final[dict[AssessmentMethod, Label]] = {
    AssessmentMethod.ESAME_DOSSIER: Label(
        "esame del dossier delle evidenze", "review of the dossier of evidence"
    ),
    AssessmentMethod.COLLOQUIO_TECNICO: Label("colloquio tecnico", "technical interview"),
    AssessmentMethod.PROVA_PRATICA: Label("prova pratica", "practical test"),
    AssessmentMethod.SIMULAZIONE: Label("simulazione", "simulation"),
    AssessmentMethod.OSSERVAZIONE: Label("osservazione", "observation"),
}

OUTCOMES: Final[dict[Outcome, Label]] = {
    Outcome.VALIDATA: Label("Validata", "Validated"),
    Outcome.NON_VALIDATA: Label("Non validata", "Not validated"),
    Outcome.INTEGRAZIONE_RICHIESTA: Label("Integrazione richiesta", "More evidence needed"),
}

PANEL_FUNCTIONS: Final[dict[PanelFunction, Label]] = {
    PanelFunction.PRESIDENTE: Label("Presidente", "Chair"),
    PanelFunction.CERTIFICATORE: Label("Certificatore", "Certifier"),
    # The same word in both: "assessor" is the term Lombardy's rules use in Italian too.
    PanelFunction.ASSESSOR: Label("Assessor", "Assessor"),
}

#: Every table, by the enumeration it names.
TABLES: Final[dict[type[enum.StrEnum], Mapping[Any, Label]]] = {
    ExperienceKind: EXPERIENCE_KINDS,
    LearningContext: LEARNING_CONTEXTS,
    EvidenceType: EVIDENCE_TYPES,
    AssessmentMethod: ASSESSMENT_METHODS,
    Outcome: OUTCOMES,
    PanelFunction: PANEL_FUNCTIONS,
}


def text(table: Mapping[Any, Label], value: str, locale: str, default: str | None = None) -> str:
    """The words in ``locale`` of the member whose value is ``value`` (as frozen in a document's
    content; a StrEnum member is looked up by its value). An unknown value is a KeyError, or
    ``default`` when given."""
    label = table.get(value)
    if label is None:
        if default is None:
            raise KeyError(value)
        return default
    return label.in_language(locale)

"""The frozen content of a certificate: the one contract between its PDF, its credential and
its verification (domain.md §8).

:func:`certification.certificates.facts.certificate_content` computes the facts at
reservation, :func:`~certification.certificates.lifecycle.reserve_certificate` adds the
certificate's identity (number, code, status index, salted holder identifier, signatory, badge)
and stores the whole as ``Certificate.content`` (JSON); the PDF
(:func:`~certification.certificates.production.pdf_context`), the credential
(:func:`~certification.certificates.production.build_credential`), the public check
(:func:`certification.verification.public.public_view`), the evidence reveal and the pages all
read it back. These TypedDicts name every key once, so mypy checks each reader and builder.

They describe JSON that is stored and signed: they never change its shape. Keys that certificates
issued before a feature lack are ``NotRequired`` and read with ``.get``:

- ``evidence_format`` (salted evidence commitments; absent means 1, whose evidence items carry
  ``sha256`` instead of ``indicators`` and ``commitment``),
- ``badge`` (the profile's badge image),
- ``standard.profile_competences`` (the profile's required competences: coverage).

Dates are ISO strings (``YYYY-MM-DD``; ``issued_at`` a full timestamp); enumerations are their
values (``kind`` a :class:`~certification.models.CertificateKind`, a learning context a
:class:`~certification.models.LearningContext`, ...), as stored.
"""

# No ``from __future__ import annotations`` here: TypedDict reads ``NotRequired`` from evaluated
# annotations only, and the tests check stored contents against ``__required_keys__``.
from typing import NotRequired, TypedDict


class Holder(TypedDict):
    given_name: str
    family_name: str
    codice_fiscale: str | None
    birth_date: str | None
    birth_place: str | None


class Ente(TypedDict):
    """The ente titolato that issues the certificate."""

    id: str
    legal_name: str
    short_name: str
    tax_code: str | None
    accreditation_number: str | None
    accreditation_register: str | None
    address: str | None
    city: str | None
    website: str | None


class Titolare(TypedDict):
    """The ente titolare (public authority) that accredited the ente."""

    id: str
    legal_name: str


class RequiredCompetence(TypedDict):
    """A competence a certificate of the whole profile holds (certificates.coverage)."""

    code: str
    title_it: str
    title_en: str


class Standard(TypedDict):
    """The reference standard: framework (QRSP) and profile, as at issuance."""

    framework_code: str
    framework_version: str
    framework_title_it: str
    framework_title_en: str
    legal_reference_it: str
    legal_reference_en: str
    valid_from: str | None
    profile_code: str
    profile_title_it: str
    profile_title_en: str
    eqf_level: int | None
    #: Absent on certificates issued before coverage was frozen: read the register's profile.
    profile_competences: NotRequired[list[RequiredCompetence]]


class Statement(TypedDict):
    """An abilità or conoscenza of a competence, in both languages."""

    it: str
    en: str


class Alignment(TypedDict):
    """A link of a competence to another framework (ESCO, EntreComp...), as in the catalogue."""

    framework: str
    code: str | None
    uri: NotRequired[str | None]
    #: ``{"it": ..., "en": ...}``, or absent.
    label: NotRequired[dict[str, str] | None]
    verify: NotRequired[bool]


class Level(TypedDict):
    """A level of a criterion's scale (from the case's frozen rubric)."""

    code: str
    label_it: str
    label_en: str
    passing: bool


class Criterion(TypedDict):
    code: str
    text_it: str
    text_en: str
    levels: list[Level]
    #: The level reached, None when the criterion was not rated.
    level: str | None


class Competence(TypedDict):
    """A certified competence (its outcome VALIDATA)."""

    code: str
    title_it: str
    title_en: str
    eqf_level: int | None
    ada_codes: list[str]
    alignments: list[Alignment]
    abilita: list[Statement]
    conoscenze: list[Statement]
    #: The lowest level reached on its criteria, None when none was rated.
    achieved_level: str | None
    criteria: list[Criterion]


class Experience(TypedDict):
    #: An :class:`~certification.models.ExperienceKind` value.
    kind: str
    host: str | None
    start: str | None
    end: str | None


class Learning(TypedDict):
    """Where and when the competences were learned."""

    #: :class:`~certification.models.LearningContext` values, sorted.
    contexts: list[str]
    experiences: list[Experience]
    start: str | None
    end: str | None


class PanelMember(TypedDict):
    name: str
    #: A :class:`~certification.models.PanelFunction` value.
    function: str


class Assessment(TypedDict):
    #: :class:`~certification.models.AssessmentMethod` values, sorted.
    methods: list[str]
    dates: list[str]
    decided_on: str
    panel: list[PanelMember]


class EvidenceItem(TypedDict):
    """An evidence item as the certificate states it. Format 2 (``evidence_format`` 2):
    ``indicators`` and the salted ``commitment`` (certificates.commitments); format 1 (older
    certificates): the plain ``sha256``."""

    #: An :class:`~certification.models.EvidenceType` value.
    type: str
    date: str | None
    indicators: NotRequired[list[str]]
    commitment: NotRequired[str]
    sha256: NotRequired[str]


class Signatory(TypedDict):
    name: str


class Badge(TypedDict):
    """The profile's badge (certificates.badges): a ``data:`` URI and its caption."""

    image: str
    caption: str


class HolderIdentifier(TypedDict):
    """An OB 3.0 IdentityObject: the salted hash of the holder's identifier."""

    type: str
    identityHash: str  # the OB 3.0 names, as stored
    identityType: str
    hashed: bool
    salt: str


class CertificateFacts(TypedDict):
    """What the certificate says of the case, computed at reservation (before it has a number)."""

    issued_at: str
    place: str | None
    case_protocol: str | None
    illustrative: bool
    #: A :class:`~certification.models.CertificateKind` value.
    kind: str
    holder: Holder
    ente: Ente
    titolare: Titolare | None
    standard: Standard
    competences: list[Competence]
    learning: Learning
    assessment: Assessment
    #: Absent on certificates issued before evidence commitments (read as 1).
    evidence_format: NotRequired[int]
    evidence: list[EvidenceItem]
    base_url: str


class PrintedContent(CertificateFacts):
    """What the PDF prints: the facts, the signatory and the number and code. A preview
    (``lifecycle.preview_content``) is one, with a placeholder number and code."""

    #: Absent on certificates issued before badges.
    badge: NotRequired[Badge]
    signatory: Signatory
    number: str
    verification_code: str
    #: The number of the certificate this one corrects.
    supersedes: str | None
    correction_note: str | None


class CertificateContent(PrintedContent):
    """``Certificate.content``: everything the PDF and the credential are made from."""

    holder_identifier: HolderIdentifier
    certificate_id: str
    status_index: int
    #: Never written so far; a certificate with it is no longer valid after that date.
    valid_until: NotRequired[str | None]

"""How much of its profile a certificate covers.

Lombardy certifies a whole profile or **single competences** of it (domain.md §3, §7.3): a
*certificazione di singole competenze* attests some of the profile's competences and must never
read as the profile. The profile's competences that count are its mandatory ones (all of them
when the profile marks none): a certificate holding every one of those is of the whole profile
(``profilo_completo``), any other is partial (``competenze_singole``).

Certificates issued since this module freeze the list in their content
(``standard.profile_competences``); older ones, signed as they are, take it from the register's
profile, so their pages and verification answers say "partial" too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from certification.certificates.content import CertificateFacts, RequiredCompetence
from certification.models import CertificateKind, Profile


def required_competences(profile: Profile) -> list[RequiredCompetence]:
    """The competences a certificate of the whole ``profile`` holds, as frozen in content."""
    links = [link for link in profile.competence_links if link.mandatory] or list(
        profile.competence_links
    )
    return [
        {
            "code": link.competence.code,
            "title_it": link.competence.title_it,
            "title_en": link.competence.title_en,
        }
        for link in links
    ]


def kind_for(required: Iterable[str], certified: Iterable[str]) -> CertificateKind:
    """Whole profile exactly when every required competence is certified (and some are)."""
    wanted = set(required)
    if wanted and wanted <= set(certified):
        return CertificateKind.PROFILO_COMPLETO
    return CertificateKind.COMPETENZE_SINGOLE


@dataclass(frozen=True)
class Coverage:
    """``covered`` of the profile's ``total`` required competences; ``missing`` lists the rest
    (code, title_it, title_en)."""

    partial: bool
    covered: int
    total: int
    missing: tuple[RequiredCompetence, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "partial": self.partial,
            "covered": self.covered,
            "total": self.total,
            "missing": [dict(m) for m in self.missing],
        }


def coverage(content: CertificateFacts, required: Sequence[RequiredCompetence]) -> Coverage:
    """The coverage of a certificate's signed ``content`` against the profile's ``required``
    competences (``content['standard']['profile_competences']`` when the content has them)."""
    certified = {c["code"] for c in content["competences"]}
    missing = tuple(c for c in required if c["code"] not in certified)
    return Coverage(
        partial=kind_for((c["code"] for c in required), certified)
        == CertificateKind.COMPETENZE_SINGOLE,
        covered=len(required) - len(missing),
        total=len(required),
        missing=missing,
    )


def frozen_required(content: CertificateFacts) -> list[RequiredCompetence] | None:
    """The required competences frozen in ``content``; None for certificates issued before."""
    listed = content["standard"].get("profile_competences")
    return None if listed is None else list(listed)

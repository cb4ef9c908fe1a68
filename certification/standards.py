"""Importing rubric files into the catalogue, and reading the catalogue.

A framework version, once imported, is immutable: importing the same content again changes
nothing, importing other content under the same code and version is refused
(:class:`RubricVersionConflict`) — a change needs a new version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from certification.audit.events import record_event
from certification.errors import NotFound, RubricInvalid, RubricVersionConflict
from certification.models import (
    Competence,
    CompetenceStatement,
    Criterion,
    Framework,
    Profile,
    ProfileCompetence,
    RubricLevel,
    UserAccount,
)

if TYPE_CHECKING:
    from rubrics import RubricFile


@dataclass(frozen=True)
class ImportResult:
    """What an import did: ``created`` False means this exact version was already there."""

    framework: Framework
    created: bool


def parse_rubric(text: str | bytes, source: str) -> RubricFile:
    """Validate rubric YAML, turning format problems into :class:`RubricInvalid`."""
    from rubrics import RubricFileError, load_rubric_text  # noqa: PLC0415 - heavy: marshmallow, imported when first used (startup time, issue 20)

    try:
        return load_rubric_text(text, source)
    except RubricFileError as exc:
        errors: dict[str, list[str]] = {}
        for path, message in exc.problems:
            errors.setdefault(path or "(file)", []).append(message)
        raise RubricInvalid(str(exc), errors=errors, source=source) from None


def import_rubric(
    session: Session, actor: UserAccount | None, rubric: RubricFile, now: dt.datetime
) -> ImportResult:
    """Publish a validated rubric file as an immutable framework version."""
    existing = session.scalar(
        select(Framework).where(Framework.code == rubric.code, Framework.version == rubric.version)
    )
    if existing is not None:
        if existing.content_sha256 == rubric.sha256:
            return ImportResult(existing, created=False)
        raise RubricVersionConflict(
            f"{rubric.code} {rubric.version} is published with other content",
            code=rubric.code,
            version=rubric.version,
        )
    content = rubric.content
    fw = content["framework"]
    framework = Framework(
        code=fw["code"],
        version=fw["version"],
        title_it=fw["title"]["it"],
        title_en=fw["title"]["en"],
        publisher_it=fw["publisher"]["it"],
        publisher_en=fw["publisher"]["en"],
        legal_reference_it=fw["legal_reference"]["it"],
        legal_reference_en=fw["legal_reference"]["en"],
        notice_it=(fw.get("notice") or {}).get("it"),
        notice_en=(fw.get("notice") or {}).get("en"),
        source_url=fw.get("source_url"),
        illustrative=fw["illustrative"],
        valid_from=dt.date.fromisoformat(fw["valid_from"]) if fw.get("valid_from") else None,
        content_sha256=rubric.sha256,
        content=content,
        source_name=rubric.source[-300:],
        imported_at=now,
        imported_by_id=actor.id if actor else None,
    )
    session.add(framework)
    scales = {s["code"]: s for s in content["scales"]}
    competences: dict[str, Competence] = {}
    for data in content["competences"]:
        competence = _competence(data, scales)
        framework.competences.append(competence)
        competences[data["code"]] = competence
    for data in content["profiles"]:
        profile = Profile(
            code=data["code"],
            title_it=data["title"]["it"],
            title_en=data["title"]["en"],
            description_it=data["description"]["it"],
            description_en=data["description"]["en"],
            eqf_level=data.get("eqf_level"),
            sep_code=data.get("sep_code"),
            illustrative=data["illustrative"] or fw["illustrative"],
            alignments=data["alignments"],
        )
        for position, link in enumerate(data["competences"]):
            profile.competence_links.append(
                ProfileCompetence(
                    competence=competences[link["code"]],
                    position=position,
                    mandatory=link["mandatory"],
                )
            )
        framework.profiles.append(profile)
    session.flush()
    record_event(
        session,
        actor,
        "rubric.imported",
        "framework",
        framework.id,
        now,
        code=framework.code,
        version=framework.version,
        sha256=framework.content_sha256,
    )
    return ImportResult(framework, created=True)


def _competence(data: dict[str, Any], scales: dict[str, dict[str, Any]]) -> Competence:
    competence = Competence(
        code=data["code"],
        title_it=data["title"]["it"],
        title_en=data["title"]["en"],
        description_it=data["description"]["it"],
        description_en=data["description"]["en"],
        eqf_level=data.get("eqf_level"),
        certifiable=data["certifiable"],
        ada_codes=data["ada_codes"],
        alignments=data["alignments"],
    )
    for kind, key in (("abilita", "abilita"), ("conoscenza", "conoscenze")):
        for position, text in enumerate(data[key]):
            competence.statements.append(
                CompetenceStatement(
                    kind=kind, position=position, text_it=text["it"], text_en=text["en"]
                )
            )
    for position, crit in enumerate(data["criteria"]):
        criterion = Criterion(
            code=crit["code"],
            position=position,
            text_it=crit["text"]["it"],
            text_en=crit["text"]["en"],
            expected_evidence=crit["expected_evidence"],
            scale_code=crit["scale"],
        )
        for level_position, level in enumerate(scales[crit["scale"]]["levels"]):
            criterion.levels.append(
                RubricLevel(
                    code=level["code"],
                    position=level_position,
                    label_it=level["label"]["it"],
                    label_en=level["label"]["en"],
                    descriptor_it=level["descriptor"]["it"],
                    descriptor_en=level["descriptor"]["en"],
                    passing=level["passing"],
                )
            )
        competence.criteria.append(criterion)
    return competence


# --- reading the catalogue --------------------------------------------------------------------


def list_frameworks(session: Session) -> list[Framework]:
    """Every published framework version, by code then version."""
    return list(session.scalars(select(Framework).order_by(Framework.code, Framework.version)))


def search_profiles(
    session: Session, *, text: str = "", eqf_level: int | None = None
) -> list[Profile]:
    """Profiles whose code, title or description (either language) contains ``text``,
    or that have a competence that does; optionally only those at ``eqf_level``."""
    query = select(Profile).join(Framework).options(selectinload(Profile.framework))
    words = [w for w in text.split() if w][:8]
    for word in words:
        pattern = f"%{_escape_like(word)}%"
        competence_match = (
            select(ProfileCompetence.profile_id)
            .join(Competence)
            .where(
                or_(
                    Competence.code.ilike(pattern, escape="\\"),
                    Competence.title_it.ilike(pattern, escape="\\"),
                    Competence.title_en.ilike(pattern, escape="\\"),
                )
            )
        )
        query = query.where(
            or_(
                Profile.code.ilike(pattern, escape="\\"),
                Profile.title_it.ilike(pattern, escape="\\"),
                Profile.title_en.ilike(pattern, escape="\\"),
                Profile.description_it.ilike(pattern, escape="\\"),
                Profile.description_en.ilike(pattern, escape="\\"),
                Profile.id.in_(competence_match),
            )
        )
    if eqf_level is not None:
        query = query.where(Profile.eqf_level == eqf_level)
    return list(session.scalars(query.order_by(Framework.code, Framework.version, Profile.code)))


def get_profile(session: Session, code: str, version: str, profile_code: str) -> Profile:
    """A profile of a framework version, with its competences loaded."""
    profile = session.scalar(
        select(Profile)
        .join(Framework)
        .where(Framework.code == code, Framework.version == version, Profile.code == profile_code)
        .options(selectinload(Profile.competence_links).selectinload(ProfileCompetence.competence))
    )
    if profile is None:
        raise NotFound("no such profile")
    return profile


def latest_profile(session: Session, profile_code: str) -> Profile:
    """The profile with this code in the most recently imported framework version that has
    one (what its public badge shows)."""
    profile = session.scalar(
        select(Profile)
        .join(Framework)
        .where(Profile.code == profile_code)
        .order_by(Framework.imported_at.desc(), Framework.version.desc())
        .limit(1)
    )
    if profile is None:
        raise NotFound("no such profile")
    return profile


def get_competence(session: Session, code: str, version: str, competence_code: str) -> Competence:
    """A competence of a framework version, with abilità, conoscenze, criteria and levels."""
    competence = session.scalar(
        select(Competence)
        .join(Framework)
        .where(
            Framework.code == code,
            Framework.version == version,
            Competence.code == competence_code,
        )
        .options(
            selectinload(Competence.statements),
            selectinload(Competence.criteria).selectinload(Criterion.levels),
            selectinload(Competence.profile_links).selectinload(ProfileCompetence.profile),
        )
    )
    if competence is None:
        raise NotFound("no such competence")
    return competence


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

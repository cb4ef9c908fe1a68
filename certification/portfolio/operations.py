"""Portfolio operations: experiences, evidence, mapping to criteria, self-assessment, comments.

Each operation checks that ``actor`` may change the person's portfolio (the owner, or the tutor
assigned to their case during identification) and that locked evidence stays as it is.

It is one module over 600 lines because every operation goes through the same edit right and
locking rule (:func:`_require_edit`, :class:`Locked`) on one person's records; the upload checks
that are a concept of their own are apart (:mod:`uploads`, :mod:`pdfscan`, :mod:`sandbox`,
:mod:`pool`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certification.audit.events import record_event
from certification.errors import Conflict, InvalidInput, NotFound, clean_text
from certification.models import (
    Competence,
    Criterion,
    Evidence,
    EvidenceLink,
    EvidenceType,
    Experience,
    ExperienceKind,
    LearningContext,
    Organisation,
    Person,
    PortfolioComment,
    PortfolioTarget,
    Profile,
    ProfileCompetence,
    SelfAssessment,
    StoredFile,
    UserAccount,
)
from certification.people.roles import OrganisationKind
from certification.policy import can_edit_portfolio
from certification.portfolio.uploads import CheckedFile, UploadRejected, check_upload
from certification.storage.blobs import BlobStorage

REFEREE_SALT = "attesta.referee-confirmation"


class FileCheck(Protocol):
    """Checks an uploaded file: what to store, or
    :class:`certification.portfolio.uploads.UploadRejected`."""

    def __call__(self, data: bytes, name: str, /, *, max_bytes: int) -> CheckedFile: ...


class Locked(Conflict):
    """Evidence listed in an issued Documento di trasparenza never changes."""

    code = "evidence_locked"


def _require_edit(session: Session, actor: UserAccount, person: Person) -> None:
    if not can_edit_portfolio(session, actor, person):
        raise NotFound("portfolio not found")


# --- experiences ------------------------------------------------------------------------------


@dataclass
class ExperienceInput:
    """What a person types about an experience."""

    kind: ExperienceKind
    learning_context: LearningContext
    role_title: str
    start_date: dt.date
    end_date: dt.date | None
    description: str
    host_organisation_id: uuid.UUID | None = None
    host_name: str | None = None
    hours_estimate: int | None = None
    referee_name: str | None = None
    referee_contact: str | None = None


def _apply_experience(
    session: Session, experience: Experience, data: ExperienceInput, now: dt.datetime
) -> None:
    errors: dict[str, list[str]] = {}
    if data.end_date is not None and data.end_date < data.start_date:
        errors["end_date"] = ["before_start"]
    if data.start_date > now.date():
        errors["start_date"] = ["in_future"]
    if data.start_date.year < 1950:
        errors["start_date"] = ["too_old"]
    if data.hours_estimate is not None and not 0 <= data.hours_estimate <= 20_000:
        errors["hours_estimate"] = ["hours_range"]
    host = None
    if data.host_organisation_id is not None:
        host = session.get(Organisation, data.host_organisation_id)
        if host is None or host.kind != OrganisationKind.HOST:
            errors["host_organisation_id"] = ["unknown_host"]
    if errors:
        raise InvalidInput("experience", errors=errors)
    experience.kind = data.kind
    experience.learning_context = data.learning_context
    experience.role_title = clean_text(data.role_title, "role_title", max_len=200)
    experience.description = clean_text(data.description, "description", max_len=5000)
    experience.start_date = data.start_date
    experience.end_date = data.end_date
    experience.hours_estimate = data.hours_estimate
    experience.host_organisation_id = host.id if host else None
    experience.host_name = (
        None
        if host
        else clean_text(data.host_name, "host_name", max_len=200, required=False) or None
    )
    experience.referee_name = (
        clean_text(data.referee_name, "referee_name", max_len=200, required=False) or None
    )
    experience.referee_contact = (
        clean_text(data.referee_contact, "referee_contact", max_len=254, required=False) or None
    )
    experience.updated_at = now


def create_experience(
    session: Session, actor: UserAccount, person: Person, data: ExperienceInput, now: dt.datetime
) -> Experience:
    """Record a new experience in ``person``'s portfolio."""
    _require_edit(session, actor, person)
    experience = Experience(person_id=person.id, created_at=now)
    _apply_experience(session, experience, data, now)
    session.add(experience)
    session.flush()
    record_event(session, actor, "experience.created", "experience", experience.id, now)
    return experience


def update_experience(
    session: Session,
    actor: UserAccount,
    experience: Experience,
    data: ExperienceInput,
    now: dt.datetime,
) -> None:
    """Change an experience (its evidence is not touched)."""
    _require_edit(session, actor, experience.person)
    _apply_experience(session, experience, data, now)
    record_event(session, actor, "experience.updated", "experience", experience.id, now)
    session.flush()


def delete_experience(
    session: Session, actor: UserAccount, experience: Experience, now: dt.datetime
) -> None:
    """Delete an experience and its evidence, unless some evidence is locked."""
    _require_edit(session, actor, experience.person)
    if any(e.locked_at for e in experience.evidence):
        raise Locked("experience has locked evidence")
    record_event(session, actor, "experience.deleted", "experience", experience.id, now)
    session.delete(experience)
    session.flush()


def get_experience(session: Session, person: Person, experience_id: uuid.UUID) -> Experience:
    """One experience of ``person`` (someone else's id is not found)."""
    experience = session.get(Experience, experience_id)
    if experience is None or experience.person_id != person.id:
        raise NotFound("experience not found")
    return experience


def experiences_of(session: Session, person: Person) -> list[Experience]:
    """The person's experiences, most recent first, with their evidence."""
    return list(
        session.scalars(
            select(Experience)
            .where(Experience.person_id == person.id)
            .options(selectinload(Experience.evidence).selectinload(Evidence.links))
            .order_by(Experience.start_date.desc(), Experience.created_at.desc())
        )
    )


def known_hosts(session: Session) -> list[Organisation]:
    """Host organisations a candidate can pick from."""
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.HOST)
            .order_by(Organisation.short_name)
        )
    )


# --- evidence ---------------------------------------------------------------------------------


def _new_evidence(
    actor: UserAccount,
    experience: Experience,
    type_: EvidenceType,
    title: str,
    description: str,
    issued_on: dt.date | None,
    now: dt.datetime,
) -> Evidence:
    if issued_on is not None and issued_on > now.date():
        raise InvalidInput("issued_on", errors={"issued_on": ["in_future"]})
    return Evidence(
        person_id=experience.person_id,
        experience_id=experience.id,
        type=type_,
        title=clean_text(title, "title", max_len=200),
        description=clean_text(description, "description", max_len=5000, required=False),
        issued_on=issued_on,
        created_at=now,
        created_by_id=actor.id,
    )


def _store(session: Session, actor: UserAccount, evidence: Evidence, now: dt.datetime) -> Evidence:
    session.add(evidence)
    session.flush()
    record_event(
        session,
        actor,
        "evidence.added",
        "evidence",
        evidence.id,
        now,
        type=evidence.type.value,
        sha256=evidence.file_sha256,
    )
    return evidence


def add_file_evidence(
    session: Session,
    storage: BlobStorage,
    actor: UserAccount,
    experience: Experience,
    *,
    type_: EvidenceType,
    title: str,
    description: str,
    issued_on: dt.date | None,
    data: bytes,
    filename: str,
    max_bytes: int,
    now: dt.datetime,
    check: FileCheck = check_upload,
) -> Evidence:
    """Add an uploaded file (checked, images re-encoded) as evidence of ``experience``.
    ``check`` is :func:`certification.portfolio.uploads.check_upload` or what runs it elsewhere
    (the web app's bounded pool of limited child processes,
    ``certification.portfolio.pool.UploadPool``)."""
    (evidence,) = add_file_evidences(
        session,
        storage,
        actor,
        experience,
        type_=type_,
        title=title,
        description=description,
        issued_on=issued_on,
        files=[(data, filename)],
        max_bytes=max_bytes,
        now=now,
        check=check,
    )
    return evidence


class BatchRejected(UploadRejected):
    """One or more files of an upload were refused, so none was stored. ``rejected`` lists
    ``(file name as sent, reason code)`` for each refused file."""

    def __init__(self, rejected: list[tuple[str, str]]) -> None:
        super().__init__(
            "upload rejected: " + ", ".join(reason for _name, reason in rejected),
            errors={"file": [reason for _name, reason in rejected]},
            reason=rejected[0][1],
        )
        self.rejected = rejected


MAX_FILES_PER_UPLOAD: Final = 10


def _batch_title(title: str, index: int, count: int) -> str:
    if count == 1:
        return title
    suffix = f" ({index}/{count})"
    return title.strip()[: 200 - len(suffix)] + suffix


def add_file_evidences(
    session: Session,
    storage: BlobStorage,
    actor: UserAccount,
    experience: Experience,
    *,
    type_: EvidenceType,
    title: str,
    description: str,
    issued_on: dt.date | None,
    files: Sequence[tuple[bytes, str]],
    max_bytes: int,
    now: dt.datetime,
    check: FileCheck = check_upload,
) -> list[Evidence]:
    """Add several uploaded files at once, each as its own evidence of ``experience`` (an
    evidence holds one file). All or nothing: every file is checked before any is stored, and
    one refused file (:class:`BatchRejected`, naming each refused file) stores none of them.
    With several files the titles are numbered: "Title (1/3)"."""
    _require_edit(session, actor, experience.person)
    if type_ not in {
        EvidenceType.DOCUMENTO_ATTESTAZIONE,
        EvidenceType.PRODOTTO,
        EvidenceType.FOTO_VIDEO,
    }:
        raise InvalidInput("type", errors={"type": ["invalid_choice"]})
    if not files:
        raise InvalidInput("file", errors={"file": ["required"]})
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise InvalidInput("file", errors={"file": ["too_many_files"]}, limit=MAX_FILES_PER_UPLOAD)
    count = len(files)
    drafts = [
        _new_evidence(
            actor, experience, type_, _batch_title(title, i, count), description, issued_on, now
        )
        for i in range(1, count + 1)
    ]
    checked: list[CheckedFile] = []
    rejected: list[tuple[str, str]] = []
    for data, filename in files:
        try:
            checked.append(check(data, filename, max_bytes=max_bytes))
        except UploadRejected as exc:
            rejected.append((filename, str(exc.params.get("reason", "type_not_allowed"))))
    if rejected:
        raise BatchRejected(rejected)
    added = []
    for evidence, good in zip(drafts, checked, strict=True):
        evidence.file_sha256 = store_file(session, storage, good.data, good.media_type, now)
        evidence.file_name = good.filename
        added.append(_store(session, actor, evidence, now))
    return added


def store_file(
    session: Session, storage: BlobStorage, data: bytes, media_type: str, now: dt.datetime
) -> str:
    """Store bytes content-addressed and record them (once) as a StoredFile; their sha256."""
    sha256 = storage.put(data)
    if session.get(StoredFile, sha256) is None:
        session.add(
            StoredFile(sha256=sha256, size=len(data), media_type=media_type, created_at=now)
        )
    return sha256


def check_url(url: str) -> str:
    """An http(s) URL without credentials, or :class:`InvalidInput`. Attesta never fetches it."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > 1000
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username
        or parts.password
        or any(c.isspace() for c in url)
    ):
        raise InvalidInput("url", errors={"url": ["bad_url"]})
    return url


def add_link_evidence(
    session: Session,
    actor: UserAccount,
    experience: Experience,
    *,
    title: str,
    description: str,
    issued_on: dt.date | None,
    url: str,
    now: dt.datetime,
) -> Evidence:
    """Add a link (a published product, an article, a page) as evidence."""
    _require_edit(session, actor, experience.person)
    evidence = _new_evidence(
        actor, experience, EvidenceType.LINK, title, description, issued_on, now
    )
    evidence.url = check_url(url)
    return _store(session, actor, evidence, now)


def add_testimonial(
    session: Session,
    actor: UserAccount,
    experience: Experience,
    *,
    title: str,
    text: str,
    referee_name: str,
    referee_email: str,
    issued_on: dt.date | None,
    now: dt.datetime,
) -> Evidence:
    """Add a referee's written testimonial; the referee confirms it by an e-mailed link."""
    _require_edit(session, actor, experience.person)
    evidence = _new_evidence(
        actor, experience, EvidenceType.TESTIMONIANZA_TERZI, title, "", issued_on, now
    )
    evidence.text = clean_text(text, "text", max_len=5000)
    evidence.referee_name = clean_text(referee_name, "referee_name", max_len=200)
    email = clean_text(referee_email, "referee_email", max_len=254).lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise InvalidInput("referee_email", errors={"referee_email": ["bad_email"]})
    evidence.referee_email = email
    return _store(session, actor, evidence, now)


def add_self_declaration(
    session: Session,
    actor: UserAccount,
    experience: Experience,
    *,
    title: str,
    text: str,
    accepted: bool,
    now: dt.datetime,
) -> Evidence:
    """Add a self-declaration (autodichiarazione, DPR 445/2000): the person vouches for facts,
    knowing that false statements carry penalties (artt. 75-76)."""
    _require_edit(session, actor, experience.person)
    if not accepted:
        raise InvalidInput("declaration", errors={"accepted": ["must_accept"]})
    evidence = _new_evidence(
        actor, experience, EvidenceType.AUTODICHIARAZIONE_DPR445, title, "", None, now
    )
    evidence.text = clean_text(text, "text", max_len=5000)
    evidence.declared_at = now
    return _store(session, actor, evidence, now)


def get_evidence(session: Session, person: Person, evidence_id: uuid.UUID) -> Evidence:
    """One piece of evidence of ``person``'s portfolio (another person's id is not found)."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.person_id != person.id:
        raise NotFound("evidence not found")
    return evidence


def delete_evidence(
    session: Session, actor: UserAccount, evidence: Evidence, now: dt.datetime
) -> None:
    """Delete evidence that no issued document lists."""
    _require_edit(session, actor, evidence.experience.person)
    if evidence.locked_at is not None:
        raise Locked("evidence is locked")
    record_event(session, actor, "evidence.deleted", "evidence", evidence.id, now)
    session.delete(evidence)
    session.flush()


def evidence_digest(evidence: Evidence) -> str:
    """The sha256 that identifies the evidence in documents: of the file, else of its content."""
    if evidence.file_sha256:
        return evidence.file_sha256
    content = evidence.url or evidence.text or ""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


# --- referee confirmation ---------------------------------------------------------------------


def _referee_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=REFEREE_SALT)


def make_referee_token(evidence: Evidence, secret_key: str) -> str:
    """A link token for the referee; it stops working if the testimonial text changes."""
    return _referee_serializer(secret_key).dumps(
        {"e": str(evidence.id), "d": evidence_digest(evidence)[:16]}
    )


def evidence_for_referee_token(
    session: Session, token: str, secret_key: str, max_age: dt.timedelta
) -> Evidence:
    """The testimonial a referee link is for; :class:`NotFound` if forged, expired or stale."""
    try:
        payload = _referee_serializer(secret_key).loads(token, max_age=int(max_age.total_seconds()))
        evidence = session.get(Evidence, uuid.UUID(payload["e"]))
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
        raise NotFound("referee link invalid") from None
    if (
        evidence is None
        or evidence.type != EvidenceType.TESTIMONIANZA_TERZI
        or not hmac.compare_digest(str(payload.get("d")), evidence_digest(evidence)[:16])
    ):
        raise NotFound("referee link invalid")
    return evidence


def answer_testimonial(
    session: Session, evidence: Evidence, *, confirm: bool, now: dt.datetime
) -> None:
    """The referee confirms (or declines) the testimonial attributed to them."""
    if evidence.referee_confirmed_at or evidence.referee_declined_at:
        raise Conflict("already answered")
    if confirm:
        evidence.referee_confirmed_at = now
    else:
        evidence.referee_declined_at = now
    record_event(
        session,
        None,
        "testimonial.confirmed" if confirm else "testimonial.declined",
        "evidence",
        evidence.id,
        now,
    )
    session.flush()


# --- mapping to competences and criteria --------------------------------------------------------


def link_evidence(
    session: Session,
    actor: UserAccount,
    evidence: Evidence,
    competence: Competence,
    criterion: Criterion | None,
    note: str,
    now: dt.datetime,
) -> EvidenceLink:
    """Map evidence to a competence (and one of its criteria), saying why it shows it."""
    _require_edit(session, actor, evidence.experience.person)
    if evidence.locked_at is not None:
        raise Locked("evidence is locked")
    if criterion is not None and criterion.competence_id != competence.id:
        raise InvalidInput("criterion", errors={"criterion_id": ["invalid_choice"]})
    duplicate = session.scalar(
        select(EvidenceLink).where(
            EvidenceLink.evidence_id == evidence.id,
            EvidenceLink.competence_id == competence.id,
            EvidenceLink.criterion_id.is_(None)
            if criterion is None
            else EvidenceLink.criterion_id == criterion.id,
        )
    )
    if duplicate is not None:
        raise InvalidInput("already linked", errors={"criterion_id": ["already_linked"]})
    link = EvidenceLink(
        evidence=evidence,
        competence_id=competence.id,
        criterion_id=criterion.id if criterion else None,
        note=clean_text(note, "note", max_len=1000, required=False),
        created_at=now,
    )
    session.add(link)
    session.flush()
    record_event(
        session,
        actor,
        "evidence.linked",
        "evidence",
        evidence.id,
        now,
        competence=competence.code,
        criterion=criterion.code if criterion else None,
    )
    return link


@dataclass(frozen=True)
class LinkTarget:
    """A competence of a profile, and one of its criteria (``None``: the competence as a
    whole), as a form names it: ``"<competence id>:<criterion id or nothing>"``."""

    competence: Competence
    criterion: Criterion | None

    @property
    def key(self) -> str:
        return f"{self.competence.id}:{self.criterion.id if self.criterion else ''}"


def link_targets(profile: Profile) -> list[LinkTarget]:
    """Everything of ``profile`` evidence can be linked to, competence by competence: the
    competence as a whole, then each of its criteria."""
    targets = []
    for pc in profile.competence_links:
        targets.append(LinkTarget(pc.competence, None))
        targets.extend(LinkTarget(pc.competence, c) for c in pc.competence.criteria)
    return targets


def linked_keys(evidence: Evidence) -> set[str]:
    """The targets ``evidence`` is linked to already, as :attr:`LinkTarget.key`."""
    return {f"{lk.competence_id}:{lk.criterion_id or ''}" for lk in evidence.links}


def link_evidence_to_many(
    session: Session,
    actor: UserAccount,
    evidence: Evidence,
    profile: Profile,
    keys: Sequence[str],
    note: str,
    now: dt.datetime,
) -> list[EvidenceLink]:
    """Link ``evidence`` to several competences or criteria of ``profile`` at once (``keys``
    as :attr:`LinkTarget.key`), with one note. All or nothing: an unknown target, one the
    evidence is linked to already, or none at all, and no link is made."""
    _require_edit(session, actor, evidence.experience.person)
    if evidence.locked_at is not None:
        raise Locked("evidence is locked")
    by_key = {t.key: t for t in link_targets(profile)}
    chosen = list(dict.fromkeys(keys))
    if not chosen:
        raise InvalidInput("no target", errors={"targets": ["choose_a_criterion"]})
    if any(k not in by_key for k in chosen):
        raise InvalidInput("unknown target", errors={"targets": ["invalid_choice"]})
    if linked_keys(evidence) & set(chosen):
        raise InvalidInput("already linked", errors={"targets": ["already_linked"]})
    clean_note = clean_text(note, "note", max_len=1000, required=False)
    return [
        link_evidence(
            session,
            actor,
            evidence,
            by_key[k].competence,
            by_key[k].criterion,
            clean_note,
            now,
        )
        for k in chosen
    ]


def unlink_evidence(
    session: Session,
    actor: UserAccount,
    evidence: Evidence,
    link_id: uuid.UUID,
    now: dt.datetime,
) -> None:
    """Remove a mapping of unlocked evidence."""
    _require_edit(session, actor, evidence.experience.person)
    if evidence.locked_at is not None:
        raise Locked("evidence is locked")
    link = next((lk for lk in evidence.links if lk.id == link_id), None)
    if link is None:
        raise NotFound("link not found")
    evidence.links.remove(link)
    session.flush()
    record_event(session, actor, "evidence.unlinked", "evidence", evidence.id, now)


@dataclass
class CriterionCoverage:
    criterion: Criterion
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class CompetenceCoverage:
    """For one competence: evidence per criterion, evidence for the competence as a whole,
    and the person's self-assessment."""

    competence: Competence
    mandatory: bool
    criteria: list[CriterionCoverage]
    general: list[Evidence]
    self_assessment: SelfAssessment | None

    @property
    def covered(self) -> int:
        return sum(1 for c in self.criteria if c.evidence)

    @property
    def has_evidence(self) -> bool:
        return bool(self.general) or self.covered > 0


def coverage(session: Session, person: Person, profile: Profile) -> list[CompetenceCoverage]:
    """Which criteria of ``profile`` the person's evidence covers, competence by competence."""
    links = session.scalars(
        select(EvidenceLink)
        .join(Evidence)
        .where(Evidence.person_id == person.id)
        .options(selectinload(EvidenceLink.evidence))
    ).all()
    assessments = {
        a.competence_id: a
        for a in session.scalars(
            select(SelfAssessment).where(SelfAssessment.person_id == person.id)
        )
    }
    result = []
    for pc in profile.competence_links:
        competence = pc.competence
        per_criterion = {c.id: CriterionCoverage(c) for c in competence.criteria}
        general: list[Evidence] = []
        for link in links:
            if link.competence_id != competence.id:
                continue
            if link.criterion_id in per_criterion:
                per_criterion[link.criterion_id].evidence.append(link.evidence)
            elif link.criterion_id is None:
                general.append(link.evidence)
        result.append(
            CompetenceCoverage(
                competence,
                pc.mandatory,
                list(per_criterion.values()),
                general,
                assessments.get(competence.id),
            )
        )
    return result


def target_profile(session: Session, person: Person) -> Profile | None:
    """The profile the person last chose to map their evidence to."""
    target = session.get(PortfolioTarget, person.id)
    return target.profile if target else None


def set_target_profile(
    session: Session, actor: UserAccount, person: Person, profile: Profile
) -> None:
    """Remember which profile the person maps their evidence to."""
    _require_edit(session, actor, person)
    target = session.get(PortfolioTarget, person.id)
    if target is None:
        session.add(PortfolioTarget(person_id=person.id, profile_id=profile.id))
    else:
        target.profile_id = profile.id
    session.flush()


def set_self_assessment(
    session: Session,
    actor: UserAccount,
    person: Person,
    competence: Competence,
    level_code: str,
    note: str,
    now: dt.datetime,
) -> SelfAssessment:
    """The person rates themselves on the competence's scale (only the owner does this)."""
    if actor.person_id != person.id:
        raise NotFound("portfolio not found")
    levels = {lvl.code for crit in competence.criteria for lvl in crit.levels}
    if level_code not in levels:
        raise InvalidInput("level", errors={"level_code": ["invalid_choice"]})
    assessment = session.get(SelfAssessment, (person.id, competence.id))
    if assessment is None:
        assessment = SelfAssessment(
            person_id=person.id, competence_id=competence.id, level_code=level_code, updated_at=now
        )
        session.add(assessment)
    assessment.level_code = level_code
    assessment.note = clean_text(note, "note", max_len=2000, required=False)
    assessment.updated_at = now
    session.flush()
    return assessment


def profile_competences(profile: Profile) -> list[ProfileCompetence]:
    """The profile's competences in order."""
    return list(profile.competence_links)


# --- comments ---------------------------------------------------------------------------------


def add_comment(
    session: Session,
    actor: UserAccount,
    person: Person,
    body: str,
    now: dt.datetime,
    experience: Experience | None = None,
) -> PortfolioComment:
    """A comment on the portfolio (or one experience) by the owner or the assigned tutor."""
    _require_edit(session, actor, person)
    if experience is not None and experience.person_id != person.id:
        raise NotFound("experience not found")
    comment = PortfolioComment(
        person_id=person.id,
        experience_id=experience.id if experience else None,
        author_id=actor.id,
        body=clean_text(body, "body", max_len=4000),
        created_at=now,
    )
    session.add(comment)
    session.flush()
    return comment


def comments_of(session: Session, person: Person) -> list[PortfolioComment]:
    """Comments on the person's portfolio, oldest first."""
    return list(
        session.scalars(
            select(PortfolioComment)
            .where(PortfolioComment.person_id == person.id)
            .order_by(PortfolioComment.created_at)
        )
    )

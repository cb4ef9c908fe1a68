"""Translated names of the domain's enumerations, for pages and e-mails.

The enumerations that documents and certificates print too (experience kinds, learning contexts,
evidence types, assessment methods, outcomes, panel functions) take their words from
:mod:`certification.vocabulary`, their one source in both languages, shown in the page's
language with the first letter capitalised (:func:`_page_label`); the others are message ids of
the gettext catalogue (``app/translations``).
"""

from __future__ import annotations

from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import current_language
from certification import vocabulary
from certification.cases.candidate_path import Stage
from certification.cases.states import CaseStatus
from certification.cases.worklist import StateGroup, Task
from certification.models import (
    AssessmentMethod,
    CardStatus,
    CertificateStatus,
    ConventionCategory,
    DocumentKind,
    EligibilityBasis,
    EvidenceType,
    ExperienceKind,
    LearningContext,
    Outcome,
    PanelFunction,
)
from certification.people.roles import OrganisationKind, Role
from certification.people.staff import StaffMatter
from certification.vocabulary import Label

ROLE_LABELS: dict[Role, Any] = {
    Role.OPERATORE_ACCOGLIENZA: _l("Reception operator (operatore accoglienza)"),
    Role.TUTOR: _l("Tutor"),
    Role.CERTIFICATORE: _l("Certifier (esperto di valutazione)"),
    Role.ASSESSOR: _l("Assessor (esperto di settore)"),
    Role.SIGNATORY: _l("Signatory"),
    Role.ADMIN: _l("Administrator"),
    Role.REGION_SUPERVISOR: _l("Regional supervisor"),
    Role.PARTNER: _l("Partner business staff"),
}

ORGANISATION_KIND_LABELS: dict[OrganisationKind, Any] = {
    OrganisationKind.ENTE_TITOLARE: _l("Ente titolare (public authority)"),
    OrganisationKind.ENTE_TITOLATO: _l("Ente titolato (accredited body)"),
    OrganisationKind.HOST: _l("Host organisation"),
    OrganisationKind.PARTNER_BUSINESS: _l("Partner business"),
}


def _capitalised(words: str) -> str:
    return words[:1].upper() + words[1:]


def _page_label(label: Label) -> Any:
    """A vocabulary label, lazily in the page's language, its first letter capitalised."""
    return LazyString(lambda: _capitalised(label.in_language(current_language())))


EXPERIENCE_KIND_LABELS: dict[ExperienceKind, Any] = {
    member: _page_label(label) for member, label in vocabulary.EXPERIENCE_KINDS.items()
}
LEARNING_CONTEXT_LABELS: dict[LearningContext, Any] = {
    member: _page_label(label) for member, label in vocabulary.LEARNING_CONTEXTS.items()
}
#: The kinds of the candidate's evidence (``Evidence.type``).
EVIDENCE_TYPE_LABELS: dict[EvidenceType, Any] = {
    member: _page_label(label) for member, label in vocabulary.EVIDENCE_TYPES.items()
}
METHOD_LABELS: dict[AssessmentMethod, Any] = {
    member: _page_label(label) for member, label in vocabulary.ASSESSMENT_METHODS.items()
}
OUTCOME_LABELS: dict[Outcome, Any] = {
    member: _page_label(label) for member, label in vocabulary.OUTCOMES.items()
}
PANEL_FUNCTION_LABELS: dict[PanelFunction, Any] = {
    member: _page_label(label) for member, label in vocabulary.PANEL_FUNCTIONS.items()
}

#: The evidence a rubric's criterion expects (``expected_evidence``, rubrics.schema.EVIDENCE_TYPES):
#: the catalogue's words, not the kinds of a candidate's evidence.
EXPECTED_EVIDENCE_LABELS: dict[str, Any] = {
    "DOCUMENTO": _l("document"),
    "TESTIMONIANZA": _l("testimonial"),
    "PRODOTTO": _l("product"),
    "OSSERVAZIONE": _l("observation"),
    "COLLOQUIO": _l("interview"),
}

CASE_STATUS_LABELS: dict[CaseStatus, Any] = {
    CaseStatus.DRAFT: _l("Draft"),
    CaseStatus.SUBMITTED: _l("Submitted"),
    CaseStatus.IN_ACCOGLIENZA: _l("At reception"),
    CaseStatus.NOT_ADMITTED: _l("Not admitted"),
    CaseStatus.IDENTIFICATION: _l("Identification with the tutor"),
    CaseStatus.TRANSPARENCY_ISSUED: _l("Documento di trasparenza issued"),
    CaseStatus.CLOSED_TRANSPARENCY_ONLY: _l("Closed after the Documento di trasparenza"),
    CaseStatus.DOSSIER_REVIEW: _l("Dossier review"),
    CaseStatus.INTEGRATION_REQUESTED: _l("More evidence requested"),
    CaseStatus.NOT_ADMITTED_TO_ASSESSMENT: _l("Not admitted to assessment"),
    CaseStatus.ASSESSMENT_SCHEDULED: _l("Assessment scheduled"),
    CaseStatus.ASSESSMENT_IN_PROGRESS: _l("Assessment in progress"),
    CaseStatus.ASSESSED: _l("Assessed"),
    CaseStatus.VALIDATED_FULL: _l("Fully validated"),
    CaseStatus.VALIDATED_PARTIAL: _l("Partly validated"),
    CaseStatus.NOT_VALIDATED: _l("Not validated"),
    CaseStatus.VALIDATION_ISSUED: _l("Documento di validazione issued"),
    CaseStatus.CERTIFICATION: _l("Certification"),
    CaseStatus.CERTIFIED: _l("Certified"),
    CaseStatus.CERTIFICATE_ISSUED: _l("Certificate issued"),
    CaseStatus.CLOSED: _l("Closed"),
    CaseStatus.APPEAL_PENDING: _l("Appeal pending"),
    CaseStatus.WITHDRAWN: _l("Withdrawn"),
    CaseStatus.SUSPENDED_INACTIVE: _l("Suspended for inactivity"),
    CaseStatus.CANCELLED: _l("Cancelled"),
}

EVENT_LABELS: dict[str, Any] = {
    "submit": _l("Application submitted"),
    "take_charge": _l("Taken in charge by reception"),
    "reject": _l("Not admitted"),
    "admit": _l("Admitted, tutor assigned"),
    "issue_transparency": _l("Documento di trasparenza issued"),
    "stop": _l("Ended after the Documento di trasparenza"),
    "withdraw": _l("Withdrawn by the candidate"),
    "request_validation": _l("Validation requested: the rubric is frozen"),
    "request_integration": _l("More evidence requested"),
    "resubmit": _l("Completed dossier sent back"),
    "dossier_insufficient": _l("Dossier declared insufficient"),
    "plan_assessment": _l("Assessment planned"),
    "open_session": _l("Assessment session opened"),
    "record_outcomes": _l("Outcomes recorded"),
    "validate_full": _l("Result: all competences validated"),
    "validate_partial": _l("Result: some competences validated"),
    "not_validate": _l("Result: no competence validated"),
    "issue_validation_doc": _l("Documento di validazione issued"),
    "start_certification": _l("Certification started"),
    "certify": _l("Certification confirmed"),
    "issue_certificate": _l("Certificate issued and sealed"),
    "close": _l("Closed: the certificate is registered"),
    "file_appeal": _l("Request for review filed"),
    "uphold_appeal": _l("Request for review upheld: new assessment"),
    "reject_appeal": _l("Request for review rejected"),
    "suspend": _l("Suspended for inactivity"),
    "reactivate": _l("Reactivated"),
    "cancel": _l("Cancelled by the ente"),
}

REJECTION_REASON_LABELS: dict[str, Any] = {
    "not_in_repertory": _l("The competences are not in the regional repertory"),
    "regulated_profession": _l("Regulated or enabling profession: not certifiable this way"),
    "no_relevant_experience": _l("No relevant experience for the competences requested"),
    "not_resident": _l("Not within the region's remit"),
    "incomplete_application": _l("The application is incomplete"),
    "other": _l("Other (explained in the note)"),
}

DOCUMENT_KIND_LABELS: dict[DocumentKind, Any] = {
    DocumentKind.DOMANDA: _l("Application receipt"),
    DocumentKind.DOCUMENTO_TRASPARENZA: _l("Documento di trasparenza"),
    DocumentKind.VERBALE: _l("Assessment record (verbale)"),
    DocumentKind.DOCUMENTO_VALIDAZIONE: _l("Documento di validazione"),
}

CERTIFICATE_STATUS_LABELS: dict[CertificateStatus, Any] = {
    CertificateStatus.PENDING: _l("Being issued"),
    CertificateStatus.ISSUED: _l("Valid"),
    CertificateStatus.SUSPENDED: _l("Suspended (under review)"),
    CertificateStatus.REVOKED: _l("Revoked"),
    CertificateStatus.SUPERSEDED: _l("Replaced by a correction"),
    CertificateStatus.ABANDONED: _l("Not issued"),
}


CARD_STATUS_LABELS: dict[CardStatus, Any] = {
    CardStatus.REQUESTED: _l("Requested (being checked)"),
    CardStatus.ACTIVE: _l("Active"),
    CardStatus.SUSPENDED: _l("Suspended"),
    CardStatus.REVOKED: _l("Revoked"),
    CardStatus.EXPIRED: _l("Expired"),
}

ELIGIBILITY_LABELS: dict[EligibilityBasis, Any] = {
    EligibilityBasis.CERTIFICATE: _l("A certificate issued in the programme"),
    EligibilityBasis.PROGRAMME_ENROLMENT: _l("Enrolment in the programme"),
    EligibilityBasis.STARTUP_REGISTERED: _l("A registered start-up"),
}

CONVENTION_CATEGORY_LABELS: dict[ConventionCategory, Any] = {
    ConventionCategory.PRINTING: _l("Printing"),
    ConventionCategory.OFFICE_SUPPLIES: _l("Office supplies"),
    ConventionCategory.TELEPHONY: _l("Landline and mobile phones"),
    ConventionCategory.INSURANCE: _l("Insurance"),
    ConventionCategory.ACCOUNTING: _l("Accountants"),
    ConventionCategory.LABOUR_CONSULTING: _l("Labour consultants"),
    ConventionCategory.LEGAL: _l("Lawyers"),
    ConventionCategory.HARDWARE: _l("Hardware"),
    ConventionCategory.SOFTWARE: _l("Software"),
    ConventionCategory.VEHICLES: _l("Vehicles"),
    ConventionCategory.WEB_DOMAINS: _l("Web domains and hosting"),
    ConventionCategory.TECHNOLOGY_SERVICES: _l("Technology services"),
    ConventionCategory.COWORKING: _l("Co-working spaces"),
    ConventionCategory.OTHER: _l("Other"),
}

CARD_REASON_LABELS: dict[str, Any] = {
    "abuse_report": _l("Report of misuse"),
    "not_eligible": _l("Not eligible"),
    "abuse": _l("Misuse"),
    "holder_request": _l("The holder asked for it"),
    "basis_revoked": _l("The certificate it rests on was revoked"),
    "other": _l("Other"),
}

CARD_CHANGE_LABELS: dict[str, Any] = {
    "activated": _l("Activate (eligibility checked)"),
    "suspended": _l("Suspend"),
    "reinstated": _l("Reinstate"),
    "revoked": _l("Revoke"),
    "renewed": _l("Renew for another period"),
}

#: What the counter page says for each reason a card is not valid (certification.cards).
CARD_CHECK_LABELS: dict[str, Any] = {
    "valid": _l("The card is active and within its validity."),
    "unreadable": _l("This is not a talent-card code: scan the QR code on the back again."),
    "unknown_key": _l("This code was not signed by a body of the programme."),
    "bad_signature": _l("This code has been altered: it is not the one printed on a card."),
    "key_compromised": _l("This card was signed with a key that is no longer trusted."),
    "unknown_card": _l("There is no card with this code or number."),
    "outdated": _l("This is an old copy of the card: the holder has a newer one."),
    "mistyped": _l("This number is not written correctly: check it and type it again."),
    "not_active": _l("The card has not been activated yet."),
    "not_yet_valid": _l("The card is not valid yet."),
    "expired": _l("The card has expired."),
    "suspended": _l("The card is not valid."),
    "revoked": _l("The card is not valid."),
}


def certificate_name(profile_title: str, coverage: Any) -> str:
    """A certificate's name for people: the profile's title, and for a certification of single
    competences (``coverage.partial``, certification.certificates.coverage) how many of the
    profile's it holds, so that it never reads as the whole profile."""
    if not coverage.partial:
        return profile_title
    return _(
        "%(profile)s — single competences (%(covered)s of %(total)s)",
        profile=profile_title,
        covered=coverage.covered,
        total=coverage.total,
    )


TASK_LABELS: dict[Task, Any] = {
    Task.TAKE_CHARGE: _l("To take in charge"),
    Task.ADMISSION: _l("Admission to decide"),
    Task.TRANSPARENCY: _l("Identification and Documento di trasparenza"),
    Task.INTEGRATION: _l("Integration of the dossier"),
    Task.REVIEW: _l("Dossier review and planning"),
    Task.OPEN_SESSION: _l("Assessment session to open"),
    Task.RATE: _l("Criteria to rate"),
    Task.OUTCOMES: _l("Outcomes to record"),
    Task.APPEAL: _l("Appeal to decide"),
    Task.START_CERTIFICATION: _l("Certification to start"),
    Task.CERTIFY: _l("Certification to confirm"),
    Task.ISSUE_CERTIFICATE: _l("Certificate to issue"),
}

STAFF_MATTER_LABELS: dict[StaffMatter, Any] = {
    StaffMatter.INVITATION_PENDING: _l("invitation not accepted yet"),
    StaffMatter.INVITATION_EXPIRED: _l("invitation link expired"),
    StaffMatter.NO_SECOND_FACTOR: _l("no second factor yet"),
}

STATE_GROUP_LABELS: dict[StateGroup, Any] = {
    StateGroup.INTAKE: _l("Intake"),
    StateGroup.IDENTIFICATION: _l("Identification"),
    StateGroup.ASSESSMENT: _l("Review and assessment"),
    StateGroup.OUTCOME: _l("Outcome"),
    StateGroup.CERTIFICATION: _l("Certification"),
    StateGroup.SUSPENDED: _l("Suspended"),
    StateGroup.CLOSED: _l("Closed"),
}


#: The stages of the IVC path, as the candidate's home shows them
#: (certification.cases.candidate_path).
STAGE_LABELS: dict[Stage, Any] = {
    Stage.DOMANDA: _l("Application"),
    Stage.ACCOGLIENZA: _l("Reception"),
    Stage.IDENTIFICAZIONE: _l("Identification"),
    Stage.VALIDAZIONE: _l("Validation"),
    Stage.CERTIFICAZIONE: _l("Certification"),
}

#: What happens next, told to the candidate, for each state of their application.
CANDIDATE_NEXT: dict[CaseStatus, Any] = {
    CaseStatus.DRAFT: _l("complete your portfolio, link evidence to the competences and submit."),
    CaseStatus.SUBMITTED: _l("the accredited body takes your application in charge."),
    CaseStatus.IN_ACCOGLIENZA: _l("the reception operator checks that the application can go on."),
    CaseStatus.NOT_ADMITTED: _l("the application was not admitted: the reasons are on its page."),
    CaseStatus.IDENTIFICATION: _l(
        "with your tutor, describe your experiences and evidence; the tutor then issues the "
        "Documento di trasparenza."
    ),
    CaseStatus.TRANSPARENCY_ISSUED: _l(
        "ask for the validation of your competences from the application's page, or stop here "
        "with the Documento di trasparenza."
    ),
    CaseStatus.CLOSED_TRANSPARENCY_ONLY: _l("the path ended with the Documento di trasparenza."),
    CaseStatus.DOSSIER_REVIEW: _l("the certifier reviews your dossier and plans the assessment."),
    CaseStatus.INTEGRATION_REQUESTED: _l(
        "add the evidence the certifier asked for, then send the dossier back."
    ),
    CaseStatus.NOT_ADMITTED_TO_ASSESSMENT: _l(
        "the dossier was not admitted to the assessment: you may ask for a review."
    ),
    CaseStatus.ASSESSMENT_SCHEDULED: _l("come to the assessment: the convocation is below."),
    CaseStatus.ASSESSMENT_IN_PROGRESS: _l("the panel is assessing your competences."),
    CaseStatus.ASSESSED: _l("the panel is recording the outcome."),
    CaseStatus.VALIDATED_FULL: _l("every competence was validated: certification follows."),
    CaseStatus.VALIDATED_PARTIAL: _l(
        "some competences were validated: choose to certify them, or ask for a review."
    ),
    CaseStatus.NOT_VALIDATED: _l(
        "no competence was validated: read the feedback, and ask for a review if you disagree."
    ),
    CaseStatus.VALIDATION_ISSUED: _l("the Documento di validazione is issued."),
    CaseStatus.CERTIFICATION: _l("the certifier confirms the certification."),
    CaseStatus.CERTIFIED: _l("the signatory issues and seals your certificate."),
    CaseStatus.CERTIFICATE_ISSUED: _l(
        "your certificate is issued: find it under your certificates."
    ),
    CaseStatus.CLOSED: _l("the application is closed."),
    CaseStatus.APPEAL_PENDING: _l("your request for review is being decided by a new panel."),
    CaseStatus.WITHDRAWN: _l("you withdrew the application."),
    CaseStatus.SUSPENDED_INACTIVE: _l(
        "the application was suspended for inactivity: contact the accredited body to resume it."
    ),
    CaseStatus.CANCELLED: _l("the accredited body cancelled the application."),
}


def register(app: Any) -> None:
    app.jinja_env.globals.update(
        STAGE_LABELS=STAGE_LABELS,
        CANDIDATE_NEXT=CANDIDATE_NEXT,
        certificate_name=certificate_name,
        CARD_STATUS_LABELS=CARD_STATUS_LABELS,
        ELIGIBILITY_LABELS=ELIGIBILITY_LABELS,
        CONVENTION_CATEGORY_LABELS=CONVENTION_CATEGORY_LABELS,
        CARD_REASON_LABELS=CARD_REASON_LABELS,
        CARD_CHANGE_LABELS=CARD_CHANGE_LABELS,
        CARD_CHECK_LABELS=CARD_CHECK_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        TASK_LABELS=TASK_LABELS,
        STAFF_MATTER_LABELS=STAFF_MATTER_LABELS,
        STATE_GROUP_LABELS=STATE_GROUP_LABELS,
        ORGANISATION_KIND_LABELS=ORGANISATION_KIND_LABELS,
        EXPECTED_EVIDENCE_LABELS=EXPECTED_EVIDENCE_LABELS,
        EXPERIENCE_KIND_LABELS=EXPERIENCE_KIND_LABELS,
        LEARNING_CONTEXT_LABELS=LEARNING_CONTEXT_LABELS,
        EVIDENCE_TYPE_LABELS=EVIDENCE_TYPE_LABELS,
        CASE_STATUS_LABELS=CASE_STATUS_LABELS,
        EVENT_LABELS=EVENT_LABELS,
        REJECTION_REASON_LABELS=REJECTION_REASON_LABELS,
        DOCUMENT_KIND_LABELS=DOCUMENT_KIND_LABELS,
        METHOD_LABELS=METHOD_LABELS,
        OUTCOME_LABELS=OUTCOME_LABELS,
        PANEL_FUNCTION_LABELS=PANEL_FUNCTION_LABELS,
        CERTIFICATE_STATUS_LABELS=CERTIFICATE_STATUS_LABELS,
        VERDICT_LABELS=VERDICT_LABELS,
        VERIFICATION_QUESTIONS=VERIFICATION_QUESTIONS,
        VERIFICATION_STATES=VERIFICATION_STATES,
    )


# --- verification (certification.verification.checks) ----------------------------------------

VERDICT_LABELS: dict[str, Any] = {
    "valid": _l("Valid"),
    "not_valid": _l("Not valid"),
    "indeterminate": _l("Cannot be determined now"),
}

VERIFICATION_QUESTIONS: dict[str, Any] = {
    "found": _l("In the register"),
    "signature": _l("Seal and issuer"),
    "identical": _l("Identical to what was issued"),
    "status": _l("Status"),
    "validity": _l("Validity period"),
}

#: What each dimension's state means, in one sentence for the verifier.
VERIFICATION_STATES: dict[str, Any] = {
    "found": _l("The certificate is in the register of issued certificates."),
    "not_found": _l("No certificate issued by Attesta matches what you submitted."),
    "mistyped": _l(
        "The code looks mistyped: its last character does not match the others, so it was "
        "not looked up. Compare it, group by group, with the printed code."
    ),
    "not_checked": _l("Not checked: an earlier check failed."),
    "valid": _l(
        "Sealed by the accredited body with its own key, active and trusted when it signed."
    ),
    "untrusted_issuer": _l(
        "The seal or signature was not made with a key of the issuing body: it may imitate "
        "its name, but it is not its key."
    ),
    "invalid_signature": _l(
        "The seal or signature is broken: the content was changed after it was made."
    ),
    "modified_after_sealing": _l(
        "Something was added to the file after it was sealed (an update, extra data)."
    ),
    "extra_signature": _l(
        "The file carries more than one signature: someone added one after issuance."
    ),
    "no_seal": _l("The file carries no seal."),
    "no_signature": _l("The credential carries no signature (proof)."),
    "no_credential": _l("The sealed file does not contain the certificate's credential."),
    "key_compromised": _l(
        "The key that signed it was reported compromised before the date of signature."
    ),
    "key_not_active": _l("The key that signed it was not active on the date of signature."),
    "seal_expired": _l(
        "Sealed with the issuing body's seal, but its seal certificate has expired and nothing "
        "proves the seal was made before it expired. Check the certificate by the code printed "
        "on it."
    ),
    "malformed": _l("The file is damaged, encrypted or not in a format we can check."),
    "too_large": _l("The file is larger than a certificate can be (10 MB at most)."),
    "not_a_pdf": _l("This is not a PDF file."),
    "unsupported_file": _l(
        "Upload the certificate PDF or its credential file (JSON); other files cannot be checked."
    ),
    "busy": _l("The check is busy right now. Try again in a minute."),
    "identical": _l("The file is exactly the one issued: not a byte changed."),
    "modified": _l(
        "The file differs from the one issued. Ask the holder for the original, or check the "
        "certificate by the code printed on it."
    ),
    "register_record": _l("Checked against the register's own record."),
    "unavailable": _l("The issued copy cannot be read right now. Try again later."),
    "active": _l("Valid: not revoked, not suspended."),
    "revoked": _l("Revoked by the issuing body: it no longer certifies anything."),
    "suspended": _l("Suspended while a report is checked."),
    "superseded": _l("Replaced by a corrected certificate."),
    "unknown": _l("The status cannot be read right now. Try again later."),
    "current": _l("Within its validity period."),
    "expired": _l("Its validity period has ended."),
    "not_yet_valid": _l("Its validity period has not started yet."),
}

#: The answer to a holder's evidence reveal (certification.certificates.evidence_reveal), one
#: sentence each.
EVIDENCE_REVEAL_STATES: dict[str, Any] = {
    "confirmed": _l(
        "Confirmed: this file, with this salt, is the evidence the certificate committed to at "
        "issuance for the indicators listed below."
    ),
    "not_confirmed": _l(
        "Not confirmed: this file and salt match no evidence of this certificate. Check that "
        "the file, the salt and the certificate belong together."
    ),
    "not_committed": _l(
        "This certificate was issued before evidence commitments: its evidence cannot be "
        "revealed this way."
    ),
    "not_found": _l("No certificate issued by Attesta has this code."),
    "salt_malformed": _l(
        "The salt is 64 characters, digits and the letters a to f, as written in the holder's "
        "commitments.json."
    ),
    "no_file": _l("Choose the evidence file to check."),
    "too_large": _l("The file is larger than an evidence file can be."),
}

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.labels import REJECTION_REASON_LABELS
from app.web import confirmation


class NewCaseForm(FlaskForm):
    ente = SelectField(_l("Accredited body (ente titolato)"), choices=[])
    profile = SelectField(_l("Profile"), choices=[])
    scope = RadioField(
        _l("What do you ask to have recognised?"),
        choices=[
            SelectChoice("full_profile", _l("The whole profile")),
            SelectChoice("single_competences", _l("Only some competences")),
        ],
        default="full_profile",
    )
    competences = SelectMultipleField(
        _l("Competences"),
        choices=[],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )


class VersionedForm(FlaskForm):
    """A button that changes a case: carries the version the person saw."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        value = self.version.data or ""
        return int(value) if value.isdigit() else None


class SubmitForm(VersionedForm):
    birth_date = DateField(_l("Date of birth"), validators=[DataRequired()])
    birth_place = StringField(_l("Place of birth"), validators=[DataRequired(), Length(max=100)])
    codice_fiscale = StringField(
        _l("Codice fiscale"),
        validators=[Optional(), Length(max=20)],
        description=_l("Needed for the documents. Leave empty if you do not have one."),
    )
    consent_processing = BooleanField(
        _l(
            "I consent to the processing of my personal data by the ente titolato for the "
            "identification, validation and certification of my competences."
        )
    )
    consent_public_verification = BooleanField(
        _l(
            "I agree that employers may check online the certificate I may obtain (name, "
            "competences, issuer). Optional: without it, only I can show it."
        )
    )
    declaration_accepted = BooleanField(
        _l(
            "I declare that the information and evidence in my portfolio are true, aware of the "
            "penalties for false statements (DPR 445/2000, articles 75 and 76)."
        )
    )
    #: Asked only when some requested competences have no evidence linked (issue 19).
    without_evidence = BooleanField(
        _l("I submit these competences without evidence: I will add it with the tutor.")
    )
    guardian_name = StringField(
        _l("Parent or guardian (only if you are under 18)"),
        validators=[Optional(), Length(max=200)],
    )
    guardian_consent = BooleanField(
        _l("As parent or guardian, I give the consents above on the candidate's behalf.")
    )


class AdmitForm(VersionedForm):
    tutor = SelectField(_l("Tutor"), choices=[])


class RejectForm(VersionedForm):
    reason = SelectField(
        _l("Reason"),
        choices=[SelectChoice(code, label) for code, label in REJECTION_REASON_LABELS.items()],
    )
    note = TextAreaField(
        _l("Note to the candidate"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Explain the decision and what the candidate can do next."),
    )


class RateForm(FlaskForm):
    competence_code = HiddenField(validators=[DataRequired()])
    criterion_code = HiddenField(validators=[DataRequired()])
    level_code = SelectField(_l("Level"), choices=[])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class IntegrationForm(VersionedForm):
    note = TextAreaField(
        _l("What is missing"),
        validators=[DataRequired(), Length(max=4000)],
        description=_l("Say which criteria need more evidence, and what would show them."),
    )
    deadline = DateField(_l("Deadline"), validators=[DataRequired()])


class RationaleForm(VersionedForm):
    rationale = TextAreaField(_l("Reasons"), validators=[DataRequired(), Length(max=4000)])


class PlanForm(VersionedForm):
    methods = SelectMultipleField(
        _l("Assessment methods"),
        choices=[],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    scheduled_at = DateTimeLocalField(
        _l("Date and time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    location = StringField(
        _l("Place"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("Address, or “online” with the link sent separately."),
    )
    certifiers = SelectMultipleField(
        _l("Certifiers on the panel"),
        choices=[],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    assessors = SelectMultipleField(
        _l("Assessors on the panel"),
        choices=[],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    rationale = TextAreaField(
        _l("Reasons (appeals only)"), validators=[Optional(), Length(max=4000)]
    )


class DeclarationForm(FlaskForm):
    has_conflict = RadioField(
        _l("Conflict of interest"),
        choices=[
            SelectChoice(
                "no",
                _l(
                    "I declare that I have no conflict of interest with the "
                    "candidate or with the organisations where the evidence "
                    "was produced."
                ),
            ),
            SelectChoice("yes", _l("I have a conflict of interest (explain below).")),
        ],
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=2000)])


class OpenSessionForm(VersionedForm):
    identity_checked = BooleanField(_l("I have checked the candidate's identity document."))


class AppealForm(VersionedForm):
    grounds = TextAreaField(
        _l("Why the result should be reviewed"),
        validators=[DataRequired(), Length(max=4000)],
        description=_l("Point to the criteria and the evidence you think were not considered."),
    )


class WithdrawForm(VersionedForm):
    """Withdrawing ends the application: the candidate ticks that they understand."""

    confirm = confirmation(_l("I understand: my application ends here and is not assessed"))


class StopForm(VersionedForm):
    """Stopping after the Documento di trasparenza closes the application for good: the
    candidate ticks that they understand."""

    confirm = confirmation(
        _l("I understand: my application ends here, with the Documento di trasparenza only")
    )


class CertifyForm(VersionedForm):
    """Certifying lets the certificate be issued: the certifier ticks that they confirm."""

    confirm = confirmation(_l("I confirm the outcome: these competences are certified"))


class CancelForm(VersionedForm):
    reason = TextAreaField(
        _l("Reason for cancelling"), validators=[DataRequired(), Length(max=4000)]
    )
    confirm = confirmation(
        _l("I understand: the application ends, the candidate is told, and it cannot resume")
    )


class PageField(IntegerField):
    """A page number. Anything but digits is page 0, which the range refuses with one message
    of ours (WTForms adds its own "not a valid integer" besides, ungrammatical in Italian)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        self.data = int(text) if text.isdigit() else (0 if text else None)


class CaseFilterForm(FlaskForm):
    """The filters of the list of cases (a GET form: no CSRF, nothing changes)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    group = SelectField(_l("Phase"), choices=[], default="")
    profile = SelectField(_l("Profile"), choices=[], default="")
    ente = SelectField(_l("Accredited body"), choices=[], default="")
    mine = BooleanField(_l("Assigned to me"))
    overdue = BooleanField(_l("Overdue only"))
    closed = BooleanField(_l("Include closed applications"))
    sort = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice("deadline", _l("Deadline")),
            SelectChoice("changed", _l("Last change")),
        ],
        default="deadline",
    )
    page = PageField(
        _l("Page"),
        validators=[
            Optional(),
            NumberRange(min=1, max=100_000, message=_l("Choose a page from 1 to %(max)s.")),
        ],
    )

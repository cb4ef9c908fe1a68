from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.labels import REJECTION_REASON_LABELS


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

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.web import confirmation

REVOCATION_CHOICES = [
    SelectChoice("false_evidence", _l("False evidence")),
    SelectChoice("false_self_declaration", _l("False self-declaration (DPR 445/2000)")),
    SelectChoice("identity", _l("Identity not the holder's")),
    SelectChoice("procedural_defect", _l("Serious procedural defect")),
    SelectChoice("order_of_titolare", _l("Order of the ente titolare")),
    SelectChoice("other", _l("Other")),
]
SUSPENSION_CHOICES = [
    SelectChoice("fraud_report", _l("Report of possible fraud")),
    SelectChoice("challenge_by_region", _l("Challenge by the Region")),
    SelectChoice("other", _l("Other")),
]


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reasons (kept in the file, never shown to verifiers)"),
        validators=[DataRequired(), Length(max=4000)],
    )


class RevokeForm(ReasonForm):
    reason_code = SelectField(_l("Ground"), choices=REVOCATION_CHOICES)
    #: A revocation cannot be undone: the signatory types the number of what they revoke.
    confirm_number = StringField(
        _l("To confirm, type the certificate's number"),
        validators=[DataRequired(), Length(max=40)],
    )

    def confirms(self, number: str) -> bool:
        """The typed number is the certificate's (case and spaces aside)."""
        typed = "".join((self.confirm_number.data or "").split()).upper()
        return typed == number.upper()


class SuspendForm(ReasonForm):
    reason_code = SelectField(_l("Ground"), choices=SUSPENSION_CHOICES)
    confirm = confirmation(
        _l(
            "I understand: until it is reinstated, every check of this certificate reads it "
            "as suspended and the holder is told"
        )
    )


class PublicCheckForm(FlaskForm):
    """What the holder lets the public check show beyond the minimum."""

    show_name = BooleanField(
        _l("Show my full name (otherwise only my initials, and the verifier compares them)")
    )
    show_evidence = BooleanField(
        _l("Show where I learned (experiences) and the list of evidence (type, date, fingerprint)")
    )


class BulkForm(FlaskForm):
    """Certified cases to issue in one request; the key (made when the page is shown) makes
    a repeated submission return the same request instead of starting a second one."""

    cases = SelectMultipleField(
        _l("Cases to issue"),
        validators=[DataRequired(_l("Choose at least one case."))],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    request_key = HiddenField(validators=[DataRequired(), Length(min=8, max=100)])

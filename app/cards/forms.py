from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.labels import CARD_REASON_LABELS, CONVENTION_CATEGORY_LABELS
from certification.cards import CARD_CHANGES, DEFAULT_PROGRAMME, CardChange

CONSENT_LABEL = _l(
    "I agree that partner businesses checking my card see only whether it is valid, my first "
    "name and the initial of my surname, and its expiry date."
)


def _choices(labels: dict[Any, Any], values: Any) -> list[SelectChoice]:
    return [SelectChoice(str(v), labels[v]) for v in values]


class RequestCardForm(FlaskForm):
    """The holder asks for a card: on a certificate (at once) or on another basis (checked)."""

    basis = SelectField(_l("I am eligible because"), choices=[])
    certificate_id = SelectField(_l("Certificate"), choices=[], validate_choice=False)
    organisation_id = SelectField(_l("Accredited body running the programme"), choices=[])
    reference = StringField(
        _l("Enrolment number, or the start-up's REA number or VAT number"),
        validators=[Optional(), Length(max=120)],
    )
    consent = BooleanField(CONSENT_LABEL)


class IssueCardForm(FlaskForm):
    """An operator issues a card to an eligible young person."""

    email = EmailField(_l("E-mail of the holder's account"), validators=[DataRequired()])
    basis = SelectField(_l("Eligibility"), choices=[])
    reference = StringField(
        _l("Certificate number, enrolment number, or the start-up's REA or VAT number"),
        validators=[DataRequired(), Length(max=120)],
    )
    programme = StringField(
        _l("Programme"), default=DEFAULT_PROGRAMME, validators=[DataRequired(), Length(max=120)]
    )
    consent = BooleanField(
        _l(
            "The holder has signed the consent to show their first name and initial to partner "
            "businesses"
        )
    )


class CardChangeForm(FlaskForm):
    reason_code = SelectField(_l("Reason"), choices=[], validate_choice=False)

    def for_change(self, change: CardChange) -> CardChangeForm:
        self.reason_code.choices = _choices(CARD_REASON_LABELS, CARD_CHANGES[change].reasons)
        return self


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo (JPEG or PNG, at most 5 MB)"))


class PartnerForm(FlaskForm):
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=80)])
    tax_code = StringField(_l("Tax code or VAT number"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("Town"), validators=[Optional(), Length(max=100)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300)])


class ConventionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    category = SelectField(_l("Category"), choices=[])
    benefit = TextAreaField(
        _l("What the holder gets"), validators=[DataRequired(), Length(max=2000)]
    )
    discount_pct = IntegerField(
        _l("Discount (%)"), validators=[Optional(), NumberRange(min=1, max=100)]
    )
    conditions = TextAreaField(_l("Conditions"), validators=[Optional(), Length(max=2000)])
    location = StringField(_l("Where"), validators=[Optional(), Length(max=200)])
    valid_from = DateField(_l("Valid from"), validators=[DataRequired()])
    valid_to = DateField(_l("Valid until (empty: no end)"), validators=[Optional()])
    active = BooleanField(_l("On offer"), default=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = _choices(
            CONVENTION_CATEGORY_LABELS, CONVENTION_CATEGORY_LABELS.keys()
        )


class UseForm(FlaskForm):
    """A partner records that the card was used for one of their conventions."""

    convention_id = SelectField(_l("Convention used"), choices=[], validate_choice=False)

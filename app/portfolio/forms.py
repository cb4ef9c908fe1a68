from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.labels import EVIDENCE_TYPE_LABELS, EXPERIENCE_KIND_LABELS, LEARNING_CONTEXT_LABELS
from certification.models import EvidenceType


class ExperienceForm(FlaskForm):
    kind = SelectField(
        _l("What did you do?"),
        choices=[SelectChoice(k.value, label) for k, label in EXPERIENCE_KIND_LABELS.items()],
    )
    learning_context = SelectField(
        _l("Learning context"),
        choices=[SelectChoice(k.value, label) for k, label in LEARNING_CONTEXT_LABELS.items()],
        default="informale",
        description=_l(
            "Formal: school, university, accredited training. Non-formal: organised, outside "
            "the formal system. Informal: from work, volunteering, everyday life."
        ),
    )
    role_title = StringField(
        _l("Your role"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("e.g. “Community host”, “Volunteer coordinator”."),
    )
    host_organisation_id = SelectField(_l("Where (known organisations)"), choices=[])
    host_name = StringField(
        _l("…or type the organisation's name"),
        validators=[Optional(), Length(max=200)],
    )
    start_date = DateField(_l("From"), validators=[DataRequired()])
    end_date = DateField(
        _l("To"), validators=[Optional()], description=_l("Leave empty if it is still going on.")
    )
    hours_estimate = IntegerField(
        _l("Hours, roughly"), validators=[Optional(), NumberRange(min=0, max=20000)]
    )
    description = TextAreaField(
        _l("What you did and what came of it"),
        validators=[DataRequired(), Length(max=5000)],
        description=_l("Tasks, responsibilities, results: the facts an assessor can check."),
    )
    referee_name = StringField(
        _l("Referee (who can confirm it)"), validators=[Optional(), Length(max=200)]
    )
    referee_contact = StringField(
        _l("Referee's e-mail or phone"), validators=[Optional(), Length(max=254)]
    )


_FILE_KINDS = (EvidenceType.DOCUMENTO_ATTESTAZIONE, EvidenceType.PRODOTTO, EvidenceType.FOTO_VIDEO)


class _EvidenceBase(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])


class FileEvidenceForm(_EvidenceBase):
    type = SelectField(
        _l("Kind of evidence"),
        choices=[SelectChoice(k.value, EVIDENCE_TYPE_LABELS[k]) for k in _FILE_KINDS],
    )
    file = MultipleFileField(
        _l("Files"),
        validators=[FileRequired()],
        description=_l(
            "PDF, JPEG, PNG, WebP or office documents, up to 10 at once: each becomes its own "
            "evidence. Photos lose their location data."
        ),
    )
    issued_on = DateField(_l("Date of the document"), validators=[Optional()])
    description = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])


class LinkEvidenceForm(_EvidenceBase):
    url = URLField(
        _l("Web address"),
        validators=[DataRequired(), Length(max=1000)],
        description=_l("A page that shows your work: an event page, an article, a project."),
    )
    issued_on = DateField(_l("Date"), validators=[Optional()])
    description = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])


class TestimonialForm(_EvidenceBase):
    referee_name = StringField(_l("Referee's name"), validators=[DataRequired(), Length(max=200)])
    referee_email = EmailField(
        _l("Referee's e-mail"),
        validators=[DataRequired(), Length(max=254)],
        description=_l("The referee receives a link to confirm the text, without an account."),
    )
    text = TextAreaField(
        _l("The testimonial, in the referee's words"), validators=[DataRequired(), Length(max=5000)]
    )
    issued_on = DateField(_l("Date"), validators=[Optional()])


class DeclarationForm(_EvidenceBase):
    text = TextAreaField(_l("What you declare"), validators=[DataRequired(), Length(max=5000)])
    accepted = BooleanField(
        _l(
            "I declare that the above is true, aware of the penalties for false statements "
            "(DPR 445/2000, articles 75 and 76)."
        )
    )


class LinkForm(FlaskForm):
    target = SelectField(_l("Competence and criterion"), choices=[])
    note = TextAreaField(
        _l("Why this evidence shows it"), validators=[Optional(), Length(max=1000)]
    )


class LinkManyForm(FlaskForm):
    """Link one evidence to several criteria: the ticked boxes are read from the request
    (``targets``), the template draws them grouped by competence."""

    note = TextAreaField(
        _l("Why this evidence shows them"), validators=[Optional(), Length(max=1000)]
    )


class ProfileChoiceForm(FlaskForm):
    profile = SelectField(_l("Profile"), choices=[])


class SelfAssessmentForm(FlaskForm):
    competence_id = StringField(validators=[DataRequired()])
    level_code = SelectField(_l("Your level"), choices=[])
    note = TextAreaField(_l("Why"), validators=[Optional(), Length(max=2000)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=4000)])

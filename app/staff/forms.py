from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from app.labels import ROLE_LABELS
from certification.people.roles import ROLES_BY_ORGANISATION_KIND, OrganisationKind, Role


class RoleField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class StaffRolesForm(FlaskForm):
    roles = RoleField(_l("Roles"), coerce=str)
    years_experience = IntegerField(
        _l("Years of experience in the sector"),
        validators=[Optional(), NumberRange(min=0, max=60)],
        description=_l("Required for assessors: in Lombardy at least 10 years."),
    )
    sectors = StringField(
        _l("Sectors (Atlante SEP codes)"),
        validators=[Optional(), Length(max=100)],
        description=_l("Comma-separated numbers from 1 to 24, e.g. 22, 24."),
    )

    def set_role_choices(self, kind: OrganisationKind) -> None:
        allowed = ROLES_BY_ORGANISATION_KIND[kind]
        self.roles.choices = [SelectChoice(r.value, ROLE_LABELS[r]) for r in Role if r in allowed]

    def selected_roles(self) -> list[Role]:
        return [Role(value) for value in self.roles.data or []]

    def sector_list(self) -> list[str]:
        return [s.strip() for s in (self.sectors.data or "").split(",") if s.strip()]


class AddStaffForm(StaffRolesForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    given_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    family_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])

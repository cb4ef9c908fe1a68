"""Forms of the auth pages. Labels and messages are translated lazily."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class NewPasswordForm(FlaskForm):
    """A new password typed twice; the policy itself is the domain's
    (certification.people.passwords)."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("At least 10 characters. A sentence you remember works well."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class SignupForm(NewPasswordForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.password.label.text = _l("Password")  # a first password, not a "new" one

    given_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    family_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    #: Removed by the view when no platform notice is published.
    accept_privacy = BooleanField(
        _l("I have read the privacy notice"),
        validators=[InputRequired(message=_l("Read the privacy notice and tick the box."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(NewPasswordForm):
    pass


class SecondFactorForm(FlaskForm):
    """A code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("The 6 digits your authenticator app shows, or one of your recovery codes."),
    )


class EnrolTotpForm(FlaskForm):
    """The first code of a newly added authenticator app, to confirm it reads the secret."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=12)],
        description=_l("The 6 digits the app shows now."),
    )


class PasskeyForm(FlaskForm):
    """The authenticator's answer (WebAuthn JSON), filled in by static/js/passkeys.js."""

    credential = HiddenField(validators=[DataRequired(), Length(max=65536)])


class AddPasskeyForm(PasskeyForm):
    """A new passkey and the name its owner gives it."""

    name = StringField(
        _l("Name of the passkey"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("To tell your passkeys apart, e.g. “Office laptop” or “Security key”."),
    )

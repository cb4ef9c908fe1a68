"""The views' shared helpers (app/web.py): a refusal's field problems put on a form."""

from __future__ import annotations

from typing import Any

from flask import Flask, get_flashed_messages
from wtforms import Form, StringField, TextAreaField
from wtforms.validators import DataRequired

from app.web import flash_form_errors, place_field_errors


class _Form(Form):
    title = StringField(validators=[DataRequired()])
    note = TextAreaField()


def test_each_problem_goes_on_its_field_after_the_fields_own(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        form = _Form()
        form.title.errors = ["already there"]
        unplaced = place_field_errors(form, {"title": ["too_long"], "note": ["required"]})
        assert unplaced == []
        assert form.title.errors == ["already there", "The text is too long."]
        assert form.note.errors == ["This field is required."]


def test_a_problem_without_a_field_goes_on_the_default_or_back_to_the_caller(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        form = _Form()
        form.note.errors = []
        place_field_errors(form, {"ente": ["required"]}, form.note)
        assert form.note.errors == ["This field is required."]

        other = _Form()
        unplaced = place_field_errors(other, {"ente": ["required"], "title": ["too_long"]})
        assert unplaced == ["This field is required."]
        assert other.title.errors == ["The text is too long."]


def test_a_view_may_word_a_code_its_own_way(app: Flask) -> None:
    with app.test_request_context("/"):
        form = _Form()
        words: dict[str, Any] = {"email_taken": "Log in instead."}
        place_field_errors(form, {"title": ["email_taken"]}, message=words.__getitem__)
        assert form.title.errors == ["Log in instead."]


def test_a_forms_own_problems_are_flashed_as_one_message(app: Flask) -> None:
    with app.test_request_context("/"):
        form = _Form()
        assert not form.validate()
        form.note.errors = ["Say why."]
        flash_form_errors(form)
        assert get_flashed_messages(with_categories=True) == [
            ("error", "This field is required. Say why.")
        ]

"""The views' shared helpers (app/web.py): a refusal's field problems put on a form, the
headers of a download."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask, get_flashed_messages
from werkzeug.test import EnvironBuilder
from wtforms import Form, StringField, TextAreaField
from wtforms.validators import DataRequired

from app.web import _download, _immutable, _whole_immutable, flash_form_errors, place_field_errors


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


@pytest.mark.parametrize("name", ["LOM-CML-2026-000001.pdf", "a b;c.pdf"])
def test_the_whole_immutable_download_has_the_general_path_s_headers(name: str) -> None:
    # Written out for speed (issue 22), the same headers in the same order as worked out.
    environ = EnvironBuilder("/certificates/x/certificate.pdf").get_environ()
    data, sha = b"%PDF-1.7 bytes", "ab" * 32
    general = _download(environ, io.BytesIO(data), len(data), "application/pdf", name)
    _immutable(general, sha)
    fast = _whole_immutable(environ, io.BytesIO(data), len(data), "application/pdf", name, sha)
    general_headers = sorted((k, v) for k, v in general.headers.items() if k != "Date")
    fast_headers = sorted((k, v) for k, v in fast.headers.items() if k != "Date")
    # (Expires is now, as is Date: equal unless a second turned in between.)
    assert [h for h in fast_headers if h[0] != "Expires"] == [
        h for h in general_headers if h[0] != "Expires"
    ]
    assert sorted(fast.headers.keys()) == sorted(general.headers.keys())
    assert fast.status_code == 200 and b"".join(fast.response) == data

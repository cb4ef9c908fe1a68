"""Every error becomes a page in the user's language or a JSON body: the one mapping place.

Domain errors carry stable codes (``certification.errors``); here each kind of error gets its
HTTP status and each code its translated message. Unknown failures are logged and shown as a
plain 500 without details.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l

from certification.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    NotPermitted,
    Throttled,
    TokenInvalid,
    Unavailable,
)

#: The HTTP status of each kind of domain error (certification/errors.py): an error answers
#: with the status of its nearest kind, so a new Conflict is a 409 without a line here. The
#: errors' codes have their messages below; tests/app/test_errors.py fails on an error of no
#: kind or a code with no message.
STATUS_BY_KIND: dict[type[DomainError], int] = {
    NotFound: 404,
    NotPermitted: 403,
    Conflict: 409,
    InvalidInput: 422,
    TokenInvalid: 400,
    Throttled: 429,
    Unavailable: 503,
}


def status_of(kind: type[DomainError]) -> int | None:
    """The HTTP status of the errors of class ``kind``: its nearest kind's; None if of no kind."""
    return next((STATUS_BY_KIND[c] for c in kind.__mro__ if c in STATUS_BY_KIND), None)


MESSAGES: dict[str, Any] = {
    "not_found": _l("The page or item you asked for does not exist, or you cannot see it."),
    "not_permitted": _l("You are not allowed to do this."),
    "conflict": _l("This clashes with the current state. Reload the page and try again."),
    "email_taken": _l("An account with this e-mail address already exists."),
    "last_admin": _l("The organisation would be left without an administrator."),
    "rubric_version_conflict": _l(
        "This version of the framework is already published with different content. "
        "Publish the change as a new version."
    ),
    "invalid_input": _l("Some data is not valid. Check the highlighted fields."),
    "rubric_invalid": _l("The rubric file does not match the format."),
    "token_invalid": _l("This link is not valid or has expired. Ask for a new one."),
    "token_expired": _l("This link has expired. Ask for a new one."),
    "token_used": _l("This link was already used."),
    "wallet_protocol_error": _l(
        "The wallet's request was refused. Make a new offer and try again."
    ),
    "too_many_attempts": _l("Too many attempts. Wait a little and try again."),
    "second_factor_throttled": _l("Too many attempts. Wait a little and try again."),
    "last_second_factor": _l(
        "This is your last second factor and your role requires one: add another passkey or the "
        "authenticator app before removing it."
    ),
    "unavailable": _l("The service is temporarily unavailable. Try again later."),
    "notice_immutable": _l(
        "A published privacy notice is never changed: publish a new version instead."
    ),
    "evidence_locked": _l(
        "This evidence is listed in an issued Documento di trasparenza and can no longer change. "
        "Add new evidence instead."
    ),
    "invalid_transition": _l("This step is not possible in the application's current state."),
    "stale_case": _l(
        "Someone else changed this application in the meantime. Reload the page to see what "
        "changed, then try again."
    ),
    "upload_rejected": _l("The file cannot be accepted."),
    "already_issued": _l("The certificate for this decision has already been issued."),
    "key_not_usable": _l("This key is retired or compromised: it can no longer sign."),
    "key_passphrase_wrong": _l(
        "Signing is unavailable: the key passphrase does not open the signing keys. Nothing was "
        "issued. Ask the administrator to check the configuration."
    ),
    "no_active_key": _l(
        "Signing is unavailable: the accredited body has no active signing key. Nothing was "
        "issued. Ask the administrator to create the keys."
    ),
    "timestamp_unavailable": _l(
        "The time-stamping service did not answer properly, so the certificate was not sealed. "
        "Its number is reserved: it will be completed automatically when the service answers "
        "again. Nothing was issued yet."
    ),
    "timestamp_key_expiring": _l(
        "The time-stamping authority's certificate expires too soon to renew time-stamps with "
        "it. Nothing was changed. Renew the time-stamping authority first."
    ),
    "credential_invalid": _l("The credential is not valid."),
    "card_not_valid": _l(
        "The card is not valid today (expired, suspended, revoked or not yet active): it cannot "
        "be used."
    ),
    "card_exists": _l("There is already a talent card of this body for this person."),
    "convention_not_for_card": _l(
        "This convention is not on offer today for the holders of this card's programme."
    ),
    "database_busy": _l(
        "The service is very busy and could not finish this in time. Try again in a few seconds."
    ),
    "production_failed": _l(
        "The certificate could not be produced: nothing was issued for this case. Try again."
    ),
    "interrupted": _l(
        "The issuance stopped before reaching this case: nothing was issued for it. Try again."
    ),
    "busy": _l(
        "Many files are being checked right now: yours was not checked. Try again in a few seconds."
    ),
}

#: Field-level problem codes raised by the domain (certification.*) and their messages.
FIELD_MESSAGES: dict[str, Any] = {
    "too_short": _l("Use at least 10 characters."),
    "password_too_long": _l("Use at most 128 characters."),
    "too_long": _l("The text is too long."),
    "invalid_characters": _l("The text contains characters that are not allowed."),
    "too_common": _l("This password is too common: choose another."),
    "contains_email": _l("The password must not contain your e-mail address."),
    "wrong": _l("The current password is not correct."),
    "already_staff": _l("This person is already on the staff: edit their roles instead."),
    "linkedin_id_digits": _l(
        "The LinkedIn organization id is digits only: the number in the address of the "
        "company page's administration (linkedin.com/company/12345678/admin/)."
    ),
    "not_available": _l("This role does not exist for this kind of organisation."),
    "range": _l("Enter a number between 0 and 60."),
    "years_required": _l("Give the assessor's years of experience in the sector."),
    "sep_codes": _l("Sectors are Atlante SEP numbers from 1 to 24, separated by commas."),
    "length": _l("Enter between 1 and 100 characters."),
    "unsupported": _l("This language is not available."),
    "last_admin_role": _l("Keep at least one administrator: give the role to someone else first."),
    "required": _l("This field is required."),
    "before_start": _l("The end comes before the start."),
    "in_future": _l("The date is in the future."),
    "too_old": _l("The date is too far in the past."),
    "hours_range": _l("Enter a number of hours between 0 and 20,000."),
    "unknown_host": _l("Choose an organisation from the list, or type its name."),
    "invalid_choice": _l("Choose one of the options."),
    "bad_url": _l("Enter a full web address starting with https:// or http://."),
    "bad_email": _l("Enter a valid e-mail address."),
    "must_accept": _l("This is needed to go on."),
    "email_unconfirmed": _l(
        "Confirm your e-mail address before submitting: follow the link we sent you, or send "
        "it again."
    ),
    "evidence_missing": _l(
        "Some competences have no evidence: tick the box to submit them all the same, or add "
        "evidence first."
    ),
    "already_linked": _l("This evidence is already linked there."),
    "choose_one": _l("Choose at least one competence."),
    "not_certifiable": _l("This competence cannot be certified this way."),
    "bad_date": _l("Enter a valid date."),
    "guardian_required": _l(
        "The candidate is under 18: a parent or guardian must give their name and consent."
    ),
    "bad_codice_fiscale": _l("This codice fiscale is not valid: check it on your health card."),
    "codice_fiscale_taken": _l("This codice fiscale belongs to another account."),
    "no_linked_evidence": _l(
        "Link at least one piece of evidence to a requested competence first."
    ),
    "empty": _l("The file is empty."),
    "too_many_files": _l("Upload at most 10 files at once."),
    "choose_a_criterion": _l("Tick at least one criterion or competence."),
    "too_large": _l("The file is larger than allowed."),
    "too_complex": _l(
        "Checking the file took more time or memory than allowed: save it again more simply "
        "(for example as a smaller PDF) and upload it again."
    ),
    "type_not_allowed": _l(
        "This kind of file is not accepted. Use PDF, JPEG, PNG, WebP or an office document "
        "(Word, Excel, PowerPoint, OpenDocument)."
    ),
    "active_content": _l("The file contains scripts or macros: save it without them."),
    "encrypted": _l("The file is password-protected: save it without the password."),
    "damaged": _l("The file is damaged or not what its name says."),
    "image_too_big": _l("The image has too many pixels: reduce it to at most 40 megapixels."),
    "archive_bomb": _l("The document unpacks to far more than its size: it cannot be accepted."),
    # PDFs (certification.portfolio.pdfscan): what was found in the parsed file, and what to do.
    "pdf_javascript": _l(
        "The PDF contains JavaScript, which runs when it is opened: print it again to PDF "
        "(Print, Save as PDF) and upload that copy."
    ),
    "pdf_launch": _l(
        "The PDF tries to start a program or open another file: print it again to PDF and "
        "upload that copy."
    ),
    "pdf_embedded_file": _l(
        "The PDF carries attached files: upload each document on its own, and the PDF without "
        "attachments."
    ),
    "pdf_xfa": _l(
        "The PDF is an XFA form, which cannot be checked: print it to PDF (Print, Save as PDF) "
        "and upload that copy."
    ),
    "pdf_rich_media": _l(
        "The PDF contains multimedia (Flash or 3D) that runs when it is opened: save it without."
    ),
    "pdf_submit_form": _l(
        "The PDF sends form data to an internet address: print it again to PDF and upload that "
        "copy."
    ),
    "pdf_import_data": _l(
        "The PDF imports data from another file: print it again to PDF and upload that copy."
    ),
    "pdf_remote_goto": _l(
        "The PDF has links that open other files on the computer: print it again to PDF and "
        "upload that copy."
    ),
    "pdf_unreadable": _l(
        "The PDF cannot be read: it is damaged or incomplete. Save it again as PDF and upload it "
        "again."
    ),
    "pdf_too_complex": _l(
        "The PDF is too complex to check (too many objects, or it takes too long): print it "
        "again to PDF, or split it, and upload that copy."
    ),
    "not_in_review": _l("Criteria are rated only during the review or the assessment session."),
    "deadline_range": _l("Choose a deadline between tomorrow and 90 days from today."),
    "confirmation_mismatch": _l(
        "The number you typed is not this certificate's: nothing was changed. Type it exactly "
        "as it is printed on the certificate."
    ),
    "nonexistent_local_time": _l(
        "That time does not exist in Italy: the clocks go forward by an hour that night. "
        "Choose another time."
    ),
    "deadline_passed": _l("The deadline has passed: ask the ente to reactivate the application."),
    "panel_duplicate": _l("A person appears twice on the panel."),
    "panel_composition": _l("The panel needs at least one certifier and one assessor."),
    "panel_tutor": _l("The candidate's tutor cannot sit on the panel (terzietà)."),
    "panel_previous": _l("A review needs people who were not on any earlier panel of the case."),
    "panel_role": _l("Panel members must hold the role they sit for, in this ente."),
    "panel_assessor_experience": _l(
        "In Lombardy an assessor needs at least ten years in the profile's sector."
    ),
    "in_past": _l("Choose a date in the future."),
    "not_scheduled": _l("No assessment is planned."),
    "identity_not_checked": _l("Check the candidate's identity first."),
    "declarations_missing": _l(
        "Every panel member must declare first whether they have a conflict of interest."
    ),
    "conflict_declared": _l("A panel member declared a conflict of interest: change the panel."),
    "one_per_competence": _l("Give one outcome for every requested competence."),
    "rationale_required": _l("Give the reasons for the outcome."),
    "feedback_required": _l("Tell the candidate what fell short, criterion by criterion."),
    "ratings_not_passing": _l(
        "Not every criterion was rated at a passing level: it cannot be validated."
    ),
    "outcome_required": _l("Choose the outcome."),
    "criteria_not_rated": _l(
        "Some criteria are not rated yet: rate them before validating this competence."
    ),
    "methods_required": _l("Choose the methods used."),
    "nothing_validated": _l("No competence was validated: there is nothing to certify."),
    "not_certified": _l("The certificate can be issued only once the certification is confirmed."),
    "appeal_too_late": _l("A review can be asked for within 30 days of the result."),
    "photo_invalid": _l("Use a JPEG or PNG photo of at most 5 MB."),
    "percent_range": _l("Enter a discount between 1 and 100 per cent, or leave it empty."),
    "tax_code_taken": _l("An organisation with this tax code already exists."),
    "no_such_account": _l(
        "There is no account with this e-mail address: ask the person to sign up first."
    ),
    "no_such_certificate": _l("There is no issued certificate with this number for this person."),
}

HTTP_TITLES: dict[int, Any] = {
    400: _l("Bad request"),
    401: _l("Login required"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Too large"),
    422: _l("Invalid data"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Service unavailable"),
}

HTTP_MESSAGES: dict[int, Any] = {
    400: _l("The request could not be understood."),
    401: _l("Log in to continue."),
    403: _l("You are not allowed to see this page."),
    404: _l("The page or item you asked for does not exist, or you cannot see it."),
    405: _l("This address does not accept this kind of request."),
    413: _l("The upload is larger than allowed."),
    429: _l("Too many attempts. Wait a little and try again."),
    500: _l("An unexpected error occurred. It has been recorded; please try again later."),
    503: _l("The service is temporarily unavailable. Try again later."),
}


def register(app: Flask) -> None:
    app.jinja_env.globals["field_message"] = field_message
    app.jinja_env.globals["error_message"] = error_message


def error_message(code: str) -> str:
    """The translated text of an error code (a refusal's, or a field problem's)."""
    return str(MESSAGES.get(code) or field_message(code))


def field_message(code: str) -> str:
    """The translated text of a field-level problem code."""
    return str(FIELD_MESSAGES.get(code, MESSAGES["invalid_input"]))


def explain(exc: DomainError) -> str:
    """A refusal in the user's language: its field problems, else the message of its code."""
    errors = getattr(exc, "errors", None)
    if errors:
        return " ".join(field_message(code) for codes in errors.values() for code in codes)
    return str(MESSAGES.get(exc.code, MESSAGES["conflict"]))


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


#: Paths of the wallet protocols (OpenID4VCI, OpenID4VP): wallets read JSON only.
_PROTOCOL_PREFIXES = (
    "/wallet/",
    "/verify/wallet/response/",
    "/verify/wallet/request/",
    "/.well-known/openid-credential-issuer",
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwt-vc-issuer",
)
#: The OAuth 2.0 error code (RFC 6749 §5.2, RFC 6750 §3.1) of an HTTP status on those paths.
_OAUTH_ERRORS = {401: "invalid_token", 500: "server_error", 503: "temporarily_unavailable"}


def protocol_path() -> bool:
    """Whether the request is one of a wallet protocol's: its refusals are OAuth-style JSON
    (``error``, ``error_description``), never an HTML page, whatever refused it."""
    # (The authorization endpoint is the holder's page in a browser: HTML.)
    return request.path.startswith(_PROTOCOL_PREFIXES) and request.path != "/wallet/authorize"


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> tuple[Response | str, int]:
    if protocol_path():
        oauth = {
            "error": _OAUTH_ERRORS.get(status, "invalid_request"),
            "error_description": message,
        }
        return jsonify(oauth), status
    if wants_json():
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if details:
            body["error"]["details"] = details
        return jsonify(body), status
    title = str(HTTP_TITLES.get(status, HTTP_TITLES[400]))
    return render_template("errors/error.html", status=status, title=title, message=message), status


def busy_response(retry_after: int) -> Response:
    """503 with ``Retry-After``: the database stayed busy through every try of the request."""
    # The page is drawn from a snapshot read (no lock to wait for) of a new session.
    g.pop("db_writer", None)
    g.db_reader = True
    message = str(MESSAGES["database_busy"])
    try:
        body, status = error_response(503, "database_busy", message)
        response = current_app.make_response((body, status))
    except Exception:  # not even the page could be drawn: the message alone
        current_app.logger.exception("database busy page")
        response = Response(message, 503, mimetype="text/plain")
    response.headers["Retry-After"] = str(retry_after)
    return response

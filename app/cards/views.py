from __future__ import annotations

import base64
import uuid
from typing import Any

from flask import (
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import Form

from app.auth.sessions import current_account
from app.cards.blueprint import bp
from app.cards.forms import (
    CardChangeForm,
    ConventionForm,
    IssueCardForm,
    PartnerForm,
    PhotoForm,
    RequestCardForm,
    UseForm,
)
from app.db import db_session
from app.errors import explain
from app.extensions import limiter
from app.i18n import current_language
from app.jobs import start_card_render
from app.labels import ELIGIBILITY_LABELS
from app.services import card_document, card_qr, storage
from app.web import place_field_errors, private, send_bytes, send_stored
from certification import cards as C
from certification.cards.documents import card_file_name
from certification.cases.workflow import enti_titolati
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.clock import utcnow
from certification.errors import DomainError, InvalidInput, NotFound, NotPermitted
from certification.keys.material import fingerprint, raw_public_key
from certification.models import (
    Certificate,
    ConventionCategory,
    EligibilityBasis,
    Organisation,
    PartnerConvention,
    TalentCard,
    UserAccount,
)

#: Per client, for the counter check: a partner checks a few cards a minute; guessing is slow.
CHECK_LIMIT = "30 per minute;300 per hour"
check_limit = limiter.shared_limit(CHECK_LIMIT, scope="card-check")


def _apply_errors(form: Form, exc: InvalidInput) -> None:
    unplaced = place_field_errors(form, exc.errors)
    if unplaced:
        flash(" ".join(unplaced), "error")


def _basis_choices(form: IssueCardForm | RequestCardForm) -> None:
    form.basis.choices = [(b.value, ELIGIBILITY_LABELS[b]) for b in EligibilityBasis]


# --- the holder -------------------------------------------------------------------------------


def _request_form(certificates: list[Certificate]) -> RequestCardForm:
    form = RequestCardForm()
    _basis_choices(form)
    form.certificate_id.choices = [
        (str(c.id), f"{c.number} — {c.organisation.short_name}") for c in certificates
    ]
    form.organisation_id.choices = [(str(o.id), o.short_name) for o in enti_titolati(db_session())]
    return form


def _mine_page(form: RequestCardForm | None = None) -> str:
    session = db_session()
    actor = current_account()
    certificates = list(C.eligible_certificates(session, actor.person_id))
    return render_template(
        "cards/mine.html",
        cards=C.cards_of_holder(session, actor.person_id),
        form=form or _request_form(certificates),
        has_certificates=bool(certificates),
        programmes=C.card_programmes(session, actor),
    )


@bp.get("/cards/")
@login_required
def mine() -> str:
    return _mine_page()


@bp.post("/cards/request")
@login_required
def request_card() -> Response | tuple[str, int]:
    session = db_session()
    actor = current_account()
    form = _request_form(list(C.eligible_certificates(session, actor.person_id)))
    if form.validate_on_submit():
        basis = EligibilityBasis(form.basis.data)
        try:
            card = C.request_card(
                session,
                actor,
                basis,
                utcnow(),
                certificate_id=_uuid(form.certificate_id.data)
                if basis == EligibilityBasis.CERTIFICATE
                else None,
                organisation_id=_uuid(form.organisation_id.data),
                reference=form.reference.data,
                consent=form.consent.data,
            )
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            start_card_render(card.id)
            flash(
                _("Your talent card is active: download it below.")
                if card.status.value == "active"
                else _("Request sent: the accredited body will check it and activate your card."),
                "success",
            )
            return redirect(url_for("cards.detail", card_id=card.id))
    return _mine_page(form), 422


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@bp.get("/cards/<uuid:card_id>")
@login_required
def detail(card_id: uuid.UUID) -> str:
    session = db_session()
    actor = current_account()
    card = C.get_card(session, actor, card_id)
    now = utcnow()
    manages = C.may_manage_cards(actor, card.organisation_id)
    return render_template(
        "cards/detail.html",
        card=card,
        status=C.effective_status(card, now),
        is_holder=card.holder_person_id == actor.person_id,
        manages=manages,
        changes={c: CardChangeForm().for_change(c) for c in C.allowed_changes(card, now)}
        if manages
        else {},
        photo_form=PhotoForm(),
        conventions=C.convention_directory(session, now, organisation_id=card.organisation_id),
        uses=C.uses_of_card(session, card),
        downloadable=C.has_printable_form(card),
    )


def _downloadable(card_id: uuid.UUID) -> TalentCard:
    card = C.get_card(db_session(), current_account(), card_id)
    if not C.has_printable_form(card):
        raise C.CardNotValid("the card has no printable form")
    return card


@bp.get("/cards/<uuid:card_id>/card.pdf")
@login_required
def pdf(card_id: uuid.UUID) -> Response:
    card = _downloadable(card_id)
    stored = card_document(card, current_language())
    return send_stored(stored.pdf_sha256, "application/pdf", card_file_name(card, "pdf"))


@bp.get("/cards/<uuid:card_id>/card.png")
@login_required
def png(card_id: uuid.UUID) -> Response:
    card = _downloadable(card_id)
    stored = card_document(card, current_language(), png=True)
    return send_stored(stored.png_sha256 or "", "image/png", card_file_name(card, "png"))


@bp.get("/cards/<uuid:card_id>/qr.svg")
@login_required
def qr_svg(card_id: uuid.UUID) -> Response:
    """The card's signed QR code alone, shown large on the holder's phone at a counter."""
    card = _downloadable(card_id)
    return send_bytes(card_qr(card), "image/svg+xml", card_file_name(card, "svg"))


@bp.get("/cards/<uuid:card_id>/photo.jpg")
@login_required
def photo_file(card_id: uuid.UUID) -> Response:
    card = C.get_card(db_session(), current_account(), card_id)
    if not card.photo_sha256:
        raise NotFound("no photo")
    return send_stored(card.photo_sha256, "image/jpeg", "photo.jpg")


@bp.post("/cards/<uuid:card_id>/photo")
@login_required
def photo(card_id: uuid.UUID) -> Response:
    session = db_session()
    actor = current_account()
    card = C.get_card(session, actor, card_id)
    form = PhotoForm()
    if form.validate_on_submit():
        upload = form.photo.data
        data = upload.stream.read(C.MAX_PHOTO_BYTES + 1) if upload else b""
        try:
            C.set_card_photo(session, storage(), actor, card, data, utcnow())
            start_card_render(card.id)
            flash(_("Photo saved: it is on the card you download from now on."), "success")
        except InvalidInput as exc:
            flash(explain(exc), "error")
    return redirect(url_for("cards.detail", card_id=card.id))


@bp.post("/cards/<uuid:card_id>/change/<change>")
@login_required
def change(card_id: uuid.UUID, change: str) -> Response:
    session = db_session()
    actor = current_account()
    card = C.get_managed_card(session, actor, card_id)
    if change not in C.CARD_CHANGES:
        raise NotFound("no such change")
    form = CardChangeForm().for_change(C.CardChange(change))
    if form.validate_on_submit():
        try:
            C.change_card(
                session, actor, card, C.CardChange(change), utcnow(), form.reason_code.data or None
            )
            start_card_render(card.id)
            flash(_("Card %(number)s updated.", number=card.number), "success")
        except InvalidInput as exc:
            flash(explain(exc), "error")
    return redirect(url_for("cards.detail", card_id=card.id))


# --- the ente's programme: cards, partners, conventions ---------------------------------------


def _programme(organisation_id: uuid.UUID) -> Organisation:
    organisation = db_session().get(Organisation, organisation_id)
    if organisation is None or not C.may_manage_cards(current_account(), organisation.id):
        raise NotFound("no such programme")
    return organisation


@bp.get("/programme/")
@login_required
def programmes() -> Response | str:
    found = C.card_programmes(db_session(), current_account())
    if not found:
        raise NotPermitted("not an operator of a card programme")
    if len(found) == 1:
        return redirect(url_for("cards.programme", organisation_id=found[0].id))
    return render_template("cards/programmes.html", programmes=found)


@bp.get("/programme/<uuid:organisation_id>/")
@login_required
def programme(organisation_id: uuid.UUID) -> str:
    session = db_session()
    actor = current_account()
    organisation = _programme(organisation_id)
    return render_template(
        "cards/programme.html",
        organisation=organisation,
        cards=C.cards_of_organisation(session, actor, organisation),
        partners=C.partners_of(session, actor, organisation),
        now=utcnow(),
    )


def _certificate_by_number(number: str, holder_id: uuid.UUID) -> uuid.UUID | None:
    return db_session().scalar(
        select(Certificate.id).where(
            Certificate.number == number.strip(),
            Certificate.holder_person_id == holder_id,
            Certificate.status.in_(PUBLIC_STATES),
        )
    )


@bp.route("/programme/<uuid:organisation_id>/cards/new", methods=["GET", "POST"])
@login_required
def issue(organisation_id: uuid.UUID) -> Response | str | tuple[str, int]:
    session = db_session()
    actor = current_account()
    organisation = _programme(organisation_id)
    form = IssueCardForm()
    _basis_choices(form)
    if form.validate_on_submit():
        holder = session.scalar(
            select(UserAccount).where(UserAccount.email == (form.email.data or "").strip().lower())
        )
        basis = EligibilityBasis(form.basis.data)
        try:
            if holder is None:
                raise InvalidInput("holder", errors={"email": ["no_such_account"]})
            certificate_id = None
            if basis == EligibilityBasis.CERTIFICATE:
                certificate_id = _certificate_by_number(form.reference.data, holder.person_id)
                if certificate_id is None:
                    raise InvalidInput("certificate", errors={"reference": ["no_such_certificate"]})
            card = C.issue_card(
                session,
                actor,
                organisation,
                holder.person,
                basis,
                utcnow(),
                certificate_id=certificate_id,
                reference=None if certificate_id else form.reference.data,
                programme=form.programme.data,
                consent_confirmed=form.consent.data,
            )
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            start_card_render(card.id)
            flash(_("Card %(number)s issued.", number=card.number), "success")
            return redirect(url_for("cards.detail", card_id=card.id))
        return render_template("cards/issue.html", organisation=organisation, form=form), 422
    return render_template("cards/issue.html", organisation=organisation, form=form)


@bp.route("/programme/<uuid:organisation_id>/partners/new", methods=["GET", "POST"])
@login_required
def new_partner(organisation_id: uuid.UUID) -> Response | str | tuple[str, int]:
    organisation = _programme(organisation_id)
    form = PartnerForm()
    if form.validate_on_submit():
        try:
            partner = C.create_partner(
                db_session(),
                current_account(),
                organisation,
                utcnow(),
                legal_name=form.legal_name.data or "",
                short_name=form.short_name.data or "",
                tax_code=form.tax_code.data,
                city=form.city.data,
                address=form.address.data,
                website=form.website.data,
            )
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            flash(_("Partner %(name)s added.", name=partner.short_name), "success")
            return redirect(url_for("cards.partner", partner_id=partner.id))
        return render_template("cards/partner_form.html", organisation=organisation, form=form), 422
    return render_template("cards/partner_form.html", organisation=organisation, form=form)


@bp.get("/programme/partners/<uuid:partner_id>/")
@login_required
def partner(partner_id: uuid.UUID) -> str:
    session = db_session()
    found = C.get_managed_partner(session, current_account(), partner_id)
    return render_template(
        "cards/partner.html",
        partner=found,
        conventions=C.conventions_of_partner(session, found),
    )


def _fields(form: ConventionForm) -> C.ConventionFields:
    return C.ConventionFields(
        title=form.title.data or "",
        benefit=form.benefit.data or "",
        category=form.category.data or "",
        valid_from=form.valid_from.data,
        discount_pct=form.discount_pct.data,
        conditions=form.conditions.data,
        location=form.location.data,
        valid_to=form.valid_to.data,
        active=bool(form.active.data),
    )


def _convention_page(
    partner: Organisation, form: ConventionForm, convention: PartnerConvention | None
) -> Response | str | tuple[str, int]:
    if form.validate_on_submit():
        try:
            C.save_convention(
                db_session(), current_account(), partner, _fields(form), utcnow(), convention
            )
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            flash(_("Convention saved."), "success")
            return redirect(url_for("cards.partner", partner_id=partner.id))
    page = render_template(
        "cards/convention_form.html", partner=partner, form=form, convention=convention
    )
    return (page, 422) if form.errors else page


@bp.route("/programme/partners/<uuid:partner_id>/conventions/new", methods=["GET", "POST"])
@login_required
def new_convention(partner_id: uuid.UUID) -> Response | str | tuple[str, int]:
    found = C.get_managed_partner(db_session(), current_account(), partner_id)
    form = ConventionForm()
    if request.method == "GET":
        form.valid_from.data = C.today(utcnow())
        form.location.data = found.city
    return _convention_page(found, form, None)


@bp.route("/programme/conventions/<uuid:convention_id>/edit", methods=["GET", "POST"])
@login_required
def edit_convention(convention_id: uuid.UUID) -> Response | str | tuple[str, int]:
    session = db_session()
    convention = session.get(PartnerConvention, convention_id)
    if convention is None:
        raise NotFound("no such convention")
    found = C.get_managed_partner(session, current_account(), convention.partner_id)
    form = ConventionForm(obj=convention)
    if request.method == "GET":
        form.category.data = convention.category.value
    return _convention_page(found, form, convention)


# --- partner businesses -----------------------------------------------------------------------


@bp.get("/partner/")
@login_required
def partner_home() -> str:
    session = db_session()
    actor = current_account()
    partner_ids = C.partner_organisations(actor)
    if not partner_ids:
        raise NotPermitted("not a partner business user")
    partners = [session.get(Organisation, pid) for pid in partner_ids]
    return render_template(
        "cards/partner_home.html",
        partners=[p for p in partners if p is not None],
        conventions={p: C.conventions_of_partner(session, p) for p in partners if p is not None},
        uses=C.uses_recorded_by_partners(session, partner_ids),
    )


# --- public: the directory, the counter check, the keys ---------------------------------------


@bp.get("/conventions/")
def directory() -> str:
    text = request.args.get("q", "")[:100]
    category = request.args.get("category", "")
    return render_template(
        "cards/directory.html",
        conventions=C.convention_directory(db_session(), utcnow(), text=text, category=category),
        q=text,
        category=category if category in ConventionCategory.__members__.values() else "",
    )


def _counter_page(result: C.CardCheck, card_ref: str) -> Response:
    conventions: Any = []
    if result.valid and result.card is not None and current_user.is_authenticated:
        conventions = C.conventions_for_counter(
            db_session(), current_account(), result.card, utcnow()
        )
    form = UseForm()
    form.convention_id.choices = [(str(c.id), c.title) for c in conventions]
    status = 200 if result.card is not None else 404
    return private(
        make_response(
            render_template(
                "cards/check.html",
                result=result,
                card_ref=card_ref,
                use_form=form if conventions else None,
                now=utcnow(),
                language_next=url_for("cards.check_form"),
            ),
            status,
        )
    )


@bp.get("/card/verify")
@check_limit
def check_form() -> Response:
    number = request.args.get("number")
    if number is None:
        return private(make_response(render_template("cards/check_form.html")))
    return _counter_page(C.check_card_number(db_session(), number[:60], utcnow()), number[:60])


@bp.get("/card/verify/<payload>")
@check_limit
def check(payload: str) -> Response:
    return _counter_page(C.check_card(db_session(), payload, utcnow()), payload)


def _check_ref(ref: str) -> C.CardCheck:
    session = db_session()
    if C.normalise_card_number(ref) is not None:
        return C.check_card_number(session, ref, utcnow())
    return C.check_card(session, ref, utcnow())


@bp.post("/card/use")
@login_required
@check_limit
def record_use() -> Response:
    ref = request.form.get("card", "")[:200]
    form = UseForm()
    form.convention_id.choices = []
    if not form.validate_on_submit():
        abort(400)
    result = _check_ref(ref)
    if result.card is None:
        raise NotFound("no such card")
    convention_id = _uuid(form.convention_id.data)
    if convention_id is None:
        raise NotFound("no such convention")
    try:
        C.record_card_use(db_session(), current_account(), result.card, convention_id, utcnow())
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        flash(explain(exc), "error")
    else:
        flash(_("Use of the card recorded."), "success")
    target = (
        url_for("cards.check_form", number=result.card.number)
        if C.normalise_card_number(ref)
        else url_for("cards.check", payload=ref)
    )
    return redirect(target)


@bp.get("/card/keys.json")
@limiter.exempt
def keys() -> Response:
    """The public keys that sign talent-card QR codes, for checking them offline."""
    published = []
    for key in C.card_keys(db_session()):
        raw = raw_public_key(key)
        published.append(
            {
                "kid": key.kid,
                "kid_prefix": key.kid[:8],
                "fingerprint": fingerprint(key),
                "organisation": str(key.organisation_id),
                "algorithm": "Ed25519",
                "public_key": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
                "status": "compromised"
                if key.compromised_at
                else "retired"
                if key.retired_at
                else "active",
                "compromised_at": key.compromised_at.isoformat() if key.compromised_at else None,
            }
        )
    response = jsonify(
        {
            "format": "attesta-talent-card-qr",
            "version": 1,
            "documentation": url_for("cards.check_form", _external=True),
            "keys": published,
        }
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

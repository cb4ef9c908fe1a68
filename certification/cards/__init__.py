"""Talent cards (domain.md §2, §6.5, §7.6, §7.7).

The TALENT-CARD of the project documents is given to young people of the programme who ask for
it (certified competences, enrolment, a start-up) and unlocks conventions with partner
businesses. It is a membership artefact, never a certification: the card says so.

- :mod:`lifecycle`: numbers, request and issue, suspension, revocation, expiry, the photo;
- :mod:`counter`: the signed QR payload (:mod:`payload`, checkable offline) and the check at a
  partner's counter, which shows only valid or not, first name and initial, expiry;
- :mod:`partners`: partner businesses, conventions and the uses recorded at the counter;
- :mod:`documents`: the card as a printable PDF and a PNG for the phone.

The names below are the package's public API; the modules import each other directly.
"""

from __future__ import annotations

from certification.cards.counter import (
    CardCheck,
    card_keys,
    check_card,
    check_card_number,
    has_printable_form,
    holder_label,
    qr_payload,
)
from certification.cards.lifecycle import (
    CARD_CHANGES,
    CONSENT_TEXT_VERSION,
    CURRENT_STATES,
    DEFAULT_PROGRAMME,
    MAX_PHOTO_BYTES,
    REVOCATION_REASONS,
    SUSPENSION_REASONS,
    VALIDITY_MONTHS,
    CardChange,
    CardExists,
    CardNotValid,
    ConventionNotForCard,
    allowed_changes,
    card_by_number,
    card_programmes,
    cards_of_holder,
    cards_of_organisation,
    change_card,
    effective_status,
    eligible_certificates,
    expire_cards,
    get_card,
    get_managed_card,
    is_usable,
    issue_card,
    may_manage_cards,
    new_card_number,
    normalise_card_number,
    rebase_cards,
    request_card,
    revoke_cards_resting_on,
    set_card_photo,
    today,
)
from certification.cards.partners import (
    ConventionFields,
    convention_directory,
    conventions_for_counter,
    conventions_of_partner,
    create_partner,
    get_managed_partner,
    partner_organisations,
    partners_of,
    record_card_use,
    save_convention,
    uses_of_card,
    uses_recorded_by_partners,
)

__all__ = [
    "CARD_CHANGES",
    "CONSENT_TEXT_VERSION",
    "CURRENT_STATES",
    "DEFAULT_PROGRAMME",
    "MAX_PHOTO_BYTES",
    "REVOCATION_REASONS",
    "SUSPENSION_REASONS",
    "VALIDITY_MONTHS",
    "CardChange",
    "CardCheck",
    "CardExists",
    "CardNotValid",
    "ConventionFields",
    "ConventionNotForCard",
    "allowed_changes",
    "card_by_number",
    "card_keys",
    "card_programmes",
    "cards_of_holder",
    "cards_of_organisation",
    "change_card",
    "check_card",
    "check_card_number",
    "convention_directory",
    "conventions_for_counter",
    "conventions_of_partner",
    "create_partner",
    "effective_status",
    "eligible_certificates",
    "expire_cards",
    "get_card",
    "get_managed_card",
    "get_managed_partner",
    "has_printable_form",
    "holder_label",
    "is_usable",
    "issue_card",
    "may_manage_cards",
    "new_card_number",
    "normalise_card_number",
    "partner_organisations",
    "partners_of",
    "qr_payload",
    "rebase_cards",
    "record_card_use",
    "request_card",
    "revoke_cards_resting_on",
    "save_convention",
    "set_card_photo",
    "today",
    "uses_of_card",
    "uses_recorded_by_partners",
]

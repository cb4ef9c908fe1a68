"""Journey 5 of issue 8: a partner business checks a Talent Card at the counter.

The partner (Stamperia del Torrazzo) scans the QR code of Elisa Fontana's card from the demo
data, records the use of its convention, then types the card number, and a mistyped one.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.journeys.support import Instance, Visitor, menu_link

CONVENTION = "Biglietti da visita e volantini"


def test_5_partner_checks_a_talent_card_at_the_counter(
    people: Callable[[str], Visitor], instance: Instance
) -> None:
    number = instance.demo["cards"]["active"]
    partner = people("partner")
    page = partner.page
    verdict = page.locator(".verdict")
    partner.log_in(instance.account("partner"))
    partner.follow(menu_link(page, "Impresa partner"))
    uses = page.locator("h2:has-text('Ultimi utilizzi registrati') + ul > li")
    before = uses.count()

    # The QR code on the back of the card, scanned with the phone's camera.
    partner.goto(instance.card_qr_url(number))
    expect(verdict.locator(".verdict-title")).to_have_text("Card valida")
    expect(verdict).to_contain_text("Elisa F.")
    expect(verdict).to_contain_text("Scadenza:")
    expect(verdict).not_to_contain_text("Fontana")
    page.get_by_label("Convenzione utilizzata").select_option(label=CONVENTION)
    partner.follow(page.get_by_role("button", name="Registra l'utilizzo"))
    expect(page.locator(".flash-success")).to_have_text("Utilizzo della card registrato.")

    # The card number, typed; then one with a typo.
    partner.follow(page.get_by_role("link", name="Verifica un'altra card"))
    page.get_by_label("Numero della card", exact=True).fill(number.lower().replace("-", " "))
    partner.follow(page.get_by_role("button", name="Verifica", exact=True))
    expect(verdict.locator(".verdict-title")).to_have_text("Card valida")
    expect(verdict).to_contain_text("Elisa F.")
    partner.follow(page.get_by_role("link", name="Verifica un'altra card"))
    mistyped = number[:-1] + ("A" if number[-1] != "A" else "B")
    page.get_by_label("Numero della card", exact=True).fill(mistyped)
    partner.follow(page.get_by_role("button", name="Verifica", exact=True), status=404)
    expect(verdict.locator(".verdict-title")).to_have_text("Card non valida")
    expect(verdict).not_to_contain_text("Elisa")

    # The use is in the partner's list.
    partner.follow(menu_link(page, "Impresa partner"))
    expect(uses).to_have_count(before + 1)
    expect(uses.first).to_contain_text(CONVENTION)

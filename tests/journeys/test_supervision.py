"""Issue 18, point 6: the Region sees what it supervises.

The regional supervisor of the demo data (Anna Lombardi) opens the certificates register,
keeps the revoked ones, opens one and reads it as revoked; then the dashboard, whose charts are
images named by a title and a description, each with its data table.
(English is tested in tests/app/test_register.py: the journeys' pages are Italian.)
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.journeys.support import Instance, Visitor, menu_link


def test_6_supervisor_opens_a_revoked_certificate_and_the_dashboard(
    people: Callable[[str], Visitor], instance: Instance
) -> None:
    region = people("regione")
    page = region.page
    region.log_in(instance.account("regione"))
    region.follow(menu_link(page, "La mia area"))
    region.follow(page.get_by_role("link", name="Registro dei certificati"))
    page.get_by_label("Stato").select_option("revoked")
    region.follow(page.get_by_role("button", name="Filtra"))
    row = page.locator("main ul.cards > li").first
    expect(row.locator(".badge")).to_have_text("Revocato")
    number = row.get_by_role("link").first.inner_text().strip()

    region.follow(row.get_by_role("link", name=number))
    expect(page.locator("main .meta .badge").first).to_have_text("Revocato")
    expect(page.locator("main")).to_contain_text(number)

    region.follow(menu_link(page, "La mia area"))
    region.follow(page.get_by_role("link", name="Cruscotto di vigilanza"))
    charts = page.locator("main svg[role=img]")
    expect(charts).to_have_count(5)
    expect(page.locator("main table caption")).to_have_count(7)
    expect(page.get_by_role("img", name="Verifiche per mese")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

"""A wallet's side of OpenID4VCI over HTTP, for the tests: the holder's offer on the
certificate's page (the link's pre-authorized code and the PIN), the token and the credential
requests."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from certification.wallet.offers import CONFIGURATION_ID, PRE_AUTHORIZED_GRANT
from tests.support.web import post_form

ISSUER = "http://localhost"
PIN_RE = re.compile(r'data-testid="wallet-pin">(\d{6})<')
LINK_RE = re.compile(r'href="(openid-credential-offer://[^"]+)"')


def offer_on_page(client: FlaskClient, certificate: Any) -> tuple[str, str]:
    """Make an offer on the holder's page: the pre-authorized code (from the link) and the PIN."""
    page = f"/certificates/{certificate.id}/wallet"
    response = post_form(client, page, {})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in html  # the QR code
    assert "codice della transazione" in html
    link = LINK_RE.search(html)
    pin = PIN_RE.search(html)
    assert link and pin
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    offer = json.loads(query["credential_offer"][0])
    assert offer["credential_issuer"] == ISSUER
    grant = offer["grants"][PRE_AUTHORIZED_GRANT]
    return grant["pre-authorized_code"], pin.group(1)


def token_response(client: FlaskClient, code: str, pin: str) -> Any:
    return client.post(
        "/wallet/token",
        data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": pin},
    )


def credential_response(client: FlaskClient, token: str, proof: str) -> Any:
    return client.post(
        "/wallet/credential",
        json={
            "credential_configuration_id": CONFIGURATION_ID,
            "proofs": {"jwt": [proof]},
        },
        headers={"Authorization": f"Bearer {token}"},
    )

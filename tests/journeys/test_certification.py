"""Journeys 1-4 of issue 8: from sign-up to a certificate an employer verifies.

Each viewport has its own candidate, whose case the next journey carries on (``Story``): the
candidate applies (1), staff take the case to a sealed certificate (2), the candidate downloads
it and a Talent Card (3), an employer verifies it (4). Everything is clicked and typed in
Italian, as people would.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import http.server
import json
import re
import secrets
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pikepdf
from playwright.sync_api import Locator, Page, expect

from tests.journeys.support import (
    Instance,
    Story,
    Viewport,
    Visitor,
    free_port,
    menu_link,
    one_page_pdf,
    pdf_text,
    pdfsig,
    qr_code_in,
    select_starting_with,
)

PROFILE = "DEMO-P01"
COMPETENCE = "DEMO-C01"
CRITERIA = ("DEMO-C01-I1", "DEMO-C01-I2", "DEMO-C01-I3")
#: One candidate per viewport: (given name, family name).
CANDIDATES = {"phone": ("Martina", "Galbiati"), "desktop": ("Federico", "Brambilla")}


def status_badge(page: Page) -> Locator:
    """The status of the case (or card) the page shows."""
    return page.locator("main .badge-status").first


def open_case(person: Visitor, candidate: str) -> None:
    """Staff find the case in their list (Domande) by searching the candidate's name."""
    page = person.page
    person.follow(menu_link(page, "Domande"))
    page.get_by_label("Cerca", exact=True).fill(candidate)
    person.follow(page.get_by_role("button", name="Cerca", exact=True))
    expect(page.get_by_role("status")).to_contain_text("1 pratica")
    person.follow(page.get_by_role("link", name=re.compile(f"— {candidate}$")))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Animatore di spazi di coworking e community"
    )


def open_from_my_action(person: Visitor, candidate: str, task: str) -> None:
    """Staff open the case from "Serve una mia azione" on their home, under ``task``."""
    page = person.page
    person.follow(menu_link(page, "La mia area"))
    todo = page.locator("section", has=page.get_by_role("heading", name="Serve una mia azione"))
    group = todo.get_by_role("list", name=re.compile(f"^{task}"))
    person.follow(group.get_by_role("link", name=re.compile(f"— {candidate}$")))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Animatore di spazi di coworking e community"
    )


# --- journey 1 ----------------------------------------------------------------------------------


def test_1_candidate_signs_up_builds_portfolio_and_applies(
    people: Callable[[str], Visitor], viewport: Viewport, story: Story, tmp_path: Path
) -> None:
    given, family = CANDIDATES[viewport.name]
    email = f"{given}.{family}.{viewport.name}@journeys.attesta.example".lower()
    me = people("candidate")
    page = me.page

    # Sign up from the home page.
    me.goto("/")
    me.follow(page.get_by_role("main").get_by_role("link", name="Crea il tuo account"))
    page.get_by_label("Nome", exact=True).fill(given)
    page.get_by_label("Cognome").fill(family)
    page.get_by_label("E-mail").fill(email)
    password = f"la mia frase segreta {viewport.name}"
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Ripeti la password").fill(password)
    page.get_by_label(re.compile("^Ho letto l'informativa")).check()
    me.follow(page.get_by_role("button", name="Crea account"))
    expect(page.locator(".flash-success")).to_have_text(
        f"Ti diamo il benvenuto in Attesta, {given}."
    )
    expect(page.locator("#confirm-email")).to_contain_text(email)
    # The platform's privacy notice the sign-up form linked to (version 1 of the demo's).
    me.goto("/privacy")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Informativa")
    story.email, story.password, story.name = email, password, f"{given} {family}"

    # Choose the profile aimed at.
    me.follow(menu_link(page, "Portfolio"))
    me.follow(page.get_by_role("main").get_by_role("link", name="Competenze e criteri").first)
    select_starting_with(page.get_by_label("Profilo"), f"{PROFILE} ")
    me.follow(page.get_by_role("button", name="Scegli", exact=True))
    expect(page.locator(f"#h-{COMPETENCE}")).to_contain_text(
        "Accogliere i membri e animare la community del coworking"
    )

    # Record an experience.
    me.follow(menu_link(page, "Portfolio"))
    me.follow(page.get_by_role("link", name="Aggiungi un'esperienza"))
    page.get_by_label("Che cosa hai fatto?").select_option(label="Animazione di spazi di coworking")
    page.get_by_label("Il tuo ruolo").fill("Community host")
    page.get_by_label("Dove (organizzazioni già presenti)").select_option(label="COBOX Coworking")
    page.get_by_label("Da", exact=True).fill("2024-09-01")
    page.get_by_label("A", exact=True).fill("2025-06-30")
    page.get_by_label("Ore (circa)").fill("480")
    page.get_by_label("Cosa hai fatto e con quali risultati").fill(
        "Ho accolto 12 nuovi membri con una checklist di onboarding, fatto presentazioni tra "
        "membri e raccolto i loro feedback ogni mese."
    )
    me.follow(page.get_by_role("button", name="Salva"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Community host")

    # Upload the evidence: a PDF made here.
    evidence = tmp_path / "checklist-onboarding.pdf"
    evidence.write_bytes(one_page_pdf("Checklist di onboarding - COBOX Coworking"))
    me.follow(page.get_by_role("link", name="Un file"))
    page.get_by_label("Tipo di evidenza").select_option(label="Documento / attestazione")
    page.get_by_label("Titolo").fill("Checklist di onboarding dei nuovi membri")
    # A file over the limit is stopped in the browser, before anything is sent.
    big = tmp_path / "scansione-enorme.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024))
    page.get_by_label("File", exact=True).set_input_files(big)
    status = page.locator("[data-upload-status]")
    expect(status).to_contain_text("scansione-enorme.pdf supera i 20 MB")
    page.get_by_role("button", name="Salva").click()
    expect(status).to_contain_text("Non è stato inviato nulla")
    assert page.url.endswith("kind=file")
    # The right one is sent with its progress bar.
    page.get_by_label("File", exact=True).set_input_files(evidence)
    expect(page.locator(".upload-list progress")).to_have_count(1)
    expect(status).to_be_empty()
    me.follow(page.get_by_role("button", name="Salva"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Checklist di onboarding dei nuovi membri"
    )
    expect(page.get_by_role("link", name="checklist-onboarding.pdf")).to_be_visible()

    # Link it to the three criteria of the competence, in one form.
    me.follow(page.get_by_role("link", name="Collega a più criteri insieme"))
    for criterion in CRITERIA:
        page.get_by_label(re.compile(f"^{criterion} ")).check()
    page.get_by_label("Perché questa evidenza li dimostra").fill(
        "La checklist documenta i tre criteri dell'accoglienza."
    )
    me.follow(page.get_by_role("button", name="Collega ai criteri spuntati"))
    expect(page.locator(".flash-success")).to_contain_text("collegata a 3 criteri")
    me.follow(page.get_by_role("link", name="Il mio portfolio").first)
    expect(page.locator(".coverage li").first).to_contain_text("3 di 3 criteri con evidenze")

    # Apply for the one competence, then submit.
    me.follow(page.get_by_role("link", name="Chiedi la validazione e la certificazione"))
    page.get_by_label("Solo alcune competenze").check()
    page.get_by_label(re.compile(f"^{COMPETENCE} ")).check()
    me.follow(page.get_by_role("button", name="Crea la domanda"))
    expect(status_badge(page)).to_have_text("Bozza")
    # Submitting needs the confirmed address: the link is in the mail (the development outbox).
    expect(page.locator("#confirm-email")).to_contain_text("Invia di nuovo il link")
    case_url = page.url
    me.goto("/outbox/")
    mail = page.locator("article.mail", has_text=email).filter(
        has_text="Attesta: conferma il tuo indirizzo e-mail"
    )
    me.follow(mail.first.get_by_role("link").first)
    expect(page.locator(".flash-success")).to_have_text(
        "Il tuo indirizzo e-mail è confermato. Grazie."
    )
    me.goto(re.sub(r"^https?://[^/]+", "", case_url))
    expect(page.locator("#confirm-email")).to_have_count(0)
    page.get_by_label("Data di nascita").fill("2001-04-23")
    page.get_by_label("Luogo di nascita").fill("Cremona")
    for consent in ("Acconsento al trattamento", "Accetto che i datori di lavoro", "Dichiaro che"):
        page.get_by_label(re.compile(f"^{consent}")).check()
    me.follow(page.get_by_role("button", name="Presenta", exact=True))
    expect(status_badge(page)).to_have_text("Presentata")
    expect(page.locator("main .meta")).to_contain_text(re.compile(r"Protocollo CML-\d{4}-\d{6}"))
    story.case_url = page.url
    # Her home now says where she stands on the IVC path and what comes next (issue 19).
    me.follow(menu_link(page, "La mia area"))
    expect(page.locator("ol.stepper [aria-current=step]")).to_contain_text("Domanda")
    expect(page.locator("p.next-step")).to_contain_text("prende in carico la tua domanda")
    story.reached.add("applied")


# --- journey 2 ----------------------------------------------------------------------------------


def test_2_staff_review_assess_and_issue(
    people: Callable[[str], Visitor], instance: Instance, story: Story, tmp_path: Path
) -> None:
    story.require("applied")
    candidate = story.name

    # Reception: take in charge, admit with the tutor.
    operator = people("operatore accoglienza")
    operator.log_in(instance.account("operatore"))
    open_case(operator, candidate)
    page = operator.page
    expect(status_badge(page)).to_have_text("Presentata")
    operator.follow(page.get_by_role("button", name="Prendi in carico"))
    expect(status_badge(page)).to_have_text("In accoglienza")
    page.get_by_label("Tutor").select_option(label="Marco Ferrari")
    operator.follow(page.get_by_role("button", name="Ammetti e assegna il tutor"))
    expect(status_badge(page)).to_have_text("Individuazione con il tutor")

    # The tutor issues the Documento di trasparenza.
    tutor = people("tutor")
    tutor.log_in(instance.account("tutor"))
    open_case(tutor, candidate)
    page = tutor.page
    tutor.follow(page.get_by_role("button", name="Rilascia il Documento di trasparenza"))
    expect(status_badge(page)).to_have_text("Documento di trasparenza rilasciato")
    expect(
        page.get_by_role("link", name=re.compile("^Documento di trasparenza DT-"))
    ).to_be_visible()

    # The candidate goes on to validation.
    me = people("candidate")
    me.log_in(story.email, story.password)
    me.goto(story.case_url)
    me.follow(me.page.get_by_role("button", name="Chiedi la validazione"))
    expect(status_badge(me.page)).to_have_text("Esame del dossier")

    # The certifier reviews the dossier, criterion by criterion (an assessor sees the case only
    # once on its panel).
    certifier = people("certificatore")
    certifier.log_in(instance.account("certificatore"))
    open_from_my_action(certifier, candidate, "Esame del dossier e pianificazione")
    page = certifier.page
    certifier.follow(page.get_by_role("link", name="Esamina il dossier criterio per criterio"))
    expect(page.get_by_role("link", name="Apri checklist-onboarding.pdf")).to_be_visible()
    for criterion in CRITERIA:
        row = page.locator(f"#crit-{criterion}")
        select_starting_with(row.get_by_label(f"Livello {criterion}"), "L3 ")
        row.get_by_label(f"Nota {criterion}").fill("Documentato dalla checklist.")
        certifier.follow(row.get_by_role("button", name="Salva"))
        expect(page.locator(f"#crit-{criterion}")).to_contain_text("L3 ✓ supera")

    # The certifier plans the assessment with a panel.
    open_case(certifier, candidate)
    page.get_by_label("Colloquio tecnico").check()
    when = dt.datetime.now(dt.UTC).astimezone() + dt.timedelta(days=7)
    page.get_by_label("Data e ora").fill(when.strftime("%Y-%m-%dT10:00"))
    page.get_by_label("Luogo", exact=True).fill("Via Palestro 30, Cremona")
    page.get_by_label("Elena Ricci").check()
    page.get_by_label(re.compile("^Giorgio Galli")).check()
    certifier.follow(page.get_by_role("button", name="Programma e convoca"))
    expect(status_badge(page)).to_have_text("Valutazione programmata")

    # Both panel members declare no conflict of interest: the sector assessor now finds the case.
    assessor = people("assessor")
    assessor.log_in(instance.account("assessor"))
    open_case(assessor, candidate)
    for member in (certifier, assessor):
        member.page.get_by_label(re.compile("^Dichiaro di non avere alcun conflitto")).check()
        member.follow(member.page.get_by_role("button", name="Dichiara"))
        expect(member.page.locator(".flash-success")).to_be_visible()

    # The certifier opens the session (now that the whole panel has declared) and records
    # the outcome.
    open_case(certifier, candidate)
    page.get_by_label(re.compile("^Ho verificato il documento d'identità")).check()
    certifier.follow(page.get_by_role("button", name="Apri la sessione"))
    expect(status_badge(page)).to_have_text("Valutazione in corso")
    certifier.follow(page.get_by_role("link", name="Registra gli esiti"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Esiti della valutazione")
    # The form starts from what the ratings say (every criterion passing: validated).
    expect(page.get_by_label("Esito")).to_have_value("validata")
    page.get_by_label("Motivazioni").fill("Tutti i criteri sono dimostrati dalla checklist.")
    # The verbale's content first; nothing is recorded until it is confirmed.
    certifier.follow(page.get_by_role("button", name="Controlla il verbale prima di registrarlo"))
    expect(page.locator("main")).to_contain_text("Validata per intero")
    certifier.follow(page.get_by_role("button", name="Conferma e registra"))
    expect(status_badge(page)).to_have_text("Certificazione")
    # Certifying asks first (in a dialog, with JavaScript), naming what is certified.
    page.get_by_role("link", name="Conferma la certificazione…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Competenze certificate: {COMPETENCE}")
    dialog.get_by_label(re.compile("^Confermo l'esito")).check()
    certifier.follow(dialog.get_by_role("button", name="Conferma la certificazione"))
    expect(status_badge(page)).to_have_text("Certificata")

    # The signatory issues and seals the certificate.
    signatory = people("firmatario")
    signatory.log_in(instance.account("firmatario"))
    open_from_my_action(signatory, candidate, "Certificato da rilasciare")
    page = signatory.page
    # First the preview: the exact certificate, marked as not valid, never sealed or stored.
    preview = page.get_by_role("link", name=re.compile("^Vedi il certificato prima di sigillarlo"))
    shown = page.context.request.get(signatory.url(preview.get_attribute("href") or ""))
    assert shown.ok and shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert "no-store" in shown.headers["cache-control"]
    (tmp_path / "anteprima.pdf").write_bytes(shown.body())
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "anteprima.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "ANTEPRIMA — non valido" in text and story.name.split()[-1] in text
    assert b"/ByteRange" not in shown.body()  # not sealed
    signatory.follow(page.get_by_role("button", name="Rilascia e sigilla il certificato"))
    expect(page.locator(".flash-success")).to_contain_text("rilasciato e sigillato")
    expect(page.locator("main .meta .badge")).to_have_text("Valido")
    expect(page.locator("main .meta")).to_contain_text(re.compile(r"Certificato LOM-CML-\d{4}-"))
    expect(page.locator("main")).to_contain_text(story.name)
    # A revocation without the certificate's number changes nothing, and says why.
    revoke = page.locator("details", has_text="Revoca (irreversibile)")
    revoke.locator("summary").click()
    revoke.get_by_label(re.compile("^Motivazione \\(resta agli atti")).fill(
        "Prova di una revoca non confermata."
    )
    revoke.get_by_label(re.compile("^Per confermare, scrivi il numero")).fill("LOM-CML-0000-000000")
    signatory.follow(page.get_by_role("button", name="Revoca il certificato"))
    expect(page.locator(".flash-error")).to_contain_text("non è quello di questo certificato")
    expect(page.locator("main .meta .badge")).to_have_text("Valido")
    story.reached.add("issued")


# --- journey 3 ----------------------------------------------------------------------------------


def test_3_candidate_downloads_certificate_and_talent_card(
    people: Callable[[str], Visitor], story: Story, tmp_path: Path
) -> None:
    story.require("issued")
    me = people("candidate")
    page = me.page
    me.log_in(story.email, story.password)

    # The certificate, from the candidate's area.
    certificates = page.locator("#certs-h + ul")
    expect(certificates).to_contain_text("Valido")
    me.follow(certificates.get_by_role("link").first)
    expect(page.locator("main .meta .badge")).to_have_text("Valido")
    story.code = page.locator("main dl.details code").first.inner_text().strip()
    story.verification_url = (
        page.locator("dl.details").get_by_role("link").first.get_attribute("href") or ""
    )
    pdf = me.download(page.get_by_role("link", name="PDF sigillato"), tmp_path / "certificato.pdf")
    assert pdf.startswith(b"%PDF-")
    signatures = pdfsig(tmp_path / "certificato.pdf")
    if signatures is not None:  # poppler-utils: the seal and the document time-stamp (B-LTA)
        fields = re.findall(r"^  - Signature Field Name: (\S+)", signatures, flags=re.MULTILINE)
        assert fields == ["SigilloAttesta", "MarcaTemporaleAttesta"]
        seal = signatures.split("Signature #2:")[0]
        assert "Signature Validation: Signature is Valid." in seal
    story.pdf = tmp_path / "certificato.pdf"
    printed = qr_code_in(story.pdf)
    if printed is not None:  # zbar-tools: the QR code printed on the certificate
        assert printed == story.verification_url
    # One competence of the profile: the page says it is partial (issue 19), and so do the sealed
    # PDF's text and the Open Badges credential inside it.
    expect(page.get_by_role("heading", level=1)).to_contain_text("singole competenze")
    expect(page.locator(".coverage-note")).to_contain_text("non il profilo completo")
    with pikepdf.open(story.pdf) as sealed:
        files = sealed.attachments
        credential = json.loads(files[next(iter(files))].get_file().read_bytes())
    achievement = credential["credentialSubject"]["achievement"]
    assert "singole competenze" in achievement["name"].lower()
    text = pdf_text(story.pdf)
    if text is not None:  # poppler-utils
        assert "singole competenze" in " ".join(text.split()).lower()
    # Into a wallet (issue 23): the offer's QR code, as the wallet's camera sees it on the screen.
    me.follow(page.get_by_role("link", name="Aggiungi al wallet"))
    me.follow(page.get_by_role("button", name="Aggiungi al wallet"))
    expect(page.get_by_test_id("wallet-pin")).to_have_text(re.compile(r"^\d{6}$"))
    offer_link = page.get_by_role("link", name="Apri nell'app del wallet").get_attribute("href")
    assert offer_link and offer_link.startswith("openid-credential-offer://?credential_offer=")
    page.locator("figure.qr-screen img").screenshot(path=tmp_path / "wallet-offer.png")
    scanned = qr_code_in(tmp_path / "wallet-offer.png")
    if scanned is not None:  # zbar-tools
        assert scanned == offer_link
    offer_page = page.url
    wallet_authorization_code(me, tmp_path)
    me.goto(offer_page)
    me.follow(page.locator("nav.breadcrumb a"))
    # Issued: the application offers no withdrawal any more (issue 18).
    me.follow(page.locator("nav.breadcrumb a"))
    expect(page.locator("main .badge-status").first).to_have_text("Certificato rilasciato")
    expect(page.get_by_role("link", name=re.compile("^Ritira la domanda"))).to_have_count(0)
    story.reached.add("downloaded")

    # The Talent Card, active at once on the certificate.
    me.follow(menu_link(page, "Talent Card"))
    page.get_by_label(re.compile("^Acconsento|^Accetto")).check()
    me.follow(page.get_by_role("button", name="Richiedi la card"))
    expect(status_badge(page)).to_have_text("Attiva")
    card = me.download(
        page.get_by_role("link", name=re.compile("^Card da stampare")), tmp_path / "card.pdf"
    )
    assert card.startswith(b"%PDF-")
    image = me.download(
        page.get_by_role("link", name="Immagine per il telefono (PNG)"), tmp_path / "card.png"
    )
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    printed = qr_code_in(tmp_path / "card.png")
    if printed is not None:  # the QR code a partner scans at the counter
        assert printed.startswith(f"{me.base_url}/card/verify/")
    # The same QR code shown on the screen, as held up at a counter: a screenshot of it decodes.
    shown = page.locator("figure.qr-screen img")
    expect(shown).to_be_visible()
    shown.screenshot(path=tmp_path / "card-screen.png")
    on_screen = qr_code_in(tmp_path / "card-screen.png")
    if on_screen is not None:
        assert on_screen.startswith(f"{me.base_url}/card/verify/")


# --- journey 4 ----------------------------------------------------------------------------------


class _WalletSite(http.server.BaseHTTPRequestHandler):
    """The wallet's own site on the loopback (RFC 8252 §7.3), where the browser comes back."""

    def do_GET(self) -> None:
        body = (
            b'<!doctype html><html lang="it"><head><title>Wallet</title></head>'
            b"<body><main><h1>Wallet</h1></main></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def wallet_authorization_code(me: Visitor, tmp_path: Path) -> None:
    """The wallet-initiated way in (issue 23): the wallet opens Attesta's authorization page
    in the holder's browser (logged in already), the holder consents in Italian, and the
    browser goes back to the wallet's redirect_uri (a small site of the test's on the loopback)
    with a one-time code, which the wallet trades with its PKCE verifier for an access token.
    The consent page's CSP must let the form's redirect to the wallet through: Chromium
    enforces form-action on it."""
    page = me.page
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    site = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _WalletSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{site.server_address[1]}/callback"
    params = {
        "response_type": "code",
        "client_id": "https://wallet.example/app",
        "redirect_uri": callback,
        "scope": "attesta_certificate",
        "state": "journey",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    try:
        _consent_in_the_browser(me, params, tmp_path)
    finally:
        site.shutdown()
        site.server_close()
    answer = urlsplit(page.url)
    assert f"{answer.scheme}://{answer.netloc}{answer.path}" == callback
    back = {name: values[0] for name, values in parse_qs(answer.query).items()}
    assert back["state"] == "journey" and "code" in back
    token = _post_form(
        me.base_url + "/wallet/token",
        {
            "grant_type": "authorization_code",
            "code": back["code"],
            "code_verifier": verifier,
            "redirect_uri": callback,
            "client_id": params["client_id"],
        },
    )
    assert token[0] == 200 and token[1]["token_type"] == "Bearer", token


def _consent_in_the_browser(me: Visitor, params: dict[str, str], tmp_path: Path) -> None:
    page = me.page
    me.goto("/wallet/authorize?" + urlencode(params))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Un wallet chiede uno dei tuoi certificati"
    )
    expect(page.get_by_role("radio").first).to_be_checked()
    page.screenshot(path=tmp_path / f"wallet-consent-{me.viewport.name}.png", full_page=True)
    me.follow(page.get_by_role("button", name="Consenti"))


def _post_form(url: str, form: dict[str, str]) -> tuple[int, dict[str, str]]:
    """A wallet's own request (no browser): status and JSON body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            parts.path,
            body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_4_employer_verifies_by_link_code_and_file(
    people: Callable[[str], Visitor], instance: Instance, story: Story, tmp_path: Path
) -> None:
    story.require("downloaded")
    employer = people("datore di lavoro")
    page = employer.page
    verdict = page.locator(".verdict-title")

    # The QR link printed on the certificate.
    employer.goto(story.verification_url)
    expect(verdict).to_have_text("Valido")
    expect(page.locator(".checks")).to_contain_text("Stato: sì")
    expect(page.locator("main")).to_contain_text(f"{COMPETENCE} Accogliere i membri")

    # The code, typed.
    employer.follow(menu_link(page, "Verifica un certificato"))
    page.get_by_label("Codice di verifica").fill(story.code.lower())
    employer.follow(page.get_by_role("button", name="Verifica", exact=True))
    expect(verdict).to_have_text("Valido")

    # The PDF, uploaded: choosing the file sends it.
    employer.follow(menu_link(page, "Verifica un certificato"))
    assert story.pdf is not None
    with employer.navigation():
        page.get_by_label("PDF del certificato o credenziale (JSON)").set_input_files(story.pdf)
    expect(verdict).to_have_text("Valido")
    expect(page.locator(".checks")).to_contain_text("Identico a quello rilasciato: sì")
    expect(page.locator("main dl.details")).to_contain_text("Singole competenze: 1 delle")
    # Each certified competence opens to what it means (issue 19), from the signed content.
    detail = page.locator("details.competence-detail").first
    expect(detail.get_by_role("heading", name="Abilità")).to_be_hidden()
    detail.locator("summary").click()
    expect(detail.get_by_role("heading", name="Abilità")).to_be_visible()
    expect(detail.get_by_role("heading", name="Conoscenze")).to_be_visible()
    # The upload's verdict kept at an address of its own, opened by someone else's browser.
    employer.follow(page.get_by_role("button", name="Conserva questo risultato"))
    kept_url = page.get_by_label("Indirizzo di questo risultato").input_value()
    assert "/verify/r/" in kept_url
    colleague = people("collega del datore di lavoro")
    colleague.goto(kept_url)
    expect(colleague.page.locator(".verdict-title")).to_have_text("Valido")
    expect(colleague.page.locator("#kept-h")).to_have_text("Un risultato conservato")

    # A wallet check (issue 23): the request's QR code and same-device link, the page waiting.
    employer.follow(menu_link(page, "Verifica un certificato"))
    employer.follow(page.get_by_role("link", name="Verifica da wallet"))
    page.get_by_label("Data di nascita").check()
    employer.follow(page.get_by_role("button", name="Crea la richiesta"))
    request_link = page.get_by_role("link", name="Apri nell'app del wallet").get_attribute("href")
    assert request_link and request_link.startswith("openid4vp://?")
    expect(page.locator("[data-wallet-poll]")).to_contain_text("In attesa del wallet")
    page.locator("figure.qr-screen img").screenshot(path=tmp_path / "wallet-request.png")
    scanned = qr_code_in(tmp_path / "wallet-request.png")
    if scanned is not None:  # zbar-tools
        assert scanned == request_link

    # A revoked certificate of the demo data.
    employer.goto(f"/verify/{instance.demo['certificates']['revoked']}")
    expect(verdict).to_have_text("Non valido")
    expect(page.locator(".verdict")).to_contain_text("Revocato dall'ente che lo ha rilasciato")
    expect(page.locator(".checks")).to_contain_text("Stato: no")

"""The demo candidates' portfolios and applications (part of ``demo load``).

Giulia Rossi animated COBOX co-working in Cremona and organised events with the Kairos youth
association: her portfolio has real files (PDFs, a photo), a confirmed testimonial, a
self-declaration, links to the criteria of DEMO-P01, and a Documento di trasparenza issued by
her tutor. Luca Bianchi's application waits at reception; Sara Esposito's is with her tutor.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.cases import workflow
from certification.cases.documents import issue_transparency_document
from certification.demo.cases import load_cases
from certification.models import (
    CertificationCase,
    EvidenceType,
    ExperienceKind,
    LearningContext,
    Organisation,
    Profile,
    UserAccount,
)
from certification.portfolio import operations as portfolio
from certification.rendering import DocumentRenderer
from certification.storage.blobs import BlobStorage

MB = 1024 * 1024


def simple_pdf(title: str, lines: list[str]) -> bytes:
    """A small, valid one-page PDF with a title and lines of text (standard Helvetica)."""

    def esc(text: str) -> str:
        data = text.encode("cp1252", "replace").decode("latin-1")
        return data.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT /F1 16 Tf 56 780 Td (" + esc(title) + ") Tj ET"]
    y = 745
    for line in lines:
        ops.append(f"BT /F1 11 Tf 56 {y} Td (" + esc(line) + ") Tj ET")
        y -= 18
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R"
        b" >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def event_photo() -> bytes:
    """A drawn 'photo' of a meet-up: chairs facing a screen (JPEG)."""
    from PIL import Image, ImageDraw  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    image = Image.new("RGB", (960, 640), (236, 240, 238))
    draw = ImageDraw.Draw(image)
    draw.rectangle((300, 60, 660, 260), fill=(11, 93, 75))
    draw.text((330, 140), "Co-Work Talk #12 - Cremona", fill=(255, 255, 255))
    for row in range(4):
        for seat in range(8):
            x, y = 140 + seat * 90, 330 + row * 70
            draw.ellipse((x, y, x + 40, y + 40), fill=(120 + row * 20, 80, 60))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _profile(session: Session, code: str) -> Profile:
    found = session.scalar(select(Profile).where(Profile.code == code))
    if found is None:
        raise LookupError(code)
    return found


def _link(
    session: Session,
    actor: UserAccount,
    evidence: Any,
    profile: Profile,
    code: str,
    criterion_index: int | None,
    note: str,
    now: dt.datetime,
) -> None:
    competence = next(
        pc.competence for pc in profile.competence_links if pc.competence.code == code
    )
    criterion = competence.criteria[criterion_index] if criterion_index is not None else None
    portfolio.link_evidence(session, actor, evidence, competence, criterion, note, now)


def load_portfolios(
    session: Session,
    storage: BlobStorage,
    renderer: DocumentRenderer | None,
    accounts: dict[str, UserAccount],
    orgs: dict[str, Organisation],
    now: dt.datetime,
) -> dict[str, Any]:
    """Create the candidates' portfolios and cases unless they exist already."""
    giulia, luca, sara = (
        accounts["giulia.rossi"],
        accounts["luca.bianchi"],
        accounts["sara.esposito"],
    )
    summary: dict[str, Any] = {}
    if not portfolio.experiences_of(session, giulia.person):
        _giulia(session, storage, renderer, giulia, accounts, orgs, now)
    if (
        session.scalar(
            select(CertificationCase).where(CertificationCase.candidate_id == luca.person_id)
        )
        is None
    ):
        _luca(session, luca, orgs, now)
    if (
        session.scalar(
            select(CertificationCase).where(CertificationCase.candidate_id == sara.person_id)
        )
        is None
    ):
        _sara(session, sara, accounts, orgs, now)
    load_cases(session, storage, renderer, accounts, orgs["consorzio"], now)
    for local, account in sorted(accounts.items()):
        if account.person.is_candidate:
            summary[local] = [
                {
                    "protocol": c.protocol_number,
                    "status": c.status.value,
                    "documents": [d.number for d in c.documents],
                }
                for c in workflow.cases_of_candidate(session, account.person)
            ]
    return summary


def _submission(birth: dt.date, place: str, codice: str | None) -> workflow.SubmissionInput:
    return workflow.SubmissionInput(
        birth_date=birth,
        birth_place=place,
        codice_fiscale=codice,
        consent_processing=True,
        consent_public_verification=True,
        declaration_accepted=True,
    )


def _giulia(
    session: Session,
    storage: BlobStorage,
    renderer: DocumentRenderer | None,
    giulia: UserAccount,
    accounts: dict[str, UserAccount],
    orgs: dict[str, Organisation],
    now: dt.datetime,
) -> None:
    person = giulia.person
    p01 = _profile(session, "DEMO-P01")
    cowork = portfolio.create_experience(
        session,
        giulia,
        person,
        portfolio.ExperienceInput(
            kind=ExperienceKind.ANIMAZIONE_COWORKING,
            learning_context=LearningContext.INFORMALE,
            role_title="Community host del coworking",
            host_organisation_id=orgs["cobox"].id,
            start_date=dt.date(2024, 9, 2),
            end_date=dt.date(2025, 12, 19),
            hours_estimate=640,
            description=(
                "Accoglienza e onboarding dei nuovi membri (circa 45 in 16 mesi), "
                "presentazioni tra professionisti, gestione delle prenotazioni delle sale e "
                "del calendario degli eventi Co-Work, newsletter mensile e pagina Instagram "
                "dello spazio."
            ),
            referee_name="Davide Sartori (responsabile COBOX)",
            referee_contact="davide.sartori@cobox.example",
        ),
        now,
    )
    events = portfolio.create_experience(
        session,
        giulia,
        person,
        portfolio.ExperienceInput(
            kind=ExperienceKind.ORGANIZZAZIONE_EVENTO,
            learning_context=LearningContext.NON_FORMALE,
            role_title="Volontaria, coordinamento del ciclo di incontri",
            host_name=None,
            host_organisation_id=orgs["kairos"].id,
            start_date=dt.date(2025, 2, 1),
            end_date=dt.date(2025, 6, 30),
            hours_estimate=120,
            description=(
                "Progettazione e conduzione di 6 incontri serali per giovani sul lavoro autonomo, "
                "ricerca dei relatori, promozione sui social, raccolta dei questionari di "
                "gradimento (risposta media 4,4 su 5)."
            ),
            referee_name=None,
            referee_contact=None,
        ),
        now,
    )

    def add_pdf(exp: Any, title: str, kind: EvidenceType, body: list[str], day: dt.date) -> Any:
        return portfolio.add_file_evidence(
            session,
            storage,
            giulia,
            exp,
            type_=kind,
            title=title,
            description="",
            issued_on=day,
            data=simple_pdf(title, body),
            filename=f"{title}.pdf",
            max_bytes=MB,
            now=now,
        )

    checklist = add_pdf(
        cowork,
        "Checklist di onboarding dei membri",
        EvidenceType.PRODOTTO,
        [
            "1. Benvenuto e giro dello spazio (postazioni, sale, cucina)",
            "2. Regole della casa e orari di accesso",
            "3. Profilo del membro: competenze, progetti, cosa cerca",
            "4. Presentazione ad almeno due membri con interessi vicini",
            "5. Iscrizione alla newsletter e al gruppo della community",
            "Redatta da Giulia Rossi, usata per 45 nuovi membri (2024-2025)",
        ],
        dt.date(2024, 10, 1),
    )
    calendar = add_pdf(
        cowork,
        "Calendario eventi Co-Work 2025",
        EvidenceType.PRODOTTO,
        [
            "Gennaio: Colazione di networking",
            "Febbraio: Talk - Fatturare da freelance",
            "Marzo: Workshop - Canva per i social",
            "Aprile: Aperitivo con le imprese del distretto",
            "Maggio: Talk - Bandi per giovani imprese",
            "Giugno: Hackathon civico (48 partecipanti)",
            "Per ogni evento: obiettivo, pubblico, relatori, presenze, gradimento",
        ],
        dt.date(2025, 1, 10),
    )
    photo = portfolio.add_file_evidence(
        session,
        storage,
        giulia,
        events,
        type_=EvidenceType.FOTO_VIDEO,
        title="Foto del talk del 12 maggio",
        description="Sala piena, 32 partecipanti.",
        issued_on=dt.date(2025, 5, 12),
        data=event_photo(),
        filename="IMG_2025_05_12.jpg",
        max_bytes=MB,
        now=now,
    )
    report = add_pdf(
        events,
        "Report finale del ciclo di incontri",
        EvidenceType.DOCUMENTO_ATTESTAZIONE,
        [
            "Incontri: 6, partecipanti totali: 164, media 27 a serata",
            "Questionari raccolti: 131, gradimento medio 4,4/5",
            "Punti da migliorare: orario d'inizio, spazio per domande",
            "Firmato: Associazione giovanile Kairos",
        ],
        dt.date(2025, 7, 5),
    )
    testimonial = portfolio.add_testimonial(
        session,
        giulia,
        cowork,
        title="Lettera del responsabile di COBOX",
        text=(
            "Giulia ha accolto e seguito i nuovi membri con grande autonomia, ha ideato la "
            "checklist di onboarding che usiamo ancora e ha fatto nascere almeno tre "
            "collaborazioni tra coworker. Ha gestito da sola il calendario degli eventi."
        ),
        referee_name="Davide Sartori",
        referee_email="davide.sartori@cobox.example",
        issued_on=dt.date(2025, 12, 15),
        now=now,
    )
    portfolio.answer_testimonial(session, testimonial, confirm=True, now=now)
    declaration = portfolio.add_self_declaration(
        session,
        giulia,
        cowork,
        title="Gestione della newsletter",
        text=(
            "Dichiaro di aver scritto e inviato 14 numeri della newsletter di COBOX tra "
            "ottobre 2024 e dicembre 2025 (circa 380 iscritti, apertura media 41%)."
        ),
        accepted=True,
        now=now,
    )
    link = portfolio.add_link_evidence(
        session,
        giulia,
        events,
        title="Pagina pubblica del ciclo di incontri",
        description="",
        issued_on=dt.date(2025, 2, 1),
        url="https://kairos.example/incontri-2025",
        now=now,
    )

    portfolio.set_target_profile(session, giulia, person, p01)
    _link(session, giulia, checklist, p01, "DEMO-C01", 0, "La checklist l'ho scritta io.", now)
    _link(session, giulia, testimonial, p01, "DEMO-C01", 1, "Conferma le collaborazioni nate.", now)
    _link(session, giulia, calendar, p01, "DEMO-C02", 0, "", now)
    _link(session, giulia, report, p01, "DEMO-C02", 2, "Presenze e gradimento.", now)
    _link(session, giulia, photo, p01, "DEMO-C02", None, "", now)
    _link(session, giulia, declaration, p01, "DEMO-C03", 0, "", now)
    _link(session, giulia, link, p01, "DEMO-C03", None, "", now)
    for code, level in (("DEMO-C01", "L3"), ("DEMO-C02", "L2"), ("DEMO-C03", "L2")):
        competence = next(
            pc.competence for pc in p01.competence_links if pc.competence.code == code
        )
        portfolio.set_self_assessment(session, giulia, person, competence, level, "", now)

    case = workflow.create_case(
        session,
        giulia,
        ente_titolato=orgs["consorzio"],
        profile=p01,
        competences=[
            pc.competence
            for pc in p01.competence_links
            if pc.competence.code in {"DEMO-C01", "DEMO-C02", "DEMO-C03"}
        ],
        now=now,
    )
    workflow.submit_case(
        session, giulia, case, _submission(dt.date(2001, 4, 2), "Cremona", "RSSGLI01D42D150F"), now
    )
    workflow.take_charge(session, accounts["operatore"], case, now)
    workflow.admit_case(session, accounts["operatore"], case, accounts["tutor"].person, now)
    portfolio.add_comment(
        session,
        accounts["tutor"],
        person,
        "Ottimo materiale. Per la C03 aggiungi, se puoi, uno screenshot "
        "delle statistiche della newsletter.",
        now,
    )
    if renderer is not None:
        issue_transparency_document(session, storage, renderer, accounts["tutor"], case, now)


def _luca(
    session: Session, luca: UserAccount, orgs: dict[str, Organisation], now: dt.datetime
) -> None:
    p02 = _profile(session, "DEMO-P02")
    portfolio.create_experience(
        session,
        luca,
        luca.person,
        portfolio.ExperienceInput(
            kind=ExperienceKind.ORGANIZZAZIONE_EVENTO,
            learning_context=LearningContext.INFORMALE,
            role_title="Organizzatore del festival musicale di quartiere",
            host_name="Comitato di quartiere Porta Po",
            start_date=dt.date(2023, 3, 1),
            end_date=dt.date(2025, 9, 15),
            hours_estimate=400,
            description="Tre edizioni del festival: fornitori, permessi SIAE, "
            "volontari, budget di 18.000 euro.",
            host_organisation_id=None,
        ),
        now,
    )
    case = workflow.create_case(
        session, luca, ente_titolato=orgs["consorzio"], profile=p02, competences=None, now=now
    )
    workflow.submit_case(
        session, luca, case, _submission(dt.date(1998, 11, 23), "Crema", None), now
    )


def _sara(
    session: Session,
    sara: UserAccount,
    accounts: dict[str, UserAccount],
    orgs: dict[str, Organisation],
    now: dt.datetime,
) -> None:
    p03 = _profile(session, "DEMO-P03")
    portfolio.create_experience(
        session,
        sara,
        sara.person,
        portfolio.ExperienceInput(
            kind=ExperienceKind.PROGETTO_STARTUP,
            learning_context=LearningContext.NON_FORMALE,
            role_title="Co-fondatrice di una start-up di agricoltura urbana",
            host_name="Incubatore Coltivare sostenibile",
            start_date=dt.date(2024, 1, 15),
            end_date=None,
            hours_estimate=900,
            description="Business model canvas, 30 interviste "
            "a potenziali clienti, MVP con 2 ristoranti, pitch al Climathon.",
            host_organisation_id=None,
        ),
        now,
    )
    case = workflow.create_case(
        session,
        sara,
        ente_titolato=orgs["consorzio"],
        profile=p03,
        competences=[pc.competence for pc in p03.competence_links[:2]],
        now=now,
    )
    workflow.submit_case(session, sara, case, _submission(dt.date(1999, 7, 8), "Milano", None), now)
    workflow.take_charge(session, accounts["operatore"], case, now)
    workflow.admit_case(session, accounts["operatore"], case, accounts["tutor"].person, now)

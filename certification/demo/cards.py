"""Demo talent cards: partner businesses with the conventions of the seeds' TALENT-CARD list
("Sensibili al Talento": printing, office supplies, phones, insurance, accountants, lawyers,
hardware, software, web domains), a partner user, an active card and a pending request.

The businesses are invented and marked illustrative. Loading is idempotent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import cards as C
from certification.models import (
    CardStatus,
    Certificate,
    CertificateStatus,
    ConventionCategory,
    EligibilityBasis,
    Organisation,
    StaffRole,
    TalentCard,
    UserAccount,
)
from certification.people.roles import Role

#: (tax code, legal name, short name, town, address, website, conventions)
#: conventions: (title, category, benefit, discount %, conditions)
PARTNERS: tuple[tuple[str, str, str, str, str, str | None, tuple[Any, ...]], ...] = (
    (
        "DEMO-PB-0101",
        "Stamperia del Torrazzo S.r.l. (dati illustrativi)",
        "Stamperia del Torrazzo",
        "Cremona",
        "Via Mazzini 12, 26100 Cremona",
        None,
        (
            (
                "Biglietti da visita e volantini",
                ConventionCategory.PRINTING,
                "Sconto sulla stampa di biglietti da visita, volantini e roll-up per la nuova "
                "attività.",
                15,
                "Ordine minimo 50 €. Non cumulabile con altre promozioni.",
            ),
        ),
    ),
    (
        "DEMO-PB-0102",
        "CartoUfficio Crema S.n.c. (dati illustrativi)",
        "CartoUfficio Crema",
        "Crema",
        "Via XX Settembre 40, 26013 Crema",
        None,
        (
            (
                "Materiale di consumo per l'ufficio",
                ConventionCategory.OFFICE_SUPPLIES,
                "Sconto su carta, toner, cancelleria e piccoli arredi per ufficio.",
                10,
                None,
            ),
        ),
    ),
    (
        "DEMO-PB-0103",
        "Studio Associato Commercialisti del Po (dati illustrativi)",
        "Studio Commercialisti del Po",
        "Cremona",
        "Corso Garibaldi 88, 26100 Cremona",
        None,
        (
            (
                "Apertura della partita IVA e primo anno di contabilità",
                ConventionCategory.ACCOUNTING,
                "Primo colloquio gratuito sull'avvio d'impresa e sconto sulla tenuta della "
                "contabilità nel primo anno.",
                20,
                "Per imprese e professionisti con meno di 12 mesi di attività.",
            ),
            (
                "Consulenza del lavoro per il primo assunto",
                ConventionCategory.LABOUR_CONSULTING,
                "Elaborazione delle buste paga del primo dipendente o apprendista a tariffa "
                "agevolata.",
                25,
                None,
            ),
        ),
    ),
    (
        "DEMO-PB-0104",
        "Agenzia Assicurativa Giovani Imprese (dati illustrativi)",
        "Assicurazioni Giovani Imprese",
        "Cremona",
        "Piazza Stradivari 5, 26100 Cremona",
        None,
        (
            (
                "RC professionale e polizza per l'attività",
                ConventionCategory.INSURANCE,
                "Sconto sul premio del primo anno della responsabilità civile professionale.",
                25,
                "Preventivo gratuito; valido per nuove polizze.",
            ),
        ),
    ),
    (
        "DEMO-PB-0105",
        "Rete Digitale Lombarda S.r.l. (dati illustrativi)",
        "Rete Digitale Lombarda",
        "Milano",
        "Via Tortona 27, 20144 Milano",
        "https://rete-digitale.demo.attesta.example",
        (
            (
                "Dominio .it e hosting",
                ConventionCategory.WEB_DOMAINS,
                "Dominio .it gratuito il primo anno e sconto sull'hosting con posta elettronica.",
                30,
                None,
            ),
            (
                "Licenze software gestionale",
                ConventionCategory.SOFTWARE,
                "Sconto sulle licenze annuali del gestionale per fatturazione elettronica.",
                20,
                None,
            ),
        ),
    ),
    (
        "DEMO-PB-0106",
        "TelePunto Cremona S.r.l. (dati illustrativi)",
        "TelePunto Cremona",
        "Cremona",
        "Via Solferino 3, 26100 Cremona",
        None,
        (
            (
                "Telefonia mobile e fissa per partite IVA",
                ConventionCategory.TELEPHONY,
                "Offerta business per telefonia mobile e fibra con centralino virtuale.",
                20,
                "Vincolo di 12 mesi.",
            ),
            (
                "Computer e periferiche",
                ConventionCategory.HARDWARE,
                "Sconto su computer portatili, stampanti e assistenza tecnica.",
                8,
                None,
            ),
        ),
    ),
)

#: The demo partner user (e-mail local part, given name, family name), at the first partner.
PARTNER_USER = ("partner", "Luisa", "Ferri")


def load_demo_cards(
    session: Session,
    ente: Organisation,
    operator: UserAccount,
    partner_account: UserAccount,
    requester: UserAccount,
    now: dt.datetime,
) -> dict[str, Any]:
    """Partners and conventions of the ente's programme, the partner user's role, an active
    card for the holder of the demo's valid certificate and a pending request."""
    partners = [_partner(session, operator, ente, spec, now) for spec in PARTNERS]
    stamperia = partners[0]
    if Role.PARTNER not in partner_account.roles_in(stamperia.id):
        partner_account.person.staff_roles.append(
            StaffRole(organisation=stamperia, role=Role.PARTNER, created_at=now)
        )
    summary: dict[str, Any] = {"partners": len(partners)}
    certificate = session.scalar(
        select(Certificate)
        .where(
            Certificate.organisation_id == ente.id,
            Certificate.status == CertificateStatus.ISSUED,
        )
        .order_by(Certificate.issued_at)
    )
    if certificate is not None:
        holder = certificate.case.candidate.account
        card = session.scalar(
            select(TalentCard).where(TalentCard.basis_certificate_id == certificate.id)
        )
        if card is None and holder is not None:
            card = C.request_card(
                session,
                holder,
                EligibilityBasis.CERTIFICATE,
                now,
                certificate_id=certificate.id,
                consent=True,
            )
        if card is not None:
            summary["active"] = card.number
    pending = session.scalar(
        select(TalentCard).where(
            TalentCard.holder_person_id == requester.person_id,
            TalentCard.status == CardStatus.REQUESTED,
        )
    )
    if pending is None and not C.cards_of_holder(session, requester.person_id):
        pending = C.request_card(
            session,
            requester,
            EligibilityBasis.STARTUP_REGISTERED,
            now,
            organisation_id=ente.id,
            reference="REA CR-198765 (dati illustrativi)",
            consent=True,
        )
    if pending is not None:
        summary["requested"] = pending.number
    session.flush()
    return summary


def _partner(
    session: Session,
    operator: UserAccount,
    ente: Organisation,
    spec: tuple[str, str, str, str, str, str | None, tuple[Any, ...]],
    now: dt.datetime,
) -> Organisation:
    tax_code, legal_name, short_name, city, address, website, conventions = spec
    partner = session.scalar(select(Organisation).where(Organisation.tax_code == tax_code))
    if partner is None:
        partner = C.create_partner(
            session,
            operator,
            ente,
            now,
            legal_name=legal_name,
            short_name=short_name,
            tax_code=tax_code,
            city=city,
            address=address,
            website=website,
        )
        partner.illustrative = True
    existing = {c.title for c in C.conventions_of_partner(session, partner)}
    start = C.today(now).replace(month=1, day=1)
    for title, category, benefit, discount, conditions in conventions:
        if title in existing:
            continue
        C.save_convention(
            session,
            operator,
            partner,
            C.ConventionFields(
                title=title,
                benefit=benefit,
                category=category.value,
                valid_from=start,
                discount_pct=discount,
                conditions=conditions,
                location=city,
                valid_to=start.replace(year=start.year + 1, month=12, day=31),
            ),
            now,
        )
    return partner

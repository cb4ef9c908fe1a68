"""The demo's privacy notices (informative, art. 13 GDPR): the platform's, shown at sign-up,
and one for each ente that processes candidates' data (Regione Lombardia, Consorzio Mestieri).

The texts are plausible, not legal advice: the organisations are real names with illustrative
data (see certification.demo.setting), and so are the contacts below. Loading is idempotent: a
notice that has a version already is left as it is (a published version is never edited).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from certification.models import Organisation, UserAccount
from certification.people.privacy import current_notice, publish_notice

PLATFORM_TITLE = "Informativa sul trattamento dei dati personali — piattaforma Attesta"
PLATFORM_TEXT = """\
Informativa ai sensi dell'art. 13 del Regolamento (UE) 2016/679 (GDPR) per chi crea un account
sulla piattaforma Attesta. Dati illustrativi: questa è un'installazione dimostrativa.

1. Titolare del trattamento
Regione Lombardia — DG Formazione e Lavoro, Piazza Città di Lombardia 1, 20124 Milano, che
mette la piattaforma a disposizione dei giovani e degli enti titolati del proprio territorio.
Il gestore tecnico della piattaforma tratta i dati per conto del titolare come responsabile
del trattamento (art. 28 GDPR).

2. Responsabile della protezione dei dati (DPO)
rpd@demo.attesta.example — Piazza Città di Lombardia 1, 20124 Milano.

3. Dati trattati
Nome, cognome, indirizzo e-mail, password (conservata solo come impronta crittografica),
lingua preferita; le esperienze e le evidenze che inserisci nel tuo portfolio; i registri
di accesso (data, ora, esito) necessari alla sicurezza del servizio.

4. Finalità e base giuridica
a) Creare e gestire il tuo account e il portfolio delle esperienze: esecuzione di misure
   richieste dall'interessato (art. 6.1.b GDPR).
b) Proteggere la piattaforma da accessi abusivi e conservare la traccia delle operazioni:
   obbligo di legge e interesse pubblico (art. 6.1.c ed e; art. 32 GDPR).
Prima che tu scelga un ente titolato e presenti una domanda, nessun ente vede il tuo
portfolio. Quando presenti una domanda, l'ente che scegli diventa titolare dei dati della
domanda e ti fornisce la propria informativa.

5. Destinatari
Il responsabile tecnico della piattaforma e i suoi fornitori di hosting nell'Unione europea,
nominati responsabili del trattamento. I dati non sono diffusi né trasferiti fuori dallo
Spazio economico europeo.

6. Conservazione
L'account e il portfolio sono conservati finché non li cancelli; l'account inattivo da 24
mesi viene cancellato dopo un avviso. I registri di sicurezza sono conservati 12 mesi.

7. Diritti dell'interessato
Puoi chiedere l'accesso ai tuoi dati, la rettifica, la cancellazione, la limitazione e la
portabilità (artt. 15-20 GDPR) e opporti al trattamento (art. 21), scrivendo al DPO. Dal tuo
account puoi scaricare i tuoi dati e cancellare il portfolio. Hai diritto di proporre reclamo
al Garante per la protezione dei dati personali (www.garanteprivacy.it).

8. Natura del conferimento
Nome, cognome, e-mail e password sono necessari per creare l'account: senza di essi
l'account non può essere creato.
"""

ENTE_TEXTS: dict[str, tuple[str, str]] = {
    "consorzio": (
        "Informativa sul trattamento dei dati personali — certificazione delle competenze",
        """\
Informativa ai sensi dell'art. 13 del Regolamento (UE) 2016/679 (GDPR) per chi chiede a
Consorzio Mestieri Lombardia l'individuazione, la validazione e la certificazione delle
competenze (D.Lgs. 13/2013). Dati illustrativi: questa è un'installazione dimostrativa.

1. Titolare del trattamento
Consorzio Mestieri Lombardia, Via Dante 121, 26100 Cremona, ente titolato accreditato da
Regione Lombardia (n. DEMO-ACC-0173). PEC: consorziomestieri@pec.demo.attesta.example.

2. Responsabile della protezione dei dati (DPO)
dpo@consorzio.demo.attesta.example — Via Dante 121, 26100 Cremona.

3. Dati trattati
Dati anagrafici e codice fiscale; dati di contatto; il portfolio delle esperienze e delle
evidenze che alleghi alla domanda; le valutazioni dei tutor, degli assessor e della
commissione; i documenti del procedimento (Documento di trasparenza, verbali, Documento di
validazione, Certificato). Per i minorenni, i dati del genitore o del tutore che presta il
consenso.

4. Finalità e base giuridica
a) Svolgere il servizio di individuazione, validazione e certificazione delle competenze e
   rilasciare i documenti previsti: esecuzione di un compito di interesse pubblico e obbligo
   di legge (art. 6.1.c ed e GDPR; D.Lgs. 13/2013; normativa regionale lombarda).
b) Mostrare nella verifica pubblica del certificato il tuo nome per esteso e le evidenze:
   consenso (art. 6.1.a GDPR), revocabile in ogni momento dalla pagina del certificato.
c) Condividere con le imprese partner il nome e l'iniziale del cognome della Talent Card:
   consenso (art. 6.1.a GDPR), revocabile in ogni momento.

5. Destinatari
Regione Lombardia, ente titolare del servizio, per la vigilanza e per il registro regionale
delle certificazioni; i componenti della commissione di valutazione; il gestore tecnico della
piattaforma Attesta, nominato responsabile del trattamento (art. 28 GDPR). Chi verifica un
certificato vede solo ciò che la verifica pubblica mostra.

6. Conservazione
La domanda, i verbali e i documenti rilasciati sono conservati per il tempo previsto dalla
normativa regionale per gli atti del procedimento (10 anni dalla chiusura); le evidenze non
necessarie a questo fine sono cancellate su richiesta alla chiusura della pratica.

7. Diritti dell'interessato
Puoi chiedere l'accesso ai tuoi dati, la rettifica, la cancellazione nei limiti degli obblighi
di conservazione, la limitazione, e opporti al trattamento (artt. 15-21 GDPR), scrivendo al
DPO; puoi revocare i consensi dalla piattaforma senza pregiudicare la liceità del trattamento
precedente. Hai diritto di proporre reclamo al Garante per la protezione dei dati personali
(www.garanteprivacy.it).

8. Natura del conferimento
I dati della domanda sono necessari per svolgere il servizio: senza di essi la domanda non può
essere accolta. I consensi alla verifica pubblica e alla condivisione con i partner sono
facoltativi.
""",
    ),
    "regione": (
        "Informativa sul trattamento dei dati personali — vigilanza sul sistema di certificazione",
        """\
Informativa ai sensi dell'art. 13 del Regolamento (UE) 2016/679 (GDPR) per chi presenta una
domanda di certificazione delle competenze a un ente titolato lombardo. Dati illustrativi:
questa è un'installazione dimostrativa.

1. Titolare del trattamento
Regione Lombardia — DG Formazione e Lavoro, Piazza Città di Lombardia 1, 20124 Milano, ente
titolare del servizio di individuazione, validazione e certificazione delle competenze.

2. Responsabile della protezione dei dati (DPO)
rpd@demo.attesta.example — Piazza Città di Lombardia 1, 20124 Milano.

3. Dati trattati
I dati delle domande e dei certificati che gli enti titolati registrano: dati anagrafici,
profilo e competenze richiesti, stato della pratica, esito, documenti rilasciati.

4. Finalità e base giuridica
Vigilare sugli enti titolati, tenere il registro regionale delle certificazioni e produrre
statistiche aggregate: esecuzione di un compito di interesse pubblico e obbligo di legge
(art. 6.1.c ed e GDPR; D.Lgs. 13/2013).

5. Destinatari
Il personale regionale incaricato della vigilanza; le amministrazioni che la legge indica
(Repertorio nazionale, sistema informativo del lavoro). Nessun dato è diffuso; le statistiche
pubblicate sono aggregate.

6. Conservazione
I dati del registro sono conservati per il tempo previsto dalla normativa sugli atti
amministrativi; ogni consultazione di una pratica da parte della Regione è registrata.

7. Diritti dell'interessato
Puoi esercitare i diritti di accesso, rettifica, limitazione e opposizione (artt. 15-21 GDPR)
scrivendo al DPO, e proporre reclamo al Garante per la protezione dei dati personali
(www.garanteprivacy.it).
""",
    ),
}


def load_demo_notices(
    session: Session,
    orgs: dict[str, Organisation],
    admins: dict[str, UserAccount],
    now: dt.datetime,
) -> None:
    """Publish version 1 of each demo notice that has none yet (``admins``: an administrator of
    each ente, by organisation key, who publishes it)."""
    if current_notice(session, None) is None:
        publish_notice(
            session, None, None, title=PLATFORM_TITLE, body=PLATFORM_TEXT, language="it", now=now
        )
    for key, (title, body) in ENTE_TEXTS.items():
        if current_notice(session, orgs[key]) is None:
            publish_notice(
                session, admins[key], orgs[key], title=title, body=body, language="it", now=now
            )

"""Building a certificate's content reads its case in a bounded number of queries (issue 22):
what it touches is loaded with the case (``issuance._for_content``) or with the evidence
(``linked_evidence_for_case(with_details=True)``), never a lazy load per item, so a case with
more evidence, experiences or panel members costs no more queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from certification.certificates.facts import certificate_content
from certification.certificates.issuance import _for_content
from certification.models import CertificationCase
from certification.portfolio.operations import link_evidence
from tests.support.certificates import ISSUE_TIME, CertificateWorld
from tests.support.clock import NOW
from tests.support.factories import competence, make_evidence, make_experience

#: The case with its one-to-ones (1), sessions, ratings, outcomes, requested competences,
#: profile links and panel members (a query each), the live competences and their statements
#: (2), the evidence with its experiences (1) and its links (1).
QUERIES = 11


def _build(connection: Connection, world: CertificateWorld) -> tuple[list[str], dict[str, Any]]:
    """The SELECTs one content build of the world's case sends, and the content."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    with world.issuer.session_factory() as session:
        event.listen(connection, "before_cursor_execute", count)
        try:
            case = session.get(CertificationCase, world.case.id, options=_for_content())
            assert case is not None
            facts, _rows = certificate_content(
                session, case, base_url="https://attesta.example", issued_at=ISSUE_TIME
            )
        finally:
            event.remove(connection, "before_cursor_execute", count)
    return seen, dict(facts)


def test_one_content_build_takes_a_bounded_number_of_queries(
    db: Session, connection: Connection, world: CertificateWorld
) -> None:
    seen, facts = _build(connection, world)
    assert len(seen) <= QUERIES, "\n".join(s[:120] for s in seen)
    assert len(facts["learning"]["experiences"]) == 1
    # Three more items of evidence, each from an experience of its own at a host organisation,
    # linked to the certified competence: as many queries as before.
    person = world.candidate.person
    for n in range(3):
        experience = make_experience(db, person, host_organisation_id=world.ente.id)
        item = make_evidence(db, experience, title=f"Registro {n}")
        link_evidence(db, world.candidate, item, competence(db, "DEMO-C01"), None, "", NOW)
    db.flush()
    more, facts = _build(connection, world)
    assert len(facts["learning"]["experiences"]) == 4
    assert len(facts["evidence"]) == 4
    assert len(more) == len(seen), "\n".join(s[:120] for s in more)

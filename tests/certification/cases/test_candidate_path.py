"""Where a candidate stands (issue 19): every state has its stage on the IVC path (or leaves
it), and it is the candidate's turn exactly in the states where the candidate has a step."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from certification.cases.candidate_path import STAGE_OF, Stage, my_path, progress
from certification.cases.states import TERMINAL, CaseStatus
from tests.support.clock import NOW
from tests.support.factories import make_candidate, make_case, make_organisation

S = CaseStatus

#: state -> (stage, the candidate's turn)
TABLE = {
    S.DRAFT: (Stage.DOMANDA, True),  # submit
    S.SUBMITTED: (Stage.DOMANDA, False),
    S.IN_ACCOGLIENZA: (Stage.ACCOGLIENZA, False),
    S.IDENTIFICATION: (Stage.IDENTIFICAZIONE, False),
    S.TRANSPARENCY_ISSUED: (Stage.IDENTIFICAZIONE, True),  # ask for validation
    S.DOSSIER_REVIEW: (Stage.VALIDAZIONE, False),
    S.INTEGRATION_REQUESTED: (Stage.VALIDAZIONE, True),  # send the dossier back
    S.ASSESSMENT_SCHEDULED: (Stage.VALIDAZIONE, False),
    S.VALIDATED_PARTIAL: (Stage.VALIDAZIONE, True),  # certify what was validated, or appeal
    S.NOT_VALIDATED: (Stage.VALIDAZIONE, True),  # appeal
    S.CERTIFIED: (Stage.CERTIFICAZIONE, False),
    S.CERTIFICATE_ISSUED: (Stage.CERTIFICAZIONE, False),
    S.WITHDRAWN: (None, False),
}


def test_every_state_has_its_stage_or_leaves_the_path() -> None:
    assert set(STAGE_OF) == set(CaseStatus)
    # Only ends leave the path (a closed case may have got there from several stages).
    assert {s for s, stage in STAGE_OF.items() if stage is None} <= TERMINAL | {
        S.SUSPENDED_INACTIVE
    }


@pytest.mark.parametrize(("status", "expected"), TABLE.items(), ids=[s.value for s in TABLE])
def test_the_stage_and_whose_turn(
    db: Session, status: CaseStatus, expected: tuple[Stage | None, bool]
) -> None:
    candidate = make_candidate(db)
    ente = make_organisation(db)
    case = make_case(db, candidate=candidate, ente=ente, status=status)
    case.deadline_at = NOW + dt.timedelta(days=3)
    db.flush()
    found = progress(candidate, case, NOW)
    assert (found.stage, found.my_turn) == expected
    assert found.deadline == (case.deadline_at if expected[0] is not None else None)
    assert [p.case for p in my_path(db, candidate, NOW)] == [case]

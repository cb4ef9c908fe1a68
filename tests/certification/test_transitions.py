"""The shape every lifecycle table is written in (certification.transitions), and what the
case's event enum writes into its hash-chained history: the plain words of before."""

from __future__ import annotations

import enum
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.chains import GENESIS_HASH, transition_hash, transition_record
from certification.cases import workflow
from certification.cases.states import TRANSITIONS, CaseEvent, CaseStatus
from certification.models import AuditEvent, CaseTransition
from certification.people.roles import OrganisationKind, Role
from certification.transitions import Transition, allowed_events, table
from tests.support.clock import NOW
from tests.support.factories import make_account, make_case, make_organisation


class _Light(enum.StrEnum):
    ON = "on"
    OFF = "off"


class _Lamp(enum.Enum):
    LIT = 1
    DARK = 2


def _row(event: _Light, source: _Lamp, target: _Lamp) -> Transition[_Light, _Lamp]:
    return Transition(event, frozenset({source}), target, frozenset())


def test_a_table_has_one_row_per_event_in_the_enums_order() -> None:
    rows = table(
        _Light, [_row(_Light.OFF, _Lamp.LIT, _Lamp.DARK), _row(_Light.ON, _Lamp.DARK, _Lamp.LIT)]
    )
    assert list(rows) == [_Light.ON, _Light.OFF]
    assert allowed_events(rows, _Lamp.DARK) == [_Light.ON]
    assert rows[_Light.ON].allows(_Lamp.DARK) and not rows[_Light.ON].allows(_Lamp.LIT)
    with pytest.raises(TypeError):
        rows[_Light.ON] = rows[_Light.OFF]  # type: ignore[index]
    with pytest.raises(ValueError, match="does not match"):
        table(_Light, [_row(_Light.ON, _Lamp.DARK, _Lamp.LIT)])
    with pytest.raises(ValueError, match="two rows"):
        table(_Light, [_row(_Light.ON, _Lamp.DARK, _Lamp.LIT)] * 2)


def test_case_events_are_the_words_the_history_always_recorded() -> None:
    assert all(type(event.value) is str for event in CaseEvent)
    assert list(TRANSITIONS) == list(CaseEvent)
    assert "submit" in TRANSITIONS and TRANSITIONS["submit"].event == CaseEvent.SUBMIT  # type: ignore[index]


def test_the_hash_chain_records_the_plain_word(db: Session) -> None:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    operator = make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente)
    case = make_case(db, ente=ente, status=CaseStatus.SUBMITTED)
    workflow.apply_transition(db, operator, case, CaseEvent.TAKE_CHARGE, NOW)
    db.expire_all()
    row = db.scalars(select(CaseTransition).where(CaseTransition.case_id == case.id)).one()
    assert type(row.event) is str and row.event == "take_charge"
    record = transition_record(row)
    assert json.dumps(record["event"]) == '"take_charge"'
    # The same hash as a record written with the bare string, before the enum existed.
    plain = {**record, "event": "take_charge"}
    assert row.prev_hash == GENESIS_HASH
    assert row.hash == transition_hash(GENESIS_HASH, plain)
    audit = db.scalar(select(AuditEvent).where(AuditEvent.entity_id == str(case.id)))
    assert audit is not None and audit.action == "case.take_charge"

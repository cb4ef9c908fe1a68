"""The staff's queue and list of cases with 10^3 and with 10^5 cases in PostgreSQL (issue 18).

Two scratch databases (``bench_queue_<hex>_small`` / ``_large``, dropped afterwards) on the
PostgreSQL server of $BENCH_PG_URL (default: 127.0.0.1:5432, trust auth, as make test-postgres):
migrated, the bundled rubric imported, a region accrediting 100 enti titolati, a certifier of
the first one (``ente A``), one template candidate and case; the large one a copy of the small
one (``CREATE DATABASE ... TEMPLATE``), then both filled up to their size by ``INSERT ...
SELECT ... generate_series``: one candidate per case, the cases' states cycling over every
state, deadlines from 20 days late to 40 ahead, a frozen rubric from the review on.

What grows is the region, not one person's desk: in both databases ente A has the same 300
open cases (its staff's work); every other case belongs to one of the 99 other enti, and in the
large one a tenth of them are ente A's closed history (so its certifier's lists must skip ~10^4
closed cases of their own ente through the indexes, not by reading them).

Measured in process, as the certifier of ente A, each a new session (nothing cached): ``queue
list``, the first page of /cases/ (count and 25 rows, by deadline, closed hidden:
:func:`certification.cases.worklist.list_cases`); ``queue search``, the same with a candidate's
family name typed in; ``queue worklist``, "needs my action" (:func:`my_worklist`). Rounds
alternate the databases; the ratio is the median of the rounds' ratios of p50 (large / small).
"ours" is the large database and "bare" the small one.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import row  # noqa: E402 - after the path is set
from bench.scale import ScratchDatabases, _quoted  # noqa: E402

TARGET = 1.5
ENTES = 100
OWN_OPEN = 300  # ente A's open cases, in both databases

#: Fresh values of the generated persons' and cases' unique columns (``g`` the row's number).
PERSON_FRESH = {
    "id": "md5('person' || g)::uuid",
    "given_name": "'Nome' || g",
    "family_name": "'Cognome' || g",
    "codice_fiscale": "upper(substr(md5('cf' || g), 1, 16))",
}


def _case_fresh(own_closed_every: int) -> dict[str, str]:
    """Ente A for the first OWN_OPEN rows (open states), then one of the others; in the large
    database every ``own_closed_every``-th other row is ente A's closed history."""
    open_states = "CAST(:open_states AS text[])"
    all_states = "CAST(:all_states AS text[])"
    entes = "CAST(:entes AS uuid[])"
    own = f"g <= {OWN_OPEN}"
    history = f"(g % {own_closed_every} = 0)" if own_closed_every else "false"
    return {
        "id": "md5('case' || g)::uuid",
        "protocol_number": "'BENCH-' || lpad(g::text, 8, '0')",
        "candidate_id": "md5('person' || g)::uuid",
        "ente_titolato_id": (
            f"CASE WHEN {own} OR {history} THEN ({entes})[1] "
            f"ELSE ({entes})[2 + g % {ENTES - 1}] END"
        ),
        "status": (
            f"CASE WHEN {own} THEN ({open_states})[1 + g % cardinality({open_states})] "
            f"WHEN {history} THEN 'closed' "
            f"ELSE ({all_states})[1 + g % cardinality({all_states})] END"
        ),
        "deadline_at": "now() + ((g % 60) - 20) * interval '1 day' + (g % 24) * interval '1 hour'",
        "status_changed_at": "now() - (g % 90) * interval '1 day' - (g % 1440) * interval '1 min'",
        "assigned_tutor_id": "NULL",
        "assigned_operator_id": "NULL",
        "previous_case_id": "NULL",
    }


def fill_sql(own_closed_every: int) -> list[str]:
    """The statements that add ``:rows`` candidates, their cases and their rubric snapshots,
    copying the template case ``:template`` and its candidate."""
    from certification.models import CertificationCase, Person, RubricSnapshot

    persons = [c.name for c in Person.__table__.columns]
    cases = [c.name for c in CertificationCase.__table__.columns]
    snapshots = [c.name for c in RubricSnapshot.__table__.columns]
    fresh = _case_fresh(own_closed_every)
    person_values = [PERSON_FRESH.get(c, f"p.{_quoted(c)}") for c in persons]
    case_values = [fresh.get(c, f"t.{_quoted(c)}") for c in cases]
    snapshot_fresh = {"id": "gen_random_uuid()", "case_id": "c.id"}
    snapshot_values = [snapshot_fresh.get(c, f"s.{_quoted(c)}") for c in snapshots]
    # Only names from our own models and the constant expressions above: no input.
    return [
        f"INSERT INTO persons ({', '.join(map(_quoted, persons))}) "  # noqa: S608
        f"SELECT {', '.join(person_values)} FROM persons p "
        "CROSS JOIN generate_series(1, :rows) AS g "
        "WHERE p.id = (SELECT candidate_id FROM certification_cases WHERE id = :template)",
        f"INSERT INTO certification_cases ({', '.join(map(_quoted, cases))}) "  # noqa: S608
        f"SELECT {', '.join(case_values)} FROM certification_cases t "
        "CROSS JOIN generate_series(1, :rows) AS g WHERE t.id = :template",
        f"INSERT INTO rubric_snapshots ({', '.join(map(_quoted, snapshots))}) "  # noqa: S608
        f"SELECT {', '.join(snapshot_values)} FROM certification_cases c "
        "CROSS JOIN rubric_snapshots s "
        "WHERE s.case_id = :template AND c.protocol_number LIKE 'BENCH-%' "
        "AND c.status NOT IN ('submitted', 'in_accoglienza', 'identification', "
        "'transparency_issued', 'draft')",
    ]


def _seed(path: Path, url: str) -> dict[str, Any]:
    """A migrated instance on ``url``: the region, its enti, ente A's certifier, a template
    case in review (with its frozen rubric)."""
    from sqlalchemy.orm import Session

    from app.db import database
    from certification.cases.states import CaseStatus
    from certification.models import RubricSnapshot
    from certification.people.roles import OrganisationKind, Role
    from tests.support.clock import NOW
    from tests.support.factories import make_account, make_case, make_organisation
    from tests.support.instances import Instance, migrate_with_rubrics

    instance = Instance(path, url)
    try:
        migrate_with_rubrics(instance)
        app = instance.app()
        with Session(database(app).engine) as db:
            region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
            entes = [
                make_organisation(db, OrganisationKind.ENTE_TITOLATO, accredited_by_id=region.id)
                for _ in range(ENTES)
            ]
            certifier = make_account(db, roles=(Role.CERTIFICATORE,), organisation=entes[0])
            template = make_case(db, ente=entes[0], status=CaseStatus.DOSSIER_REVIEW)
            db.add(RubricSnapshot(case_id=template.id, content={}, sha256="0" * 64, created_at=NOW))
            db.commit()
            return {
                "entes": [e.id for e in entes],
                "certifier": certifier.id,
                "template": template.id,
            }
    finally:
        instance.close()


def _fill(url: str, seeded: dict[str, Any], rows: int, own_closed_every: int) -> float:
    from sqlalchemy import text

    from certification.cases.states import TERMINAL, CaseStatus
    from certification.db import make_engine

    every = [s.value for s in CaseStatus if s != CaseStatus.DRAFT]
    open_states = [s.value for s in CaseStatus if s not in TERMINAL and s != CaseStatus.DRAFT]
    params = {
        "rows": rows,
        "template": seeded["template"],
        "entes": list(seeded["entes"]),
        "open_states": open_states,
        "all_states": every,
    }
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            try:  # superuser only: then foreign keys are not checked row by row
                with conn.begin_nested():
                    conn.execute(text("SET session_replication_role = replica"))
            except Exception:  # noqa: S110 - checked row by row, only slower
                pass
            start = time.perf_counter()
            for statement in fill_sql(own_closed_every):
                conn.execute(text(statement), params)
            conn.commit()
            seconds = time.perf_counter() - start
            conn.execute(text("SET session_replication_role = DEFAULT"))
            for table in ("persons", "certification_cases", "rubric_snapshots"):
                conn.execute(text(f"ANALYZE {table}"))
            conn.commit()
    finally:
        engine.dispose()
    return seconds


def _operations(seeded: dict[str, Any]) -> dict[str, Callable[[Any], Any]]:
    from certification.cases.worklist import CaseFilter, list_cases, my_worklist
    from certification.clock import utcnow
    from certification.models import UserAccount

    def actor(db: Any) -> Any:
        account = db.get(UserAccount, seeded["certifier"])
        _ = account.person.staff_roles
        return account

    def listing(db: Any, who: Any) -> Any:
        page = list_cases(db, who, CaseFilter(), utcnow())
        assert page.cases, "the list is empty"
        return page

    def search(db: Any, who: Any) -> Any:
        return list_cases(db, who, CaseFilter(text="Cognome17"), utcnow())

    def worklist(db: Any, who: Any) -> Any:
        queue = my_worklist(db, who, utcnow())
        assert queue.total, "nothing in the queue"
        return queue

    return {"actor": actor, "list": listing, "search": search, "worklist": worklist}


def _time(url: str, seeded: dict[str, Any], name: str, calls: int) -> list[float]:
    from sqlalchemy.orm import Session

    from certification.db import make_engine

    ops = _operations(seeded)
    engine = make_engine(url)
    times = []
    try:
        for _ in range(calls):
            with Session(engine) as db:
                who = ops["actor"](db)
                start = time.perf_counter()
                ops[name](db, who)
                times.append((time.perf_counter() - start) * 1000)
    finally:
        engine.dispose()
    return times


def main(
    small: int = 1000,
    large: int = 100_000,
    rounds: int = 6,
    calls: int = 20,
    pg_url: str | None = None,
) -> dict[str, Any]:
    """Measure, or say why not (``skipped``) when PostgreSQL does not answer."""
    from certification.clock import utcnow

    scratch, shown, why = ScratchDatabases.open("queue", pg_url)
    if scratch is None:
        return {"benchmark": "queue", "skipped": why}
    urls = scratch.urls
    sizes = {"small": small, "large": large}
    operations = ("list", "search", "worklist")
    runs: dict[str, dict[str, list[float]]] = {}
    try:
        scratch.create("small")
        seeded = _seed(scratch.tmp / "instance", urls["small"])
        scratch.create("large", template="small")
        fill_seconds = {
            name: _fill(urls[name], seeded, size - 1, 10 if name == "large" else 0)
            for name, size in sizes.items()
        }
        for name in sizes:  # warm
            for op in operations:
                _time(urls[name], seeded, op, 3)
        for r in range(rounds):
            order = list(sizes) if r % 2 == 0 else list(reversed(sizes))
            for name in order:
                for op in operations:
                    p50 = statistics.median(_time(urls[name], seeded, op, calls))
                    runs.setdefault(f"{name} {op}", {}).setdefault("p50", []).append(p50)
    finally:
        scratch.close()

    def ratio(op: str) -> tuple[float, list[float]]:
        each = [
            round(big / little, 3)
            for big, little in zip(
                runs[f"large {op}"]["p50"], runs[f"small {op}"]["p50"], strict=True
            )
        ]
        return round(statistics.median(each), 3), each

    def p50(key: str) -> float:
        return round(statistics.median(runs[key]["p50"]), 2)

    rows = {
        op: row(
            f"queue {op} p50",
            "ms",
            p50(f"large {op}"),
            p50(f"small {op}"),
            ratio(op)[0],
            "lower",
            TARGET,
        )
        for op in operations
    }
    return {
        **rows["list"],
        "also": [rows["search"], rows["worklist"]],
        "note": (
            f"queue: 'ours' = {large:,} cases, 'bare' = {small:,}, PostgreSQL {shown}; as the "
            f"certifier of an ente with {OWN_OPEN} open cases (and, in the large database, "
            "~10^4 closed ones), in process, new session per call; "
            f"{rounds} rounds x {calls} calls per side; p50 ratios "
            + "; ".join(f"{op} {ratio(op)[1]}" for op in operations)
            + f"; filled in {fill_seconds['large']:.0f} s ({fill_seconds['small']:.1f} s small)"
        ),
        "rows": sizes,
        "fill_seconds": {k: round(v, 1) for k, v in fill_seconds.items()},
        "runs": runs,
        "at": utcnow().isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

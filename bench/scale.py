"""Verify-by-code latency with 10^3 and with 10^6 certificates in PostgreSQL, in one run.

Two scratch databases (``bench_scale_<hex>_small`` / ``_large``, dropped afterwards) on the
PostgreSQL server of $BENCH_PG_URL (default: 127.0.0.1:5432, trust auth, as make test-postgres):
migrated, a signatory, two certificates issued for real (rendered, sealed) through
tests.support.instances, then the large one made a copy of the small one (``CREATE DATABASE ...
TEMPLATE``) and both filled up to their size by one ``INSERT ... SELECT ... generate_series``
each.

The generated rows copy the valid certificate's row, column for column (the 10 KB frozen
``content`` included, so the TOAST table grows as in production), with their own id, number,
verification code, status index, file hashes and generation, and copy its
``certificate_competences`` rows (read by the look-up). Every unique constraint of the two
tables is checked to be given fresh values. Holder, case and consents stay the one issued
certificate's: the look-up reads the consents by (holder, case) through an index, but they are
not multiplied. Foreign keys are not checked while filling (``session_replication_role =
replica``: the values are copies of valid ones), autovacuum is off on the filled tables and both
are analysed, so nothing runs in the background of the measurement.

Each database is served by its own gunicorn with the verify benchmark's settings; each is asked
``GET /api/v1/verify/<code>`` for the same number of codes picked at random among its generated
rows, in turn, by few connections (default 2, one per worker), so that latency is the time of
one look-up, not of a queue. Rounds alternate the order; the ratio is the median of the rounds'
ratios of p50 latency (large / small). In the table, "ours" is the large database and "bare" the
small one.

Also measured, without a target (the brief of this benchmark is the look-up by code): ``scale
upload``, the issued PDF posted to ``POST /api/v1/verify``, which Attesta finds by the file's
sha256 (``certificates.pdf_sha256``) before parsing anything.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 - after the path is set
    Load,
    LoadRunner,
    Server,
    alternate,
    attesta_env,
    expect,
    free_port,
    multipart,
    per_round_ratios,
    row,
    serve,
    stop,
    summary,
)

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET = 1.2
#: The fresh values of the generated rows' unique columns (``g`` is the row's number).
FRESH = {
    "id": "gen_random_uuid()",
    "generation": "t.generation + g",
    "number": "'BENCH-' || lpad(g::text, 8, '0')",
    # 26 characters of the code alphabet (hex digits are Crockford base32 digits too).
    "verification_code": "upper(substr(md5('code' || g) || md5('more' || g), 1, 26))",
    "status_index": "{status_bits} + g",  # past every index a real issuance can draw
    "pdf_sha256": "md5('pdf' || g) || md5('pdf-more' || g)",
    "credential_sha256": "md5('cred' || g) || md5('cred-more' || g)",
}
FILLED = ("certificates", "certificate_competences")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_fresh(table: Any, fresh: set[str]) -> None:
    """Refuse to copy a row whose unique columns would repeat (a new constraint unseen)."""
    from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint

    groups = [
        {c.name for c in constraint.columns}
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint)
    ]
    groups += [{c.name for c in index.columns} for index in table.indexes if index.unique]
    groups += [{c.name} for c in table.columns if c.unique]
    for group in groups:
        if not group & fresh:
            raise RuntimeError(f"{table.name}: unique {sorted(group)} would be copied as is")


def fill_sql() -> str:
    """One statement: ``:rows`` copies of the certificate with code ``:code`` and of its
    competences."""
    from certification.certificates.credentials import STATUS_LIST_BITS
    from certification.models import Certificate, CertificateCompetence

    certificates = Certificate.__table__
    competences = CertificateCompetence.__table__
    fresh = {k: v.format(status_bits=STATUS_LIST_BITS) for k, v in FRESH.items()}
    _check_fresh(certificates, set(fresh))
    _check_fresh(competences, {"certificate_id"})
    columns = [c.name for c in certificates.columns]
    values = [fresh.get(c, f"t.{_quoted(c)}") for c in columns]
    copied = [c.name for c in competences.columns]
    picked = ["new.id" if c == "certificate_id" else f"cc.{_quoted(c)}" for c in copied]
    # Only names from our own models and the constant expressions above: no input.
    return (
        "WITH t AS (SELECT * FROM certificates WHERE verification_code = :code), "  # noqa: S608
        f"new AS (INSERT INTO certificates ({', '.join(map(_quoted, columns))}) "
        f"SELECT {', '.join(values)} FROM t CROSS JOIN generate_series(1, :rows) AS g "
        "RETURNING id) "
        f"INSERT INTO certificate_competences ({', '.join(map(_quoted, copied))}) "
        f"SELECT {', '.join(picked)} FROM new CROSS JOIN certificate_competences cc "
        "WHERE cc.certificate_id = (SELECT id FROM t)"
    )


def _fill(url: str, code: str, rows: int, sample: int) -> tuple[float, list[str]]:
    """Add ``rows`` copies; the seconds it took and ``sample`` codes of copies, at random."""
    from sqlalchemy import text

    from certification.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for table in FILLED:
                conn.execute(
                    text(
                        f"ALTER TABLE {table} SET "
                        "(autovacuum_enabled = false, toast.autovacuum_enabled = false)"
                    )
                )
            try:  # superuser only: then foreign keys are not checked row by row
                with conn.begin_nested():
                    conn.execute(text("SET session_replication_role = replica"))
            except Exception:  # noqa: S110 - checked row by row, only slower
                pass
            start = time.perf_counter()
            conn.execute(text(fill_sql()), {"code": code, "rows": rows})
            conn.commit()
            seconds = time.perf_counter() - start
            conn.execute(text("SET session_replication_role = DEFAULT"))
            for table in FILLED:
                conn.execute(text(f"ANALYZE {table}"))
            numbers = [
                f"BENCH-{g:08d}" for g in random.sample(range(1, rows + 1), min(sample, rows))
            ]
            codes = conn.scalars(
                text("SELECT verification_code FROM certificates WHERE number = ANY(:numbers)"),
                {"numbers": numbers},
            ).all()
            conn.commit()
    finally:
        engine.dispose()
    return seconds, list(codes)


def _reachable(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else why not."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        engine.dispose()
    return None


class ScratchDatabases:
    """Two scratch databases of a benchmark on one PostgreSQL server, ``small`` and ``large``
    (``bench_<kind>_<hex>_small`` / ``_large``), and a temporary folder (``tmp``); what was
    created is dropped and removed by :meth:`close`."""

    def __init__(self, kind: str, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        from certification.db import make_engine

        prefix = f"bench_{kind}_{uuid.uuid4().hex[:8]}"
        self.names = {"small": f"{prefix}_small", "large": f"{prefix}_large"}
        self.urls = {
            k: make_url(server_url).set(database=v).render_as_string(hide_password=False)
            for k, v in self.names.items()
        }
        self.admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
        self.tmp = Path(tempfile.mkdtemp(prefix=f"attesta-bench-{kind}-"))
        self._created: list[str] = []

    @classmethod
    def open(cls, kind: str, pg_url: str | None) -> tuple[ScratchDatabases | None, str, str]:
        """The databases (None when PostgreSQL does not answer), the server's address shown
        without its password, and why it cannot be used ("" when it can)."""
        from sqlalchemy.engine import make_url

        server_url = pg_url or os.environ.get("BENCH_PG_URL") or PG_URL
        shown = make_url(server_url).render_as_string(hide_password=True)
        why = _reachable(server_url)
        if why is not None:
            return None, shown, f"PostgreSQL not reachable at {shown} ({why})"
        return cls(kind, server_url), shown, ""

    def create(self, name: str, template: str | None = None) -> None:
        """Create the ``name`` database, empty or a copy of the ``template`` one."""
        from sqlalchemy import text

        copy = f' TEMPLATE "{self.names[template]}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.names[name]}"{copy}'))
            self._created.append(self.names[name])

    def close(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for name in reversed(self._created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _seed(path: Path, url: str) -> tuple[str, bytes]:
    """A migrated instance on ``url`` with two certificates issued; the valid one's code and
    PDF."""
    from tests.support.instances import Instance, migrate_with_rubrics, seed_issued

    instance = Instance(path, url)
    try:
        migrate_with_rubrics(instance)
        issued = seed_issued(instance)
        return str(issued["valid"]), bytes(issued["pdf"])
    finally:
        instance.close()


def main(
    small: int = 1000,
    large: int = 1_000_000,
    rounds: int = 6,
    seconds: float = 2.0,
    connections: int = 2,
    codes: int = 1000,
    pg_url: str | None = None,
    generator: str | None = None,
) -> dict[str, Any]:
    """Measure, or say why not (``skipped``) when PostgreSQL does not answer."""
    from certification.clock import utcnow

    scratch, shown, why = ScratchDatabases.open("scale", pg_url)
    if scratch is None:
        return {"benchmark": "scale", "skipped": why}
    urls, tmp = scratch.urls, scratch.tmp
    servers: dict[str, Server] = {}
    try:
        scratch.create("small")
        start = time.perf_counter()
        code, pdf = _seed(tmp / "instance", urls["small"])
        seed_seconds = time.perf_counter() - start
        scratch.create("large", template="small")
        sizes = {"small": small, "large": large}
        fill_seconds: dict[str, float] = {}
        sampled: dict[str, list[str]] = {}
        for name, size in sizes.items():
            # The two issued certificates (one of them revoked) count among the rows.
            fill_seconds[name], sampled[name] = _fill(urls[name], code, max(0, size - 2), codes)
        wanted = min(len(v) for v in sampled.values())
        if not wanted:
            raise ValueError("each database needs generated rows: at least 3 certificates")

        body, media_type = multipart("file", "certificate.pdf", pdf, "application/pdf")
        loads: dict[str, tuple[Server, Load]] = {}
        for name in sizes:
            port = free_port()
            env = attesta_env(tmp / "instance", port, ATTESTA_DATABASE_URL=urls[name])
            servers[name] = server = serve(name, "wsgi:app", env, tmp, port)
            paths = [f"/api/v1/verify/{c}" for c in sampled[name][:wanted]]
            loads[name] = (server, Load(paths))
            loads[f"{name} upload"] = (
                server,
                Load(
                    ["/api/v1/verify"],
                    method="POST",
                    headers={"Content-Type": media_type},
                    body=body,
                ),
            )
        for name, (server, load) in loads.items():
            answer = json.loads(
                expect(
                    server, load.paths[0], method=load.method, body=load.body, headers=load.headers
                )
            )
            if answer["verdict"] != "valid":
                raise RuntimeError(f"{name}: not valid: {answer}")

        runner = LoadRunner(tmp, generator)

        def measure(name: str, duration: float = seconds) -> dict[str, Any]:
            server, load = loads[name]
            return runner(server, load, connections, duration)

        for name in loads:  # warm all
            measure(name, 1.0)
        runs = alternate(rounds, list(loads), measure)
    finally:
        for server in servers.values():
            stop(server.process)
        scratch.close()

    figures = {name: summary(runs, name) for name in loads}
    ratios = {
        key: per_round_ratios(runs, "large", "small", key) for key in ("p50_ms", "p99_ms", "rps")
    }
    upload_ratios = per_round_ratios(runs, "large upload", "small upload", "p50_ms")
    big, little = figures["large"], figures["small"]

    def label(n: int) -> str:
        return f"10^{len(str(n)) - 1}" if str(n).strip("0") == "1" else f"{n:,}"

    return {
        **row(
            "scale p50",
            "ms",
            big["p50_ms"],
            little["p50_ms"],
            round(statistics.median(ratios["p50_ms"]), 3),
            "lower",
            TARGET,
        ),
        "also": [
            row(
                "scale p99",
                "ms",
                big["p99_ms"],
                little["p99_ms"],
                round(statistics.median(ratios["p99_ms"]), 3),
                "lower",
            ),
            row(
                "scale rps",
                "req/s",
                big["rps"],
                little["rps"],
                round(statistics.median(ratios["rps"]), 3),
                "higher",
            ),
            row(
                "scale upload p50",
                "ms",
                figures["large upload"]["p50_ms"],
                figures["small upload"]["p50_ms"],
                round(statistics.median(upload_ratios), 3),
                "lower",
            ),
            row(
                "scale errors",
                "",
                sum(figures[n]["errors"] for n in ("large", "large upload")),
                sum(figures[n]["errors"] for n in ("small", "small upload")),
                None,
                "lower",
                0,
                target_on="ours",
            ),
        ],
        "note": (
            f"scale: 'ours' = {label(large)} certificates, 'bare' = {label(small)}, PostgreSQL "
            f"{shown}; GET /api/v1/verify/<code> over {wanted} random codes each, "
            f"{runner.generator}, {connections} connections, {rounds} x {seconds:g} s per side; "
            f"p50 ratios {ratios['p50_ms']}; filled in {fill_seconds['large']:.0f} s "
            f"({fill_seconds['small']:.1f} s small). 'scale upload': POST /api/v1/verify with the "
            f"issued PDF (found by its sha256), ratios {upload_ratios}"
        ),
        "rows": sizes,
        "fill_seconds": {k: round(v, 1) for k, v in fill_seconds.items()},
        "seed_seconds": round(seed_seconds, 1),
        "codes": wanted,
        "round_ratios": {**ratios, "upload_p50_ms": upload_ratios},
        "summary": figures,
        **runner.settings(connections, rounds, seconds, runs),
        "at": utcnow().isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

"""Bulk issuance of N certificates on a worker pool against a bare pool, measured in one run.

ours  = what ``flask --app wsgi certificates issue`` does: ``start_bulk`` (recorded, committed)
        then ``run_bulk`` with ``workers`` processes: each certificate reserved (commit), its
        credential signed, rendered and sealed in a worker, stored, completed (commit) and the
        request's progress recorded (commit);
bare  = a pool of the same size (spawned the same way, keys parsed once per worker) where each
        task is WeasyPrint rendering the same certificate HTML + pyHanko sealing it, the sealed
        bytes returned to the parent (bench.common.bare_render_seal, as bench/issuance.py),
        sealed at our level, PAdES B-LTA with the same demo TSA (the root's CRL made once per
        worker): the ratio is our overhead, not what B-LTA costs.

Both start their pool inside the measurement, as a command-line run does. The N certified cases
of each round of ours are made beforehand through the real workflow (tests.support.instances), on a
fresh SQLite instance. Rounds alternate the order (bare, ours, ours, bare, ...); the figure is
the wall time for N certificates, the ratio the median of the rounds' own ratios.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import statistics
import sys
import tempfile
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import alternate, bare_render_seal, elapsed, row  # noqa: E402

TARGET = 1.10

# --- the bare pool's workers --------------------------------------------------------------------

_bare: dict[str, Any] = {}


def _bare_init(paths: Any, material: Any, passphrase: bytes, html: str, credential: bytes) -> None:
    import datetime as dt

    from certification.certificates.production import IssuerSigner

    signer = IssuerSigner(material, passphrase)
    _bare.update(
        renderer=paths.renderer(),
        sealer=signer.sealer,
        crl=signer.crl(dt.datetime.now(dt.UTC)),
        html=html,
        credential=credential,
    )


def _bare_produce(_: int) -> bytes:
    return bare_render_seal(
        _bare["renderer"], _bare["sealer"], _bare["html"], _bare["credential"], _bare["crl"]
    )


def _measured(run: Any) -> dict[str, float]:
    """Wall seconds of ``run()``, and the CPU seconds it took in this process and in the
    processes it started and waited for (a pool's, once shut down)."""
    before = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    seconds = elapsed(run)
    after = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = [
        (a.ru_utime + a.ru_stime) - (b.ru_utime + b.ru_stime)
        for a, b in zip(after, before, strict=True)
    ]
    return {"s": seconds, "cpu_self": cpu[0], "cpu_children": cpu[1]}


# --- the benchmark ----------------------------------------------------------------------------


def main(n: int = 100, rounds: int = 2, workers: int = 2) -> dict[str, Any]:
    """Issue ``n`` certificates per round, ``rounds`` times each side."""
    from sqlalchemy.orm import Session

    from app.db import database
    from app.services import issuer
    from certification.certificates.bulk import run_bulk, start_bulk
    from certification.certificates.issuance import issue_one
    from certification.certificates.production import TEMPLATE, pdf_context, signer_material
    from certification.clock import utcnow
    from certification.models import Certificate, UserAccount
    from tests.support.instances import new_instance, seed_certified

    tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-bulk-"))
    try:
        with new_instance(tmp / "instance") as instance:
            signatory_id, case_ids = seed_certified(instance, 1 + rounds * n)
            app = instance.app()
            service = issuer(app)
            sessions = database(app).sessionmaker
            # One issuance warms this process, and gives the HTML and credential of the bare side.
            first = issue_one(service, signatory_id, case_ids[0])
            with sessions() as db:
                certificate = db.get_one(Certificate, first.id)
                html = service.renderer.render_html(
                    TEMPLATE,
                    pdf_context(certificate.content),
                    "it",
                )
                credential = service.storage.get(certificate.credential_sha256 or "")
                # The bare side seals as ours does: B-LTA with the demo TSA.
                material = signer_material(db, certificate.organisation_id, None)
                assert material.timestamping is not None, "the demo has its TSA: seals are B-LTA"
            batches = iter([case_ids[1 + i * n : 1 + (i + 1) * n] for i in range(rounds)])
            paths = service.renderer_paths
            issued: list[int] = []

            def ours() -> None:
                with Session(database(app).engine) as db:
                    actor = db.get_one(UserAccount, signatory_id)
                    bulk, _ = start_bulk(
                        db, actor, f"bench-{uuid.uuid4()}", next(batches), utcnow()
                    )
                    db.commit()
                    bulk_id = bulk.id
                results = run_bulk(service, bulk_id, workers=workers)
                done = [r for r in results if r.status == "issued"]
                if len(done) != n:
                    raise RuntimeError(f"bulk issued {len(done)} of {n}: {results[:3]}")
                issued.append(len(done))

            def bare() -> None:
                with ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_bare_init,
                    initargs=(paths, material, service.passphrase, html, credential),
                ) as pool:
                    pdfs = list(pool.map(_bare_produce, range(n)))
                if len(pdfs) != n or not all(p.startswith(b"%PDF-") for p in pdfs):
                    raise RuntimeError("the bare pool did not make every PDF")

            sides = {"ours": ours, "bare": bare}
            runs = alternate(rounds, ["bare", "ours"], lambda name: _measured(sides[name]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    times = {name: [r["s"] for r in runs if r["target"] == name] for name in sides}
    by = {(r["round"], r["target"]): r["s"] for r in runs}
    ratios = [round(by[i, "ours"] / by[i, "bare"], 3) for i in range(1, rounds + 1)]
    ours_s, bare_s = statistics.median(times["ours"]), statistics.median(times["bare"])
    # CPU per certificate, ms: where ours spends more than bare (the reserving and completing
    # process, or the rendering processes).
    cpu = {
        name: {
            where: round(
                1000
                * statistics.median(r[f"cpu_{where}"] for r in runs if r["target"] == name)
                / n,
                1,
            )
            for where in ("self", "children")
        }
        for name in sides
    }
    return {
        **row(
            "bulk",
            "s",
            round(ours_s, 2),
            round(bare_s, 2),
            round(statistics.median(ratios), 3),
            "lower",
            TARGET,
        ),
        "also": [
            row(
                "bulk throughput",
                "cert/s",
                round(n / ours_s, 2),
                round(n / bare_s, 2),
                None,
                "higher",
            )
        ],
        "note": (
            f"bulk: {n} certificates per run on {workers} worker processes, {rounds} runs per "
            f"side (pool start-up included); ratio = median of the runs' ratios {ratios}; "
            f"CPU per certificate, ms: ours {cpu['ours']['self']} in the issuing process + "
            f"{cpu['ours']['children']} in the rendering ones, bare {cpu['bare']['self']} + "
            f"{cpu['bare']['children']}"
        ),
        "cpu_ms_per_certificate": cpu,
        "n": n,
        "workers": workers,
        "rounds": rounds,
        "round_ratios": ratios,
        "seconds": times,
        "issued": sum(issued),
        "per_round": runs,
        "at": utcnow().isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

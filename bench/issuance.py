"""Issuance cost against its bare building blocks, measured side by side in one run.

bare  = WeasyPrint rendering the very same certificate HTML (PDF/A-3b, the same credential
        attached, shared fonts and CSS) + pyHanko sealing it with a key parsed once, at the
        level ours seals: PAdES B-LTA with the same demo TSA (signature time-stamp, DSS with
        the chain and the root's CRL made once, document time-stamp): the HTML of a correction
        made by the warm-up, since every measured issuance is a correction;
full  = Attesta's whole issuance of one certificate: reservation (commit), credential signed,
        render, seal as PAdES B-LTA (a signature time-stamp from the demo TSA, the chain and
        the root CA's CRL in the DSS, a document time-stamp), bytes stored, completion
        (commit) — measured as corrections of a demo certificate, each one a complete issuance.
        Both sides seal B-LTA, so the ratio is Attesta's overhead over the building blocks
        (until issue 22 the bare side sealed B-B, and the ratio carried what B-LTA adds).

And, on the same rendered PDF, what B-LTA costs over a plain PAdES B-B seal (for information, not
in the ratio): "seal B-LTA" (time-stamps and DSS, the CRL cached per process as in issuance)
against the plain seal.

The sides are interleaved so that all see the same machine state; medians are compared.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bare_render, bare_render_seal, row  # noqa: E402 - after the path is set


def main(rounds: int) -> dict[str, Any]:
    from alembic import command
    from sqlalchemy import select

    from app import create_app
    from app.cli import alembic_config
    from app.services import issuer
    from certification.certificates.issuance import issue_one
    from certification.certificates.production import (
        TEMPLATE,
        IssuerSigner,
        pdf_context,
        signer_material,
    )
    from certification.clock import utcnow
    from certification.models import Certificate, CertificateStatus, UserAccount

    instance = Path(tempfile.mkdtemp(prefix="attesta-bench-"))
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    app = create_app(
        {"ENV": "development", "INSTANCE_PATH": str(instance), "RATELIMIT_ENABLED": False}
    )
    with app.app_context():
        command.upgrade(alembic_config(app), "head")
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["demo", "load", "--json"])
    assert loaded.exit_code == 0, loaded.output
    code = json.loads(loaded.output)["certificates"]["valid"]
    with app.app_context():
        service = issuer(app)
        session = service.session_factory()
        current = session.scalar(select(Certificate).where(Certificate.verification_code == code))
        assert current is not None
        signatory = session.scalar(
            select(UserAccount).where(UserAccount.email == "firmatario@demo.attesta.example")
        )
        assert signatory is not None
        material = signer_material(session, current.organisation_id, None)
        assert material.timestamping is not None, "the demo has its TSA: seals are B-LTA"
        lta = IssuerSigner(material, service.passphrase)
        # For information only: pyHanko's plain seal (B-B), without time-stamps or DSS.
        signer = IssuerSigner(dataclasses.replace(material, timestamping=None), service.passphrase)
        crl = lta.crl(utcnow())  # the bare side's CRL, made once
        renderer = service.renderer
        signatory_id, case_id, latest = signatory.id, current.case_id, current.id
        session.close()

        def full() -> None:
            nonlocal latest
            done = issue_one(
                service, signatory_id, case_id, supersedes_id=latest, correction_note="Bench."
            )
            latest = done.id

        full()  # warm; then the bare side renders the very certificate this made (a correction:
        # its "Replaces" line takes the demo certificate to a third page) and its credential
        with service.session_factory() as session:
            made = session.get_one(Certificate, latest)
            html = renderer.render_html(TEMPLATE, pdf_context(made.content), "it")
            credential = service.storage.get(made.credential_sha256 or "")

        def bare() -> None:  # sealed B-LTA, as ours
            bare_render_seal(renderer, lta.sealer, html, credential, crl)

        # The seals alone, on the PDF the bare side renders.
        rendered = bare_render(renderer, html, credential)

        def seal_plain() -> None:
            signer.sealer.seal(rendered, reason="bench", location="Cremona")

        def seal_lta() -> None:
            now = utcnow()
            lta.sealer.seal(rendered, reason="bench", location="Cremona", now=now, crl=lta.crl(now))

        bare()  # warm
        seal_lta()
        times: dict[str, list[float]] = {"bare": [], "full": [], "plain": [], "lta": []}
        sides = (("bare", bare), ("full", full), ("plain", seal_plain), ("lta", seal_lta))
        for _ in range(rounds):
            for name, run in sides:
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        with service.session_factory() as check:
            issued = check.scalars(
                select(Certificate).where(Certificate.status == CertificateStatus.ISSUED)
            ).all()
            assert len(issued) >= 1
    bare_ms = statistics.median(times["bare"]) * 1000
    full_ms = statistics.median(times["full"]) * 1000
    plain_ms = statistics.median(times["plain"]) * 1000
    lta_ms = statistics.median(times["lta"]) * 1000
    return {
        "benchmark": "issuance",
        "rounds": rounds,
        "bare_render_plus_seal_ms_p50": round(bare_ms, 1),
        "issuance_ms_p50": round(full_ms, 1),
        "ratio": round(full_ms / bare_ms, 3),
        "target": 1.10,
        "seal_plain_ms_p50": round(plain_ms, 1),
        "seal_lta_ms_p50": round(lta_ms, 1),
        "lta_added_ms_p50": round(lta_ms - plain_ms, 1),
        "also": [
            row(
                "seal B-LTA",
                "ms",
                round(lta_ms, 1),
                round(plain_ms, 1),
                round(lta_ms / plain_ms, 3),
                "lower",
            )
        ],
        "note": (
            f"issuance: both sides seal PAdES B-LTA (demo TSA in process), so the ratio is "
            f"our overhead; B-LTA costs {lta_ms - plain_ms:.1f} ms per seal over B-B (median, "
            f"{lta_ms:.1f} against the plain seal's {plain_ms:.1f}), on both sides"
        ),
        "at": utcnow().isoformat(),
    }

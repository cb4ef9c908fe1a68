"""Issuance cost against its bare building blocks, measured side by side in one run.

bare  = WeasyPrint rendering the very same certificate HTML (PDF/A-3b, credential attached,
        shared fonts and CSS) + pyHanko sealing it with a key parsed once;
full  = Attesta's whole issuance of one certificate: reservation (commit), credential signed,
        render, seal, bytes stored, completion (commit) — measured as corrections of a demo
        certificate, each one a complete issuance.

The two are interleaved so that both see the same machine state; medians are compared.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from weasyprint import HTML, Attachment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(rounds: int) -> dict[str, Any]:
    from alembic import command
    from sqlalchemy import select

    from app import create_app
    from app.cli import alembic_config
    from app.services import issuer
    from certification.clock import utcnow
    from certification.issuance import issue_one
    from certification.models import Certificate, CertificateStatus, UserAccount
    from certification.producing import TEMPLATE, IssuerSigner, pdf_context, signer_material
    from certification.rendering import ASSET_SCHEME

    instance = Path(tempfile.mkdtemp(prefix="attesta-bench-"))
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
        signer = IssuerSigner(material, service.passphrase)
        renderer = service.renderer
        content, locale = current.content, current.locale
        html = renderer.render_html(TEMPLATE, pdf_context(content, locale), locale)
        credential = json.dumps({"example": "credential"}).encode() * 200  # same order of size
        signatory_id, case_id, latest = signatory.id, current.case_id, current.id
        session.close()

        def bare() -> None:
            pdf = HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=renderer.fetcher).write_pdf(
                stylesheets=[renderer.stylesheet],
                font_config=renderer.font_config,
                pdf_variant="pdf/a-3b",
                attachments=[
                    Attachment(
                        file_obj=io.BytesIO(credential),
                        name="credential.json",
                        relationship="Alternative",
                    )
                ],
            )
            signer.sealer.seal(pdf, reason="bench", location="Cremona")

        def full() -> None:
            nonlocal latest
            done = issue_one(
                service, signatory_id, case_id, supersedes_id=latest, correction_note="Bench."
            )
            latest = done.id

        bare()
        full()  # warm both paths
        times: dict[str, list[float]] = {"bare": [], "full": []}
        for _ in range(rounds):
            for name, run in (("bare", bare), ("full", full)):
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
    return {
        "benchmark": "issuance",
        "rounds": rounds,
        "bare_render_plus_seal_ms_p50": round(bare_ms, 1),
        "issuance_ms_p50": round(full_ms, 1),
        "ratio": round(full_ms / bare_ms, 3),
        "target": 1.15,
        "at": utcnow().isoformat(),
    }

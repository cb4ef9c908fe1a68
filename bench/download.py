"""Downloading an issued certificate's PDF over HTTP against a bare static-file route, one run.

ours  = ``GET /certificates/<id>/certificate.pdf`` as the logged-in holder (session cookie from
        the real login form) on the demo instance: session look-up, access check, the stored
        bytes read and sent as an attachment with Attesta's headers;
bare  = bench/bare_files_app.py ``GET /certificate.pdf``: Flask's ``send_file`` of the very
        same bytes from a file, no login, no database.

Both under gunicorn with the verify benchmark's settings (2 sync workers, 127.0.0.1), loaded by
the same generator (wrk, else Python) with the same connections, in rounds that alternate which
goes first. Figures are medians over the rounds; the ratio is the median of the rounds' own
ratios of throughput (higher is better).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
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
    clean_env,
    demo_instance,
    errors_row,
    expect,
    free_port,
    issued_certificate,
    log_in,
    per_round_ratios,
    row,
    serve,
    stop,
    summary,
)


def main(
    rounds: int = 4, seconds: float = 2.0, connections: int = 64, generator: str | None = None
) -> dict[str, Any]:
    """Measure; ``generator`` is "wrk" or "python" (default: wrk when on PATH)."""
    from bench import bare_files_app
    from certification.clock import utcnow
    from certification.demo.setting import DEMO_PASSWORD

    demo = demo_instance()
    issued = issued_certificate(demo)
    tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-download-"))
    servers: list[Server] = []
    try:
        bare_dir = tmp / "bare"
        bare_files_app.setup(bare_dir, issued.pdf, issued.root_pem)
        port = free_port()
        servers.append(serve("ours", "wsgi:app", attesta_env(demo.path, port), tmp, port))
        servers.append(
            serve(
                "bare",
                "bench.bare_files_app:create_app()",
                clean_env(**{bare_files_app.ENV_DIR: str(bare_dir)}),
                tmp,
            )
        )
        ours_server, bare_server = servers
        expect(ours_server, "/login")
        cookie = log_in(ours_server.port, issued.holder_email, DEMO_PASSWORD)
        loads = {
            "ours": Load(
                [f"/certificates/{issued.certificate_id}/certificate.pdf"],
                headers={"Cookie": cookie},
            ),
            "bare": Load([f"/{bare_files_app.PDF_NAME}"]),
        }
        by_name = {"ours": ours_server, "bare": bare_server}
        for name, load in loads.items():  # the same bytes on both sides
            body = expect(by_name[name], load.paths[0], headers=load.headers)
            if body != issued.pdf:
                raise RuntimeError(f"{name} served {len(body)} bytes, not the certificate")

        runner = LoadRunner(tmp, generator)

        def measure(name: str, duration: float = seconds) -> dict[str, Any]:
            return runner(by_name[name], loads[name], connections, duration)

        for name in loads:  # warm both
            measure(name, 1.0)
        runs = alternate(rounds, ["bare", "ours"], measure)
    finally:
        for server in servers:
            stop(server.process)
        shutil.rmtree(tmp, ignore_errors=True)

    ours, bare = summary(runs, "ours"), summary(runs, "bare")
    ratios = per_round_ratios(runs, "ours", "bare", "rps")
    size = len(issued.pdf)
    return {
        "benchmark": "download",
        "unit": "req/s",
        "ours": ours["rps"],
        "bare": bare["rps"],
        "ratio": round(statistics.median(ratios), 3),
        "target": 0.7,
        "better": "higher",
        "also": [
            row("download p50", "ms", ours["p50_ms"], bare["p50_ms"], None, "lower"),
            row("download p99", "ms", ours["p99_ms"], bare["p99_ms"], None, "lower"),
            errors_row("download errors", ours, bare),
        ],
        "note": (
            f"download: {runner.generator}, {connections} connections, {rounds} x {seconds:g} s "
            f"per side, the {size:,}-byte PDF of {issued.number}; ratio = median of the rounds' "
            f"ratios {ratios}"
        ),
        "round_ratios": ratios,
        "ratio_of_medians": round(ours["rps"] / bare["rps"], 3),
        "pdf_bytes": size,
        "summary": {"ours": ours, "bare": bare},
        **runner.settings(connections, rounds, seconds, runs),
        "at": utcnow().isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

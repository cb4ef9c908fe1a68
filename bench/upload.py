"""Verifying an uploaded certificate PDF over HTTP against bare pyHanko + a hash look-up, one run.

ours  = Attesta's ``POST /api/v1/verify`` (multipart ``file``) on the demo instance;
bare  = bench/bare_files_app.py ``POST /verify``: pyHanko validating the PDF's seal and its
        PAdES B-LTA document time-stamp against our root certificate, and the file's sha256
        looked up in a SQLite table.

Two files, each sent to both sides:

- ``issued``: the demo certificate's PDF as issued. Attesta finds its sha256 in the register
  and answers from there, without parsing the PDF (README: byte-identical means ours); the
  bare side always validates. This is the row the target applies to first.
- ``altered``: the same PDF with a comment appended after ``%%EOF``. Its hash is unknown, so
  Attesta checks the seal in its limited child process (certification.portfolio.sandbox): the path
  every file that is not byte-identical takes. The bare side does the same work as above.

Both under gunicorn with the verify benchmark's settings; few connections (default 2, one per
worker) so that latency is the time of one verification, not a queue; ours gets one upload slot
per connection (ATTESTA_UPLOAD_SLOTS), as many checks at once as the bare side runs. Rounds
alternate the order; figures are medians, ratios the medians of the rounds' own ratios of p50
latency (lower is better).
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
    multipart,
    per_round_ratios,
    row,
    serve,
    stop,
    summary,
)

#: What makes the ``altered`` file: bytes after the end of the sealed file.
APPENDED = b"\n% appended after sealing by the upload benchmark\n"
TARGET = 1.2
#: Runs of one side and file before a run without any answer stops the benchmark.
MAX_TRIES = 4


def main(
    rounds: int = 4, seconds: float = 4.0, connections: int = 2, generator: str | None = None
) -> dict[str, Any]:
    """Measure; ``generator`` is "wrk" or "python" (default: wrk when on PATH)."""
    from bench import bare_files_app
    from certification.clock import utcnow

    demo = demo_instance()
    issued = issued_certificate(demo)
    files = {"issued": issued.pdf, "altered": issued.pdf + APPENDED}
    tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-upload-"))
    servers: dict[str, Server] = {}
    try:
        bare_dir = tmp / "bare"
        bare_files_app.setup(bare_dir, issued.pdf, issued.root_pem)
        port = free_port()
        # As many seal checks at once as the bare side runs (one per connection): the default
        # on 2 cores is one slot (a core kept for everything else), and the second upload then
        # queues for it, or is told 503 "busy": that would measure the policy, not the check.
        slots = str(max(1, connections))
        env = attesta_env(demo.path, port, ATTESTA_UPLOAD_SLOTS=slots)
        servers["ours"] = serve("ours", "wsgi:app", env, tmp, port)
        servers["bare"] = serve(
            "bare",
            "bench.bare_files_app:create_app()",
            clean_env(**{bare_files_app.ENV_DIR: str(bare_dir)}),
            tmp,
        )
        loads: dict[str, tuple[Server, Load]] = {}
        for kind, data in files.items():
            body, media_type = multipart("file", "certificate.pdf", data, "application/pdf")
            headers = {"Content-Type": media_type}
            for side, path in (("ours", "/api/v1/verify"), ("bare", "/verify")):
                loads[f"{side} {kind}"] = (
                    servers[side],
                    Load([path], method="POST", headers=headers, body=body),
                )
        answers = {}
        for name, (server, load) in loads.items():
            body = expect(
                server, load.paths[0], method="POST", body=load.body, headers=load.headers
            )
            answers[name] = json.loads(body)
        # Both sides did the whole work: ours said valid / not valid; the bare side validated
        # the seal and its time-stamps (trusted) and saw the altered file's extra bytes. A side
        # that answered something else (a refusal, an error) stops the benchmark with its answer.
        seen = (
            answers["ours issued"].get("verdict"),
            answers["ours altered"].get("verdict"),
            answers["bare issued"].get("coverage"),
            answers["bare issued"].get("trusted"),
            answers["bare altered"].get("coverage") == "ENTIRE_FILE",
            answers["bare altered"].get("trusted"),
        )
        if seen != ("valid", "not_valid", "ENTIRE_FILE", True, False, True):
            raise RuntimeError(f"unexpected answers: {answers}")
        altered_reason = answers["ours altered"]["reason"]

        runner = LoadRunner(tmp, generator)

        def measure(name: str, duration: float = seconds) -> dict[str, Any]:
            # A B-LTA validation takes tenths of a second of CPU; on a busy machine a short run
            # may end before any answer came back (wrk then says p50 = 0). Such a run is made
            # again, twice as long: what is compared is latency, which the length does not bias.
            server, load = loads[name]
            for _ in range(MAX_TRIES):
                found = runner(server, load, connections, duration)
                if found["rps"] > 0 and found["p50_ms"] > 0:
                    return {**found, "seconds": duration}
                duration *= 2
            raise RuntimeError(f"{name}: no answer in {MAX_TRIES} runs, the last {found}")

        for name in loads:  # warm: imports, pyHanko, our seal-checking child processes
            measure(name, 1.0)
        runs = alternate(rounds, list(loads), measure)
    finally:
        for server in servers.values():
            stop(server.process)
        shutil.rmtree(tmp, ignore_errors=True)

    figures = {name: summary(runs, name) for name in loads}
    ratios = {
        kind: per_round_ratios(runs, f"ours {kind}", f"bare {kind}", "p50_ms") for kind in files
    }

    def latency(kind: str, label: str) -> dict[str, Any]:
        ours, bare = figures[f"ours {kind}"], figures[f"bare {kind}"]
        return row(
            label,
            "ms",
            ours["p50_ms"],
            bare["p50_ms"],
            round(statistics.median(ratios[kind]), 3),
            "lower",
            TARGET,
        )

    main_row = latency("issued", "upload")
    errors = {
        side: {"errors": sum(figures[f"{side} {k}"]["errors"] for k in files)}
        for side in ("ours", "bare")
    }
    return {
        **main_row,
        "also": [
            latency("altered", "upload altered"),
            *(
                row(
                    f"upload {kind} rps",
                    "req/s",
                    figures[f"ours {kind}"]["rps"],
                    figures[f"bare {kind}"]["rps"],
                    None,
                    "higher",
                )
                for kind in files
            ),
            row(
                "upload p99",
                "ms",
                figures["ours issued"]["p99_ms"],
                figures["bare issued"]["p99_ms"],
                None,
                "lower",
            ),
            errors_row("upload errors", errors["ours"], errors["bare"]),
        ],
        "note": (
            f"upload: {runner.generator}, {connections} connections, {rounds} x {seconds:g} s "
            f"per side and file, p50 latency; 'upload' = the PDF as issued (ours answers from "
            f"the register by its sha256, no PDF parsing; ratios {ratios['issued']}), 'upload "
            f"altered' = bytes appended after %%EOF (ours checks the seal in its child process "
            f"and answers {altered_reason}; ratios {ratios['altered']}); bare always runs "
            f"pyHanko's validation + the hash look-up"
        ),
        "round_ratios": ratios,
        "summary": figures,
        **runner.settings(connections, rounds, seconds, runs),
        "at": utcnow().isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

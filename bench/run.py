"""``make bench``: run the benchmarks, print a table of ratios, keep JSON under bench/results/.

BENCH=verify (or "issuance,verify"; default: all) chooses the benchmarks. Knobs, by benchmark:

- issuance: ROUNDS (15).
- verify: VERIFY_ROUNDS (6), VERIFY_SECONDS (2), VERIFY_CONNECTIONS (64),
  VERIFY_LOW_CONNECTIONS (8: where p99 has an absolute goal), VERIFY_PATH (Attesta's
  URL, "{code}" the demo code; default /api/v1/verify/{code}).
- bulk: BULK_N (100 certificates per run; 1000 for the full run: BULK_N=1000 make bench),
  BULK_ROUNDS (2 runs per side), BULK_WORKERS (2). It takes about
  2 x BULK_ROUNDS x (2 + BULK_N / 8) s on 2 idle cores, plus BULK_N x BULK_ROUNDS / 15 s to
  make the certified cases.
- download: DOWNLOAD_ROUNDS (4), DOWNLOAD_SECONDS (2), DOWNLOAD_CONNECTIONS (64).
- upload: UPLOAD_ROUNDS (4), UPLOAD_SECONDS (4: a B-LTA validation takes tenths of a second),
  UPLOAD_CONNECTIONS (2).
- scale: SCALE_ROWS (1000000, the large database), SCALE_SMALL_ROWS (1000), SCALE_ROUNDS (6),
  SCALE_SECONDS (2), SCALE_CONNECTIONS (2), SCALE_CODES (1000 codes looked up per database),
  BENCH_PG_URL (postgresql+psycopg://postgres@127.0.0.1:5432/test; skipped when it does not
  answer). It creates databases bench_scale_* and drops them.
- startup: STARTUP_ROUNDS (7): the CPU time of `flask --app wsgi --help` against a bare Flask
  app's, a process per run (seconds, not minutes).
- queue: QUEUE_ROWS (100000 cases, the large database), QUEUE_SMALL_ROWS (1000), QUEUE_ROUNDS
  (6), QUEUE_CALLS (20 per operation, side and round), BENCH_PG_URL as scale. The staff's list
  of cases, search and "needs my action", in process; databases bench_queue_*, dropped after.
- scaleout: SCALEOUT_N (48 certificates per run), SCALEOUT_ROUNDS (2 per side), SCALEOUT_CHUNK
  (6 per bulk request), BENCH_REDIS_URL (redis://127.0.0.1:6379/11; a queue named per run),
  BENCH_PG_URL as scale (SQLite when it does not answer): bulk issuance through the Redis queue
  with 1 and 2 `jobs worker`s, each with one rendering process; no certificate issued twice.
- memory: MEMORY_N (200 issuances per process; 1000 for the issue's figure), MEMORY_CHUNK (20):
  RSS growth of a job worker and of a web process's bulk thread after warm-up.
- the HTTP ones (verify, download, upload, scale): BENCH_LOADGEN (wrk or python; default wrk
  when installed). verify, download and upload share one demo instance per run.

After the table of this run, issue 22's table (bench/issue22.py): every row of the issue with its
ratio and target, from this run or from the last result kept of its benchmark; also written to
bench/results/issue22.json and issue22.md, with the machine's load.

Every result carries benchmark, unit, ours, bare, ratio, target and better ("lower"/"higher"),
and may carry more rows under "also"; a row with target_on="ours" sets an absolute limit on our
figure instead of on the ratio; "note", when present, is printed under the table. A result with
"skipped" (and no figures) says why the benchmark could not run here; it is no error.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def issuance() -> dict[str, Any]:
    from bench import issuance

    result = issuance.main(int(os.environ.get("ROUNDS", "15")))
    result.update(
        unit="ms",
        ours=result["issuance_ms_p50"],
        bare=result["bare_render_plus_seal_ms_p50"],
        better="lower",
    )
    return result


def verify() -> dict[str, Any]:
    from bench import verify

    return verify.main(
        rounds=int(os.environ.get("VERIFY_ROUNDS", "6")),
        seconds=float(os.environ.get("VERIFY_SECONDS", "2")),
        connections=int(os.environ.get("VERIFY_CONNECTIONS", "64")),
        ours_path=os.environ.get("VERIFY_PATH") or verify.OURS_PATH,
        generator=os.environ.get("BENCH_LOADGEN") or None,
        low_connections=int(os.environ.get("VERIFY_LOW_CONNECTIONS", "8")),
    )


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def bulk() -> dict[str, Any]:
    from bench import bulk

    return bulk.main(
        n=_int("BULK_N", 100), rounds=_int("BULK_ROUNDS", 2), workers=_int("BULK_WORKERS", 2)
    )


def download() -> dict[str, Any]:
    from bench import download

    return download.main(
        rounds=_int("DOWNLOAD_ROUNDS", 4),
        seconds=_float("DOWNLOAD_SECONDS", 2),
        connections=_int("DOWNLOAD_CONNECTIONS", 64),
    )


def upload() -> dict[str, Any]:
    from bench import upload

    return upload.main(
        rounds=_int("UPLOAD_ROUNDS", 4),
        seconds=_float("UPLOAD_SECONDS", 4),
        connections=_int("UPLOAD_CONNECTIONS", 2),
    )


def scale() -> dict[str, Any]:
    from bench import scale

    return scale.main(
        small=_int("SCALE_SMALL_ROWS", 1000),
        large=_int("SCALE_ROWS", 1_000_000),
        rounds=_int("SCALE_ROUNDS", 6),
        seconds=_float("SCALE_SECONDS", 2),
        connections=_int("SCALE_CONNECTIONS", 2),
        codes=_int("SCALE_CODES", 1000),
    )


def queue() -> dict[str, Any]:
    from bench import caselist  # not "queue": bench/ is on sys.path, the stdlib has one

    return caselist.main(
        small=_int("QUEUE_SMALL_ROWS", 1000),
        large=_int("QUEUE_ROWS", 100_000),
        rounds=_int("QUEUE_ROUNDS", 6),
        calls=_int("QUEUE_CALLS", 20),
    )


def scaleout() -> dict[str, Any]:
    from bench import scaleout

    return scaleout.scaleout(
        n=_int("SCALEOUT_N", 48), rounds=_int("SCALEOUT_ROUNDS", 2), chunk=_int("SCALEOUT_CHUNK", 6)
    )


def memory() -> dict[str, Any]:
    from bench import scaleout

    return scaleout.memory(n=_int("MEMORY_N", 200), chunk=_int("MEMORY_CHUNK", 20))


def startup() -> dict[str, Any]:
    from bench import startup

    return startup.main(rounds=_int("STARTUP_ROUNDS", 7))


BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {
    "startup": startup,
    "issuance": issuance,
    "verify": verify,
    "bulk": bulk,
    "download": download,
    "upload": upload,
    "scale": scale,
    "queue": queue,
    "scaleout": scaleout,
    "memory": memory,
}


def _figure(value: Any, unit: str) -> str:
    if value is None:
        return ""
    text = f"{value:,.1f}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".strip()


def _row(r: dict[str, Any]) -> str:
    ratio = "" if r.get("ratio") is None else f"{r['ratio']:.3f}"
    verdict = target = ""
    if r.get("target") is not None:
        on_ours = r.get("target_on") == "ours"
        value = r["ours"] if on_ours else r["ratio"]
        lower = r["better"] == "lower"
        ok = value <= r["target"] if lower else value >= r["target"]
        target = ("≤ " if lower else "≥ ") + (
            _figure(r["target"], r["unit"]) if on_ours else str(r["target"])
        )
        verdict = "ok" if ok else "MISSED"
    return (
        f"{r['benchmark']:<16} {_figure(r['ours'], r['unit']):>14} "
        f"{_figure(r['bare'], r['unit']):>14} {ratio:>7} {target:>10} {verdict}"
    )


def main() -> int:
    chosen = [n for n in os.environ.get("BENCH", "").replace(",", " ").split() if n] or list(
        BENCHMARKS
    )
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    from bench import issue22

    for name in chosen:
        print(f"benchmark {name}...", flush=True)
        begun = time.monotonic()
        try:
            result = BENCHMARKS[name]()
        except Exception as exc:
            traceback.print_exc()
            result = {"benchmark": name, "error": f"{type(exc).__name__}: {exc}"}
        result["wall_seconds"] = round(time.monotonic() - begun, 1)
        result.setdefault("at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        result["machine"] = issue22.machine_load()  # as the benchmark ended
        print(f"  ({result['wall_seconds']:.0f} s)", flush=True)
        results.append(result)
        (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    (out / "latest.json").write_text(json.dumps(results, indent=2))

    print(f"\n{'benchmark':<16} {'ours':>14} {'bare':>14} {'ratio':>7} {'target':>10}")
    for r in results:
        if "error" in r:
            print(f"{r['benchmark']:<16} ERROR {r['error'].splitlines()[0]}")
            continue
        if "skipped" in r:
            print(f"{r['benchmark']:<16} skipped: {r['skipped']}")
            continue
        for row in (r, *r.get("also", ())):
            print(_row(row))
    for r in results:
        if r.get("note"):
            print(f"\n{r['note']}")
    # Issue 22's rows, every one: from this run, or the last kept result of its benchmark.
    print(f"\n{issue22.write(results, out)}")
    took = time.monotonic() - started
    print(f"\n(JSON: {out / 'latest.json'}, {out / 'issue22.json'}; {took:.0f} s in all)")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())

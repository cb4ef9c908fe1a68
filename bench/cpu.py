"""CPU per request of the verify and download routes, ours and bare, in process (issue 22).

On a machine that others share, wall-clock throughput says little; the CPU a request costs says
much more. This builds the demo instance as bench/verify.py and bench/download.py do (the same
demo, the same bare apps on the same data), then calls each WSGI app N times in this process
with a prepared environ (the request the benchmark sends: ``GET /api/v1/verify/<code>`` against
``GET /v/<code>``; the holder's ``GET /certificates/<id>/certificate.pdf`` with their session
cookie against ``GET /certificate.pdf``) and measures ``time.process_time()`` per request (all
threads: the verification log's writer is counted too). Ours is ``wsgi:app`` with its whole
middleware stack, under the benchmark's settings (production, rate limits off, 2 web workers
declared as gunicorn.conf.py does); ``--limits`` counts rate limits in memory as well.

The server is out of the picture on both sides (gunicorn's parsing and writing is the same for
both); a file response is handed to a ``wsgi.file_wrapper`` that sends it to /dev/null with
sendfile(2), as gunicorn sends it to the socket.

    .venv/bin/python bench/cpu.py [-n 2000] [--profile 25] [--only verify|download] [--limits]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 - after the path is set
    Demo,
    attesta_env,
    clean_env,
    demo_instance,
    issued_certificate,
    run_flask,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DevNullFileWrapper:
    """gunicorn's ``wsgi.file_wrapper`` as far as CPU goes: the file goes out by sendfile(2)."""

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self) -> Any:
        sink = os.open(os.devnull, os.O_WRONLY)
        try:
            fd = self.filelike.fileno()
            offset = 0
            while sent := os.sendfile(sink, fd, offset, 1 << 20):
                offset += sent
        finally:
            os.close(sink)
        return iter(())

    def close(self) -> None:
        self.filelike.close()


def environ(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    built = EnvironBuilder(
        path=path,
        base_url="http://127.0.0.1:5300",
        headers=list((headers or {}).items()),
        environ_base={"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000"},
    ).get_environ()
    built["wsgi.file_wrapper"] = DevNullFileWrapper
    built["SERVER_SOFTWARE"] = "gunicorn"
    return built


def call(app: WSGIApp, base: dict[str, Any]) -> tuple[str, int]:
    """One request: its status line and the number of body bytes (iterated, then closed)."""
    env = dict(base)
    env["wsgi.input"] = io.BytesIO(b"")
    env["wsgi.errors"] = sys.stderr
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(line)
        return lambda data: None

    result = app(env, start_response)
    size = 0
    try:
        for chunk in result:
            size += len(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return status[0], size


def per_request(app: WSGIApp, env: dict[str, Any], n: int) -> list[float]:
    """CPU milliseconds of each of ``n`` calls."""
    clock = time.process_time
    out = []
    for _ in range(n):
        start = clock()
        call(app, env)
        out.append((clock() - start) * 1000)
    return out


def figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "mean_ms": round(statistics.fmean(ordered), 4),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)], 4),
    }


def compare(
    label: str, ours: tuple[WSGIApp, dict[str, Any]], bare: tuple[WSGIApp, dict[str, Any]], n: int
) -> dict[str, Any]:
    """Alternate blocks of ours and bare (a drift of the machine hits both alike)."""
    blocks = 4
    samples: dict[str, list[float]] = {"ours": [], "bare": []}
    for app, env in (ours, bare):
        per_request(app, env, 200)  # warm: imports, caches, the database's pages
    for i in range(blocks):
        order = ("ours", "bare") if i % 2 == 0 else ("bare", "ours")
        for name in order:
            app, env = ours if name == "ours" else bare
            samples[name] += per_request(app, env, n // blocks)
    result: dict[str, Any] = {name: figures(values) for name, values in samples.items()}
    result["ratio_mean"] = round(result["ours"]["mean_ms"] / result["bare"]["mean_ms"], 3)
    result["ratio_median"] = round(result["ours"]["median_ms"] / result["bare"]["median_ms"], 3)
    print(
        f"{label:<9} ours {result['ours']['mean_ms']:.3f} ms (median "
        f"{result['ours']['median_ms']:.3f}, p90 {result['ours']['p90_ms']:.3f})  "
        f"bare {result['bare']['mean_ms']:.3f} ms (median {result['bare']['median_ms']:.3f}, "
        f"p90 {result['bare']['p90_ms']:.3f})  CPU ratio {result['ratio_mean']:.3f} "
        f"(throughput ratio it bounds: {1 / result['ratio_mean']:.3f})",
        flush=True,
    )
    return result


def profile(label: str, app: WSGIApp, env: dict[str, Any], n: int, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        call(app, env)
    profiler.disable()
    for key in ("tottime", "cumulative"):
        print(f"\n--- {label}: {n} requests, top {top} by {key} ---")
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats(key).print_stats(top)
        text = stream.getvalue()
        print(text[text.find("   ncalls") :].rstrip().replace(str(ROOT) + "/", ""))
        if os.environ.get("CPU_CALLEES"):
            stats.print_callees(os.environ["CPU_CALLEES"])
            print(stream.getvalue()[len(text) :].replace(str(ROOT) + "/", ""))


def log_in(app: Any, email: str, password: str) -> str:
    """The holder's session cookie, from the real login form."""
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    if token is None:
        raise RuntimeError("no CSRF token on /login")
    answer = client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": email, "password": password},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"POST /login answered {answer.status_code}")
    cookies = answer.headers.getlist("Set-Cookie")
    return cookies[-1].split(";", 1)[0]


def kept_demo(folder: Path) -> Demo:
    """The demo instance in ``folder``, made there the first time (kept between runs: loading
    the demo takes a minute or more on a busy machine)."""
    import json

    codes_file = folder / "codes.json"
    instance = folder / "instance"
    if not codes_file.exists():
        shutil.rmtree(instance, ignore_errors=True)
        env = clean_env(ATTESTA_INSTANCE_PATH=str(instance))
        run_flask(env, "db", "upgrade")
        codes_file.write_text(run_flask(env, "demo", "load", "--json"))
    codes = json.loads(codes_file.read_text())["certificates"]
    return Demo(instance, str(codes["valid"]), str(codes["revoked"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per side (2000)")
    parser.add_argument("--profile", type=int, default=25, help="rows of each profile (0: none)")
    parser.add_argument("--only", choices=("verify", "download"), default=None)
    parser.add_argument("--limits", action="store_true", help="rate limits on, in memory")
    parser.add_argument(
        "--demo", type=Path, default=None, help="keep the demo instance in this folder, reuse it"
    )
    options = parser.parse_args()

    from bench import bare_files_app, bare_verify_app
    from certification.demo.setting import DEMO_PASSWORD

    demo = kept_demo(options.demo) if options.demo else demo_instance()
    issued = issued_certificate(demo)
    tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-cpu-"))
    try:
        bare_db = tmp / "bare.sqlite3"
        bare_code = bare_verify_app.setup(bare_db)[0]
        bare_verify = bare_verify_app.create_app(str(bare_db))
        bare_dir = tmp / "files"
        bare_files_app.setup(bare_dir, issued.pdf, issued.root_pem)
        bare_files = bare_files_app.create_app(str(bare_dir))

        limits = {"ATTESTA_RATELIMIT_ENABLED": "true"} if options.limits else {}
        env = attesta_env(demo.path, 5300, ATTESTA_WEB_WORKERS="2", **limits)
        if options.limits:
            env.update(ATTESTA_RATELIMIT_STORAGE_URI="memory://", ATTESTA_RATELIMIT_PER_PROCESS="1")
        os.environ.clear()
        os.environ.update(env)
        ours = importlib.import_module("wsgi").app  # wsgi:app, as gunicorn loads it

        verify_ours = environ(f"/api/v1/verify/{demo.valid}")
        verify_bare = environ(f"/v/{bare_code}")
        for app, env_ in ((ours, verify_ours), (bare_verify, verify_bare)):
            status, _ = call(app, env_)
            if not status.startswith("200"):
                raise RuntimeError(f"{env_['PATH_INFO']} answered {status}")

        download_path = f"/certificates/{issued.certificate_id}/certificate.pdf"
        download_ours = environ(download_path)

        def fresh() -> None:
            """Log in again: a new session cookie on ``download_ours``."""
            cookie = log_in(ours, issued.holder_email, DEMO_PASSWORD)
            download_ours["HTTP_COOKIE"] = cookie

        fresh()
        download_bare = environ(f"/{bare_files_app.PDF_NAME}")
        for app, env_ in ((ours, download_ours), (bare_files, download_bare)):
            status, _ = call(app, env_)
            if not status.startswith("200"):
                raise RuntimeError(f"{env_['PATH_INFO']} answered {status}")

        n = options.n
        print(f"CPU per request, {n} requests per side (process_time, in process)", flush=True)
        if options.only in (None, "verify"):
            compare("verify", (ours, verify_ours), (bare_verify, verify_bare), n)
        if options.only in (None, "download"):
            fresh()  # the fast path answers a session seen within the last minute
            compare("download", (ours, download_ours), (bare_files, download_bare), n)
        if options.profile:
            if options.only in (None, "verify"):
                profile("verify, ours", ours, verify_ours, n, options.profile)
                profile("verify, bare", bare_verify, verify_bare, n, options.profile)
            if options.only in (None, "download"):
                fresh()
                profile("download, ours", ours, download_ours, n, options.profile)
                profile("download, bare", bare_files, download_bare, n, options.profile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

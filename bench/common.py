"""What the benchmarks share: ports, gunicorn servers, the demo instance, load generators, the
bare render + seal, and the alternating rounds that keep ratios fair on a busy machine.

Servers listen on 127.0.0.1 only, on ports 5300-5399 (``free_port``).
"""

from __future__ import annotations

import asyncio
import atexit
import http.client
import io
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORTS = range(5300, 5400)
WORKERS = 2
READY_TIMEOUT = 60.0
REQUEST_TIMEOUT = 10.0

# wrk: per-thread count of answers by status, then one JSON line with the run's figures.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do merged[status] = (merged[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, string.format('"%d": %d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"statuses": {%s}, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    table.concat(parts, ", "), e.connect + e.read + e.write + e.timeout))
end
"""


# --- servers --------------------------------------------------------------------------------

_taken: set[int] = set()


def free_port() -> int:
    """A port of 5300-5399 free on 127.0.0.1 and not yet handed out by this process."""
    candidates = [p for p in PORTS if p not in _taken]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without ``ATTESTA_*`` settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")}
    env.update(extra)
    return env


def attesta_env(instance: Path, port: int, **extra: str) -> dict[str, str]:
    """How every benchmark serves Attesta: production settings, no rate limits."""
    return clean_env(
        ATTESTA_INSTANCE_PATH=str(instance),
        ATTESTA_RATELIMIT_ENABLED="false",
        ATTESTA_ENV="production",
        ATTESTA_BASE_URL=f"http://127.0.0.1:{port}",
        **extra,
    )


def gunicorn(app_spec: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """The same gunicorn settings for every server: 2 sync workers on 127.0.0.1."""
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS),
        "--worker-class", "sync",
        "--log-level", "warning",
        app_spec,
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on loopback: status, headers (last value of each name), body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_ready(process: subprocess.Popen, port: int, path: str, log: Path) -> None:
    """Wait until the server answers ``path`` (any status)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{tail(log)}")
        try:
            request(port, path)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn not answering {path} after {READY_TIMEOUT:.0f} s:\n{tail(log)}")


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`gunicorn` (its master, then its process group)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # the master stops its workers
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the master and its workers
        process.wait()


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Server:
    """A started server and how to reach it."""

    name: str
    port: int
    process: subprocess.Popen
    log: Path


def serve(name: str, app_spec: str, env: dict[str, str], logs: Path, port: int = 0) -> Server:
    """Start gunicorn for ``app_spec`` (call :func:`stop` on ``.process`` when done)."""
    port = port or free_port()
    log = logs / f"{name}.log"
    return Server(name, port, gunicorn(app_spec, port, env, log), log)


def expect(server: Server, path: str, status: int = 200, **kwargs: Any) -> bytes:
    """Wait for ``server``, then check that ``path`` answers ``status``; the body."""
    wait_ready(server.process, server.port, "/", server.log)
    got, _, body = request(server.port, path, **kwargs)
    if got != status:
        raise RuntimeError(f"{path} ({server.name}) answered {got}: {body[:300]!r}")
    return body


# --- the demo instance --------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """An Attesta instance folder with the demo data (SQLite), and its certificate codes."""

    path: Path
    valid: str
    revoked: str


_demo: Demo | None = None


def run_flask(env: dict[str, str], *args: str) -> str:
    """``flask --app wsgi ARGS`` in a process of its own; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def demo_instance() -> Demo:
    """A fresh instance with the demo data, made once per process (removed at exit) and shared
    by the HTTP benchmarks: loading the demo takes half a minute."""
    global _demo
    if _demo is None:
        tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-demo-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        instance = tmp / "instance"
        env = clean_env(ATTESTA_INSTANCE_PATH=str(instance))
        run_flask(env, "db", "upgrade")
        codes = json.loads(run_flask(env, "demo", "load", "--json"))["certificates"]
        _demo = Demo(instance, str(codes["valid"]), str(codes["revoked"]))
    return _demo


# --- load generators --------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What a load generator sends: ``paths`` in turn, with the same method, headers, body."""

    paths: Sequence[str]
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def raw(self, port: int) -> list[bytes]:
        """The HTTP/1.1 requests, one per path (``Connection: close``, as gunicorn's sync
        workers answer anyway)."""
        head = {"Host": f"127.0.0.1:{port}", **self.headers, "Connection": "close"}
        if self.body is not None:
            head["Content-Length"] = str(len(self.body))
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        return [
            f"{self.method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + (self.body or b"")
            for path in self.paths
        ]

    def lua(self, folder: Path) -> str:
        """The wrk script's request part (the body is read from a file in ``folder``)."""

        def quoted(text: str) -> str:
            return json.dumps(text)  # a JSON string is a valid Lua string here (ASCII)

        parts = []
        if self.body is not None:
            body_file = folder / f"body-{abs(hash(self.body))}.bin"
            body_file.write_bytes(self.body)
            parts.append(f'wrk.body = io.open({quoted(str(body_file))}, "rb"):read("*all")')
        parts.append(f"wrk.method = {quoted(self.method)}")
        parts += [f"wrk.headers[{quoted(k)}] = {quoted(v)}" for k, v in self.headers.items()]
        if len(self.paths) > 1:
            listed = ", ".join(quoted(p) for p in self.paths)
            parts.append(
                f"local paths = {{{listed}}}\n"
                "local n = 0\n"
                "function request()\n"
                "  n = n + 1\n"
                "  return wrk.format(nil, paths[(n % #paths) + 1])\n"
                "end"
            )
        return "\n".join(parts) + "\n"


def figures(
    elapsed: float,
    requests: int,
    p50_ms: float,
    p99_ms: float,
    statuses: dict[str, int],
    socket_errors: int,
    ok: str = "200",
) -> dict[str, Any]:
    """One run's figures; throughput counts the ``ok`` answers only."""
    good = statuses.get(ok, 0)
    return {
        "requests": requests,
        "rps": good / elapsed,
        "p50_ms": p50_ms,
        "p99_ms": p99_ms,
        "non_200": requests - good,
        "socket_errors": socket_errors,
        "statuses": dict(sorted(statuses.items())),
    }


def wrk(url: str, connections: int, seconds: float, script: Path) -> dict[str, Any]:
    """Run wrk with ``script`` (ending with :data:`WRK_SCRIPT`) against ``url``."""
    threads = min(os.cpu_count() or 1, connections)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={REQUEST_TIMEOUT:.0f}s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCHJSON "))
    return figures(
        raw["duration_us"] / 1e6,
        raw["requests"],
        raw["p50_us"] / 1000,
        raw["p99_us"] / 1000,
        raw["statuses"],
        raw["socket_errors"],
    )


async def _py_connections(
    host: str, port: int, requests: list[bytes], connections: int, deadline: float
) -> tuple[list[float], dict[str, int], int, float]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    socket_errors = 0
    last = time.monotonic()
    sent = 0

    async def one(payload: bytes) -> None:
        with socket.socket() as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, (host, port))
            start = time.perf_counter()  # like wrk: from the request written to the answer read
            await loop.sock_sendall(sock, payload)
            chunks = []
            while chunk := await loop.sock_recv(sock, 65536):  # Connection: close -> EOF
                chunks.append(chunk)
            latencies.append(time.perf_counter() - start)
        head = b"".join(chunks[:1])[:12]
        status = head[9:12].decode("latin-1") if head.startswith(b"HTTP/1.") else "invalid"
        statuses[status] = statuses.get(status, 0) + 1

    async def connection() -> None:
        nonlocal last, socket_errors, sent
        while time.monotonic() < deadline:  # bounded: no new request after the deadline
            payload = requests[sent % len(requests)]
            sent += 1
            try:
                await asyncio.wait_for(one(payload), REQUEST_TIMEOUT)
            except (OSError, TimeoutError):
                socket_errors += 1
            last = max(last, time.monotonic())

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, socket_errors, last


def _py_worker(
    host: str,
    port: int,
    requests: list[bytes],
    connections: int,
    start: float,
    seconds: float,
    out: Any,
) -> None:
    time.sleep(max(0.0, start - time.monotonic()))  # all processes start together
    result = asyncio.run(_py_connections(host, port, requests, connections, start + seconds))
    out.put(result)


def python_load(
    host: str, port: int, requests: list[bytes], connections: int, seconds: float
) -> dict[str, Any]:
    """A bounded closed-loop generator: one process per core (the GIL would make one process
    the bottleneck), asyncio with raw non-blocking sockets in each, the connections split;
    ``requests`` are sent in turn."""
    context = multiprocessing.get_context("fork")
    procs = max(1, min(os.cpu_count() or 1, connections))
    queue = context.Queue()
    start = time.monotonic() + 0.2
    shares = [connections // procs + (i < connections % procs) for i in range(procs)]
    workers = [
        context.Process(target=_py_worker, args=(host, port, requests, n, start, seconds, queue))
        for n in shares
    ]
    for worker in workers:
        worker.start()
    try:
        results = [queue.get(timeout=seconds + 2 * REQUEST_TIMEOUT + 5) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()
    latencies = sorted(x for r in results for x in r[0])
    statuses: dict[str, int] = {}
    for r in results:
        for status, n in r[1].items():
            statuses[status] = statuses.get(status, 0) + n
    return figures(
        max(r[3] for r in results) - start,
        len(latencies),
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        statuses,
        sum(r[2] for r in results),
    )


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(1, round(p / 100 * len(ordered) + 0.5))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


def generator_name(wanted: str | None = None) -> str:
    """``wanted``, else $BENCH_LOADGEN, else wrk when installed, else python."""
    name = wanted or os.environ.get("BENCH_LOADGEN") or ("wrk" if shutil.which("wrk") else "python")
    if name not in {"wrk", "python"}:
        raise ValueError(f"unknown load generator {name!r}")
    return name


class LoadRunner:
    """Loads a server with a :class:`Load` by wrk (scripts kept in ``folder``) or Python."""

    def __init__(self, folder: Path, generator: str | None = None) -> None:
        self.folder = folder
        self.generator = generator_name(generator)
        self._scripts: dict[int, tuple[Load, Path]] = {}  # the load kept: ids stay unique

    def __call__(
        self, server: Server, load: Load, connections: int, seconds: float
    ) -> dict[str, Any]:
        if self.generator == "python":
            requests = load.raw(server.port)
            return python_load("127.0.0.1", server.port, requests, connections, seconds)
        if id(load) not in self._scripts:
            path = self.folder / f"load-{len(self._scripts)}.lua"
            path.write_text(load.lua(self.folder) + WRK_SCRIPT)
            self._scripts[id(load)] = (load, path)
        script = self._scripts[id(load)][1]
        url = f"http://127.0.0.1:{server.port}{load.paths[0]}"
        return wrk(url, connections, seconds, script)

    def settings(
        self, connections: int, rounds: int, seconds: float, runs: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """How a run was made, for its JSON result: load, server, rounds and each round."""
        return {
            "connections": connections,
            "rounds": rounds,
            "seconds": seconds,
            "generator": self.generator,
            "server": f"gunicorn, {WORKERS} sync workers, 127.0.0.1",
            "per_round": runs,
        }


# --- rounds -----------------------------------------------------------------------------------


def alternate(
    rounds: int, names: Sequence[str], measure: Callable[[str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """``measure`` each name once per round, in an order reversed every other round (a, b,
    b, a, ...), so that a drift of the machine's load hits every side alike."""
    runs = []
    for i in range(rounds):
        for name in names if i % 2 == 0 else list(reversed(names)):
            runs.append({"round": i + 1, "target": name, **measure(name)})
    return runs


def per_round_ratios(runs: Iterable[dict[str, Any]], ours: str, bare: str, key: str) -> list[float]:
    """``key`` of ``ours`` over ``key`` of ``bare``, round by round."""
    by = {(r["round"], r["target"]): r[key] for r in runs}
    count = max(r for r, _ in by)
    return [round(by[i, ours] / by[i, bare], 3) for i in range(1, count + 1)]


def summary(runs: Iterable[dict[str, Any]], name: str) -> dict[str, Any]:
    """Medians over the rounds of one target's figures, and its totals."""
    mine = [r for r in runs if r["target"] == name]
    statuses: dict[str, int] = {}
    for r in mine:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "rps": round(statistics.median(r["rps"] for r in mine), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in mine), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in mine), 2),
        "requests": sum(r["requests"] for r in mine),
        "errors": sum(r["non_200"] + r["socket_errors"] for r in mine),
        "statuses": dict(sorted(statuses.items())),
    }


def row(
    label: str,
    unit: str,
    ours: float,
    bare: float,
    ratio: float | None,
    better: str,
    target: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One row of the table (see bench/run.py)."""
    return {
        "benchmark": label,
        "unit": unit,
        "ours": ours,
        "bare": bare,
        "ratio": ratio,
        "target": target,
        "better": better,
        **extra,
    }


def errors_row(label: str, ours: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    """Failed requests (non-200 or socket errors): none allowed on our side."""
    return row(label, "", ours["errors"], bare["errors"], None, "lower", 0, target_on="ours")


# --- the bare render + seal ---------------------------------------------------------------------


def bare_render_seal(
    renderer: Any, sealer: Any, html: str, credential: bytes, crl: bytes | None = None
) -> bytes:
    """WeasyPrint rendering ``html`` (tagged PDF/A-3a as certificates are, ``credential``
    attached, the renderer's shared fonts and CSS) and pyHanko sealing it: the building blocks of
    one certificate. Attesta's own finishing of the tags (:func:`finish_accessible`) is ours.

    With a ``sealer`` that has a time-stamping authority (and the root's ``crl``, made once by
    the caller) the seal is PAdES B-LTA as Attesta's (signature time-stamp, DSS, document
    time-stamp from the same demo TSA), so the ratio to ours measures our overhead, not the
    signature level."""
    import datetime as dt

    pdf = bare_render(renderer, html, credential)
    now = dt.datetime.now(dt.UTC)
    return bytes(sealer.seal(pdf, reason="bench", location="Cremona", now=now, crl=crl))


def bare_render(renderer: Any, html: str, credential: bytes) -> bytes:
    """WeasyPrint rendering ``html`` as :func:`bare_render_seal` does, unsealed."""
    from weasyprint import HTML, Attachment

    from certification.certificates.production import PDF_VARIANT
    from certification.rendering import ASSET_SCHEME

    pdf = HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=renderer.fetcher).write_pdf(
        stylesheets=[renderer.stylesheet],
        font_config=renderer.font_config,
        pdf_variant=PDF_VARIANT,
        attachments=[
            Attachment(
                file_obj=io.BytesIO(credential), name="credential.json", relationship="Alternative"
            )
        ],
    )
    return bytes(pdf)


def elapsed(run: Callable[[], Any]) -> float:
    """Seconds ``run()`` took."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# --- the demo's issued certificate ----------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """The demo's valid certificate as the download and upload benchmarks need it."""

    certificate_id: str
    number: str
    holder_email: str
    pdf: bytes
    root_pem: str


def issued_certificate(demo: Demo) -> Issued:
    """Read the valid demo certificate, its holder's e-mail, stored PDF and our root CA."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app import create_app
    from app.db import database
    from certification.certificates.lifecycle import certificate_by_code
    from certification.models import UserAccount
    from certification.verification.checks import trusted_roots

    app = create_app({"ENV": "production", "INSTANCE_PATH": str(demo.path)})
    engine = database(app).engine
    try:
        with Session(engine) as db:
            certificate = certificate_by_code(db, demo.valid)
            if certificate is None or certificate.pdf_sha256 is None:
                raise RuntimeError(f"no issued demo certificate {demo.valid}")
            holder = db.scalar(
                select(UserAccount).where(UserAccount.person_id == certificate.holder_person_id)
            )
            if holder is None:
                raise RuntimeError("the demo certificate's holder has no account")
            return Issued(
                str(certificate.id),
                certificate.number,
                holder.email,
                app.extensions["attesta.storage"].get(certificate.pdf_sha256),
                trusted_roots(db)[0],
            )
    finally:
        engine.dispose()


def log_in(port: int, email: str, password: str) -> str:
    """Log in through Attesta's form (CSRF token and all); the session's Cookie header."""
    import re
    from urllib.parse import urlencode

    def cookie(headers: dict[str, str]) -> str:
        found = headers.get("Set-Cookie") or headers.get("set-cookie")
        if not found:
            raise RuntimeError("no session cookie")
        return found.split(";", 1)[0]

    status, headers, body = request(port, "/login")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
    if status != 200 or token is None:
        raise RuntimeError(f"GET /login answered {status} without a CSRF token")
    form = urlencode(
        {"csrf_token": token.group(1).decode(), "email": email, "password": password}
    ).encode()
    status, headers, body = request(
        port,
        "/login",
        method="POST",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie(headers),
        },
    )
    if status != 302:
        raise RuntimeError(f"POST /login answered {status}: {body[:200]!r}")
    return cookie(headers)


def multipart(field_name: str, filename: str, data: bytes, media_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body with one file; the body and its Content-Type."""
    boundary = "attesta-bench-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"

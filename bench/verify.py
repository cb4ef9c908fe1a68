"""Verify-by-code throughput against a bare endpoint, both under the same gunicorn, in one run.

bare  = bench/bare_verify_app.py: Flask + one SQLAlchemy ORM read by a unique code from SQLite +
        one Ed25519 verification (cryptography), answering a small JSON;
ours  = Attesta's ``GET /api/v1/verify/<code>`` on its demo data (a fresh instance folder).

Both are served by gunicorn with the same settings (2 sync workers, one per core, bound to
127.0.0.1) and loaded by the same generator with the same number of connections, in rounds that
alternate which goes first (bare, ours, ours, bare, ...) so that both see the same machine state.
Figures are the medians over the rounds of requests/s, p50 and p99; the ratio is the median of
the rounds' own ratios (ours / bare measured seconds apart), which drifts less than a ratio of
medians when something else runs on the machine (both are in the JSON).

Load generator: wrk (Debian's package, installed by ``make system-deps``) when on PATH, else a
Python one (asyncio, raw sockets, one process per core). Either way it runs on the same 2 cores as
the servers, so absolute figures are lower than on a separate load machine; the ratio, measured
under the same conditions for both, is what counts. gunicorn's sync workers close the connection
after each response, so every request is a new connection (as with wrk's reconnects).

Closed loop: each of the N connections sends its next request when the last one is answered, so
by Little's law the mean latency is about N / throughput (64 connections at 1,000 req/s: 64 ms),
whatever the endpoint does; ``littles_law_ms`` in the result gives that floor.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OURS_PATH = "/api/v1/verify/{code}"
BARE_PATH = "/v/{code}"
WORKERS = 2
READY_TIMEOUT = 60.0
REQUEST_TIMEOUT = 10.0

# wrk: per-thread count of non-200 answers, then one JSON line with the run's figures.
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")}
    env.update(extra)
    return env


def _gunicorn(app_spec: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """The same gunicorn settings for both servers."""
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


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_ready(process: subprocess.Popen, port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{_tail(log)}")
        try:
            _get(port, path)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn not answering {path} after {READY_TIMEOUT:.0f} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # the master stops its workers
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the master and its workers
        process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _demo(instance: Path) -> str:
    """A fresh Attesta instance with the demo data; the valid demo certificate's code."""
    env = _clean_env(ATTESTA_INSTANCE_PATH=str(instance))
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for args in (["db", "upgrade"], ["demo", "load", "--json"]):
        done = subprocess.run(
            flask + args, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return str(json.loads(done.stdout)["certificates"]["valid"])


# --- load generators --------------------------------------------------------------------------


def _wrk(url: str, connections: int, seconds: float, script: Path) -> dict[str, Any]:
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
    return _figures(
        raw["duration_us"] / 1e6,
        raw["requests"],
        raw["p50_us"] / 1000,
        raw["p99_us"] / 1000,
        raw["statuses"],
        raw["socket_errors"],
    )


def _figures(
    elapsed: float,
    requests: int,
    p50_ms: float,
    p99_ms: float,
    statuses: dict[str, int],
    socket_errors: int,
) -> dict[str, Any]:
    """One run's figures; throughput counts the 200 answers only (an error is no verification)."""
    ok = statuses.get("200", 0)
    return {
        "requests": requests,
        "rps": ok / elapsed,
        "p50_ms": p50_ms,
        "p99_ms": p99_ms,
        "non_200": requests - ok,
        "socket_errors": socket_errors,
        "statuses": dict(sorted(statuses.items())),
    }


async def _py_connections(
    host: str, port: int, request: bytes, connections: int, deadline: float
) -> tuple[list[float], dict[str, int], int, float]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    socket_errors = 0
    last = time.monotonic()

    async def one() -> None:
        with socket.socket() as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, (host, port))
            start = time.perf_counter()  # like wrk: from the request written to the answer read
            await loop.sock_sendall(sock, request)
            chunks = []
            while chunk := await loop.sock_recv(sock, 65536):  # Connection: close -> EOF
                chunks.append(chunk)
            latencies.append(time.perf_counter() - start)
        head = b"".join(chunks)[:12]
        status = head[9:12].decode("latin-1") if head.startswith(b"HTTP/1.") else "invalid"
        statuses[status] = statuses.get(status, 0) + 1

    async def connection() -> None:
        nonlocal last, socket_errors
        while time.monotonic() < deadline:  # bounded: no new request after the deadline
            try:
                await asyncio.wait_for(one(), REQUEST_TIMEOUT)
            except (OSError, TimeoutError):
                socket_errors += 1
            last = max(last, time.monotonic())

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, socket_errors, last


def _py_worker(
    host: str,
    port: int,
    path: str,
    connections: int,
    start: float,
    seconds: float,
    out: Any,
) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
    time.sleep(max(0.0, start - time.monotonic()))  # all processes start together
    result = asyncio.run(_py_connections(host, port, request, connections, start + seconds))
    out.put(result)


def _python_load(
    host: str, port: int, path: str, connections: int, seconds: float
) -> dict[str, Any]:
    """A bounded closed-loop generator: one process per core (the GIL would make one process
    the bottleneck), asyncio with raw non-blocking sockets in each, the connections split."""
    context = multiprocessing.get_context("fork")
    procs = max(1, min(os.cpu_count() or 1, connections))
    queue = context.Queue()
    start = time.monotonic() + 0.2
    shares = [connections // procs + (i < connections % procs) for i in range(procs)]
    workers = [
        context.Process(target=_py_worker, args=(host, port, path, n, start, seconds, queue))
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
    return _figures(
        max(r[3] for r in results) - start,
        len(latencies),
        _percentile(latencies, 50) * 1000,
        _percentile(latencies, 99) * 1000,
        statuses,
        sum(r[2] for r in results),
    )


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(1, round(p / 100 * len(ordered) + 0.5))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


def _children_cpu() -> float:
    """CPU seconds of the finished children: the load generator (the servers still run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu(groups: list[int]) -> tuple[float, float]:
    """(CPU seconds the whole machine has been busy, those of the servers' process groups)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:  # not Linux: no figure
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    busy = (user + nice + system + irq + softirq + steal) / tick
    servers = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after = stat.read_text().rsplit(")", 1)[1].split()  # from field 3 (state) on
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(after[2]) in groups:  # pgrp; utime and stime are fields 14 and 15
            servers += int(after[11]) + int(after[12])
    return busy, servers / tick


# --- the benchmark ----------------------------------------------------------------------------


class EndpointMissing(RuntimeError):
    """Attesta's verify URL does not answer 200: nothing to measure."""


def main(
    rounds: int = 6,
    seconds: float = 2.0,
    connections: int = 64,
    ours_path: str = OURS_PATH,
    generator: str | None = None,
) -> dict[str, Any]:
    """Measure; ``generator`` is "wrk" or "python" (default: wrk when on PATH)."""
    from bench import bare_verify_app
    from certification.clock import utcnow

    generator = generator or ("wrk" if shutil.which("wrk") else "python")
    if generator not in {"wrk", "python"}:
        raise ValueError(f"unknown load generator {generator!r}")
    tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-verify-"))
    servers: list[subprocess.Popen] = []
    try:
        bare_db = tmp / "bare.sqlite3"
        bare_code = bare_verify_app.setup(bare_db)[0]
        bare_port = ours_port = _free_port()
        while ours_port == bare_port:
            ours_port = _free_port()
        bare_log, ours_log = tmp / "bare.log", tmp / "ours.log"
        servers.append(
            _gunicorn(
                "bench.bare_verify_app:create_app()",
                bare_port,
                _clean_env(**{bare_verify_app.ENV_DB: str(bare_db)}),
                bare_log,
            )
        )
        instance = tmp / "instance"
        code = _demo(instance)
        ours_env = _clean_env(
            ATTESTA_INSTANCE_PATH=str(instance),
            ATTESTA_RATELIMIT_ENABLED="false",
            ATTESTA_ENV="production",
            ATTESTA_BASE_URL=f"http://127.0.0.1:{ours_port}",
        )
        servers.append(_gunicorn("wsgi:app", ours_port, ours_env, ours_log))

        targets = {
            "bare": (bare_port, BARE_PATH.format(code=bare_code), bare_log, servers[0]),
            "ours": (ours_port, ours_path.format(code=code), ours_log, servers[1]),
        }
        for name, (port, path, log, process) in targets.items():
            _wait_ready(process, port, path, log)
            status, body = _get(port, path)
            if status != 200:
                error = EndpointMissing if name == "ours" else RuntimeError
                raise error(f"GET {path} ({name}) answered {status}: {body[:200]!r}")

        script = tmp / "bench.lua"
        script.write_text(WRK_SCRIPT)

        def load(name: str, duration: float) -> dict[str, Any]:
            port, path, _, _ = targets[name]
            if generator == "wrk":
                return _wrk(f"http://127.0.0.1:{port}{path}", connections, duration, script)
            return _python_load("127.0.0.1", port, path, connections, duration)

        for name in targets:  # warm both: imports, caches, SQLite pages
            load(name, 1.0)
        per_round: list[dict[str, Any]] = []
        for i in range(rounds):
            order = ("bare", "ours") if i % 2 == 0 else ("ours", "bare")
            for name in order:
                groups = [process.pid for process in servers]  # each its own session
                generator_before, (busy_before, servers_before) = _children_cpu(), _cpu(groups)
                start = time.monotonic()
                figures = load(name, seconds)
                wall = time.monotonic() - start
                busy, served = _cpu(groups)
                generator_cpu = _children_cpu() - generator_before
                # What neither the servers nor the generator used: other work on the machine.
                foreign = (busy - busy_before) - (served - servers_before) - generator_cpu
                figures["generator_cpu_s"] = round(generator_cpu, 2)
                figures["foreign_cpu_pct"] = round(
                    max(0.0, foreign) / (wall * (os.cpu_count() or 1)) * 100, 1
                )
                per_round.append({"round": i + 1, "target": name, **figures})
    finally:
        for process in servers:
            _stop(process)
        shutil.rmtree(tmp, ignore_errors=True)

    cores = os.cpu_count() or 1

    def summary(name: str) -> dict[str, Any]:
        runs = [r for r in per_round if r["target"] == name]
        return {
            "rps": round(statistics.median(r["rps"] for r in runs), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
            "requests": sum(r["requests"] for r in runs),
            "non_200": sum(r["non_200"] for r in runs),
            "statuses": {
                status: sum(r["statuses"].get(status, 0) for r in runs)
                for status in sorted({x for r in runs for x in r["statuses"]})
            },
            "socket_errors": sum(r["socket_errors"] for r in runs),
            "generator_cpu_pct": round(
                statistics.median(r["generator_cpu_s"] for r in runs) / seconds / cores * 100, 1
            ),
            "foreign_cpu_pct": round(statistics.median(r["foreign_cpu_pct"] for r in runs), 1),
        }

    ours, bare = summary("ours"), summary("bare")
    by_round = {(r["round"], r["target"]): r["rps"] for r in per_round}
    littles = {
        k: round(connections / v["rps"] * 1000, 1) for k, v in (("ours", ours), ("bare", bare))
    }
    foreign = max(ours["foreign_cpu_pct"], bare["foreign_cpu_pct"])
    round_ratios = [
        round(by_round[i, "ours"] / by_round[i, "bare"], 3) for i in range(1, rounds + 1)
    ]
    return {
        "benchmark": "verify",
        "unit": "req/s",
        "ours": ours["rps"],
        "bare": bare["rps"],
        "ratio": round(statistics.median(round_ratios), 3),
        "target": 0.7,
        "better": "higher",
        "also": [
            _row("verify p50", ours["p50_ms"], bare["p50_ms"], None),
            _row("verify p99", ours["p99_ms"], bare["p99_ms"], 50.0),
            {
                "benchmark": "verify errors",
                "unit": "",
                "ours": ours["non_200"] + ours["socket_errors"],
                "bare": bare["non_200"] + bare["socket_errors"],
                "ratio": None,
                "target": 0,
                "target_on": "ours",
                "better": "lower",
            },
        ],
        "round_ratios": round_ratios,
        "ratio_of_medians": round(ours["rps"] / bare["rps"], 3),
        "note": (
            f"verify: {generator}, {connections} connections, {rounds} x {seconds:g} s per side, "
            f"ratio = median of the rounds' ratios {round_ratios}; closed loop, so latency "
            f"~ connections / throughput (Little's law: ours {littles['ours']:.0f} ms, "
            f"bare {littles['bare']:.0f} ms); of the {cores} cores the generator took "
            f"{ours['generator_cpu_pct']:g}%/{bare['generator_cpu_pct']:g}% (ours/bare)"
            + "".join(
                f"; {name} answered {s['statuses']} with {s['socket_errors']} socket errors"
                for name, s in (("ours", ours), ("bare", bare))
                if s["non_200"] or s["socket_errors"]
            )
            + (
                f"; WARNING: other processes took {foreign:g}% of the CPU meanwhile, "
                "so the absolute figures are low (the ratio suffers less)"
                if foreign > 10
                else ""
            )
        ),
        "ours_path": ours_path,
        "bare_path": BARE_PATH,
        "summary": {"ours": ours, "bare": bare},
        "littles_law_ms": littles,
        "connections": connections,
        "rounds": rounds,
        "seconds": seconds,
        "generator": generator,
        "server": f"gunicorn, {WORKERS} sync workers, 127.0.0.1",
        "per_round": per_round,
        "at": utcnow().isoformat(),
    }


def _row(label: str, ours: float, bare: float, limit: float | None) -> dict[str, Any]:
    return {
        "benchmark": label,
        "unit": "ms",
        "ours": ours,
        "bare": bare,
        "ratio": round(ours / bare, 3),
        "target": limit,
        "target_on": "ours",  # an absolute limit on our figure, not on the ratio
        "better": "lower",
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

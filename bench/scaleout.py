"""Scale out and memory, measured: bulk issuance through the Redis queue with 1 and 2 job workers,
and the resident memory of a job worker and of a web process over many issuances (issue 22).

Both run on one fresh instance (PostgreSQL when $BENCH_PG_URL answers, as production would
share it between machines; else SQLite) whose certified cases are made beforehand through the
real workflow (tests.support.instances.seed_certified).

scaleout: ``flask --app wsgi jobs worker`` processes (``ATTESTA_ISSUANCE_WORKERS=1``: each has
one rendering process), on a Redis database of their own (``BENCH_REDIS_URL``, default
redis://127.0.0.1:6379/11) and a queue named for this run, so nothing else on the server is
touched. Each worker first takes a one-item bulk request (its warm-up: app, imports, fonts).
Then N certified cases are split into bulk requests of ``chunk`` cases, enqueued at once, and
the wall time runs from the enqueueing until every case has its certificate (read from the
database). Rounds alternate 1 and 2 workers (1, 2, 2, 1, ...). "ours" is the throughput with
2 workers, "bare" with 1; the ratio (target ≥ 1.8 on 2 cores) the median of the rounds' ratios.
After the run every case is checked to have exactly one certificate (and every number to be
used once): a count, not a trust.

memory: the resident set (RSS, summed over the process and its children: the rendering
process, RQ's work horse) sampled every 0.2 s while a process issues N certificates, in bulk
requests of ``chunk``:
- a job worker (as above, alone);
- a web process: what a web process without ``ATTESTA_QUEUE_URL`` runs on its thread for a bulk
  request (``app.jobs._run`` on the app of a production configuration), N issuances in turn,
  without the HTTP around it.
Growth = the largest RSS in the last quarter of the run over the largest in the first quarter
after warm-up (the first request), minus 1; target ≤ 10 %.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import alternate, row  # noqa: E402

SCALE_TARGET = 1.8
MEMORY_TARGET = 0.10
REDIS_URL = "redis://127.0.0.1:6379/11"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DONE_TIMEOUT = 1800.0


# --- resident memory of a process tree ----------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mib(pid: int) -> float:
    """The RSS of ``pid`` and all its descendants, in MiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _rss_kib(current)
        todo.extend(_children(current))
    return total / 1024


class Sampler:
    """Samples a process tree's RSS every ``every`` seconds on a thread: (seconds, MiB)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.monotonic() - self._start, tree_rss_mib(self.pid)))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self) -> float:
        return time.monotonic() - self._start


def growth(samples: list[tuple[float, float]], warm: float, end: float) -> dict[str, Any]:
    """Largest RSS of the last quarter over the largest of the first quarter after ``warm``."""
    quarter = (end - warm) / 4
    first = [m for t, m in samples if warm <= t <= warm + quarter]
    last = [m for t, m in samples if end - quarter <= t <= end]
    if not first or not last:
        raise RuntimeError("too few memory samples: make N larger")
    return {
        "first_mib": round(max(first), 1),
        "last_mib": round(max(last), 1),
        "growth": round(max(last) / max(first) - 1, 4),
        "samples": len(samples),
    }


# --- where the CPU goes: a process tree's CPU time by role, and the machine's ------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of ``pid``, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _role(pid: int, parent: int, roots: set[int]) -> str:
    """A job worker (the root), RQ's work horse (forked per job: the same command line as its
    parent), a rendering process (spawned by the work horse), or another child."""
    if pid in roots:
        return "job worker (RQ main)"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "other child"
    if b"resource_tracker" in cmdline:
        return "multiprocessing resource tracker"
    if b"multiprocessing" in cmdline:
        return "rendering process (spawned)"
    if parent not in roots:
        grand = _stat(parent)
        if grand is not None and grand[0] in roots:
            return "rendering process (forked from the work horse)"
    if parent in roots:
        return "work horse (forked per job: reserve, complete, commit)"
    return "other child"


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK


def _postgres_cpu() -> float:
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if comm.startswith("postgres"):
                found = _stat(int(entry))
                total += found[1] if found else 0.0
    return total


class CpuAccount:
    """CPU seconds by role of the job workers' process trees while they work, sampled every
    ``every`` s (a process ending between samples loses at most that much), against the whole
    machine's busy time and PostgreSQL's (all its backends: other users' too) over the window:
    the profile of a scale-out run, to tell our own costs from a machine shared with others."""

    def __init__(self, roots: list[int], every: float = 0.1) -> None:
        self.roots, self.every = set(roots), every
        self.seen: dict[int, tuple[str, float, float]] = {}  # pid: role, first, last CPU s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        todo = list(self.roots)
        while todo:
            pid = todo.pop()
            found = _stat(pid)
            if found is None:
                continue
            parent, cpu = found
            role, first, _ = self.seen.get(pid, (_role(pid, parent, self.roots), cpu, cpu))
            # A process first seen after it started: its CPU before is counted too (a work
            # horse or rendering process is born inside the window, the roots before it).
            self.seen[pid] = (role, first if pid in self.roots else 0.0, cpu)
            todo.extend(_children(pid))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> CpuAccount:
        self._sample()
        self._wall, self._busy, self._pg = time.monotonic(), _machine_busy(), _postgres_cpu()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.monotonic() - self._wall
        self.busy = _machine_busy() - self._busy
        self.pg = _postgres_cpu() - self._pg

    def report(self) -> dict[str, Any]:
        by: dict[str, float] = {}
        counts: dict[str, int] = {}
        for role, first, last in self.seen.values():
            by[role] = by.get(role, 0.0) + last - first
            counts[role] = counts.get(role, 0) + 1
        ours = sum(by.values())
        return {
            "wall_s": round(self.wall, 2),
            "machine_busy_cpu_s": round(self.busy, 2),
            "machine_capacity_cpu_s": round(self.wall * (os.cpu_count() or 1), 2),
            "job_workers_cpu_s": {k: round(v, 2) for k, v in sorted(by.items())},
            "processes": counts,
            "postgres_cpu_s": round(self.pg, 2),
            "others_cpu_s": round(self.busy - ours - self.pg - 0.0, 2),
        }


# --- the instance and the queue --------------------------------------------------------------


@contextmanager
def _instance(cases: int) -> Iterator[tuple[Any, uuid.UUID, list[uuid.UUID], str]]:
    """A fresh instance with ``cases`` certified cases: (instance, signatory, cases, database)."""
    from sqlalchemy import create_engine, text

    from tests.support.instances import new_instance, seed_certified

    pg = os.environ.get("BENCH_PG_URL", PG_URL)
    try:
        engine = create_engine(pg, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        os.environ["ATTESTA_TEST_DATABASE_URL"] = pg
        kind = "PostgreSQL"
    except Exception:
        os.environ.pop("ATTESTA_TEST_DATABASE_URL", None)
        kind = "SQLite"
    tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-scaleout-"))
    try:
        with new_instance(tmp / "instance") as instance:
            signatory_id, case_ids = seed_certified(instance, cases)
            yield instance, signatory_id, case_ids, kind
    finally:
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


class Bench:
    """The instance's app (to record bulk requests and enqueue them) and its queue."""

    def __init__(self, instance: Any, signatory_id: uuid.UUID, redis_url: str) -> None:
        from app import create_app

        self.instance, self.signatory_id = instance, signatory_id
        self.queue_name = f"bench-scaleout-{uuid.uuid4().hex[:8]}"
        self.redis_url = redis_url
        self.app = create_app(
            {**instance.settings(), "QUEUE_URL": redis_url, "QUEUE_NAME": self.queue_name}
        )

    def bulk(self, cases: list[uuid.UUID]) -> uuid.UUID:
        """A bulk request of ``cases``, recorded and committed."""
        from sqlalchemy.orm import Session

        from app.db import database
        from certification.certificates.bulk import start_bulk
        from certification.clock import utcnow
        from certification.models import UserAccount

        with Session(database(self.app).engine) as db:
            actor = db.get_one(UserAccount, self.signatory_id)
            bulk, _ = start_bulk(db, actor, f"bench-{uuid.uuid4()}", cases, utcnow())
            db.commit()
            return bulk.id

    def enqueue(self, bulk_ids: list[uuid.UUID]) -> None:
        from rq import Retry

        from app.jobs import RETRIES, _queue, run_bulk_job

        queue = _queue(self.app)
        for bulk_id in bulk_ids:
            queue.enqueue(
                run_bulk_job, str(bulk_id), job_id=f"bulk-{bulk_id}", retry=Retry(max=RETRIES)
            )

    def issued(self, cases: list[uuid.UUID]) -> int:
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from app.db import database
        from certification.models import Certificate

        with Session(database(self.app).engine) as db:
            return (
                db.scalar(
                    select(func.count())
                    .select_from(Certificate)
                    .where(Certificate.case_id.in_(cases), Certificate.pdf_sha256.is_not(None))
                )
                or 0
            )

    def wait(self, cases: list[uuid.UUID], workers: list[subprocess.Popen]) -> None:
        deadline = time.monotonic() + DONE_TIMEOUT
        while self.issued(cases) < len(cases):
            if any(w.poll() is not None for w in workers):
                raise RuntimeError("a job worker stopped")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.issued(cases)} of {len(cases)} issued in time")
            time.sleep(0.1)

    def duplicates(self, cases: list[uuid.UUID]) -> dict[str, int]:
        """Certificates per case and per number: every case once, every number once."""
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from app.db import database
        from certification.models import Certificate

        with Session(database(self.app).engine) as db:
            rows = db.execute(
                select(Certificate.case_id, func.count())
                .where(Certificate.case_id.in_(cases))
                .group_by(Certificate.case_id)
            ).all()
            numbers = db.scalar(
                select(func.count(func.distinct(Certificate.number))).where(
                    Certificate.case_id.in_(cases)
                )
            )
        return {
            "cases": len(cases),
            "certificates": sum(n for _, n in rows),
            "cases_issued_twice": sum(1 for _, n in rows if n > 1),
            "distinct_numbers": int(numbers or 0),
        }

    @contextmanager
    def workers(self, count: int, logs: Path) -> Iterator[list[subprocess.Popen]]:
        env = self.instance.env(
            ATTESTA_QUEUE_URL=self.redis_url,
            ATTESTA_QUEUE_NAME=self.queue_name,
            ATTESTA_ISSUANCE_WORKERS="1",
        )
        started = []
        try:
            for i in range(count):
                log = (logs / f"worker-{uuid.uuid4().hex[:6]}-{i}.log").open("w")
                # Each worker in a session of its own, as each is a service of its own in
                # production: Linux (sched_autogroup) shares the CPU between sessions first,
                # so on a machine busy with others, workers started in one session share one
                # session's part, and a second worker adds nothing whatever the code does.
                started.append(
                    subprocess.Popen(
                        self.instance.command("jobs", "worker"),
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            yield started
        finally:
            for worker in started:
                worker.terminate()
            for worker in started:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()

    def jobs_by_worker(self) -> dict[str, int]:
        """How many of the queue's finished jobs each worker ran (RQ records its name)."""
        from redis import Redis
        from rq.job import Job
        from rq.registry import FinishedJobRegistry

        connection = Redis.from_url(self.redis_url)
        registry = FinishedJobRegistry(self.queue_name, connection=connection)
        counted: dict[str, int] = {}
        for job in Job.fetch_many(registry.get_job_ids(), connection=connection):
            if job is not None:
                name = str(job.worker_name)
                counted[name] = counted.get(name, 0) + 1
        return counted

    def clear(self) -> None:
        from redis import Redis

        connection = Redis.from_url(self.redis_url)
        for key in connection.scan_iter(f"rq:*{self.queue_name}*"):
            connection.delete(key)


def _chunks(cases: list[uuid.UUID], size: int) -> list[list[uuid.UUID]]:
    return [cases[i : i + size] for i in range(0, len(cases), size)]


# --- scale out -------------------------------------------------------------------------------


def scaleout(n: int = 48, rounds: int = 2, chunk: int = 6) -> dict[str, Any]:
    """Throughput of N issuances through the queue with 2 job workers against 1."""
    per_run = {1: [], 2: []}  # type: dict[int, list[float]]
    warm = 2  # one-item warm-up request per worker and run, at most
    total = rounds * 2 * (n + warm)
    with _instance(total) as (instance, signatory_id, case_ids, kind):
        bench = Bench(instance, signatory_id, os.environ.get("BENCH_REDIS_URL", REDIS_URL))
        logs = Path(tempfile.mkdtemp(prefix="attesta-bench-scaleout-logs-"))
        todo = iter(case_ids)
        measured: list[uuid.UUID] = []

        def run(count: int) -> dict[str, Any]:
            with bench.workers(count, logs) as started:
                warm_cases = [next(todo) for _ in range(count)]
                bench.enqueue([bench.bulk([c]) for c in warm_cases])
                bench.wait(warm_cases, started)
                cases = [next(todo) for _ in range(n)]
                bulks = [bench.bulk(part) for part in _chunks(cases, chunk)]
                with CpuAccount([w.pid for w in started]) as cpu:
                    begun = time.perf_counter()
                    bench.enqueue(bulks)
                    bench.wait(cases, started)
                    took = time.perf_counter() - begun
                jobs = bench.jobs_by_worker()
            measured.extend(warm_cases + cases)
            per_run[count].append(took)
            return {
                "s": round(took, 2),
                "per_s": round(n / took, 3),
                "cpu": cpu.report(),
                "jobs_by_worker": jobs,
            }

        try:
            runs = alternate(rounds, ["1", "2"], lambda name: run(int(name)))
            counted = bench.duplicates(measured)
        finally:
            bench.clear()
            subprocess.run(["rm", "-rf", str(logs)], check=False)
    by = {(r["round"], r["target"]): r["per_s"] for r in runs}
    ratios = [round(by[i, "2"] / by[i, "1"], 3) for i in range(1, rounds + 1)]
    one, two = n / statistics.median(per_run[1]), n / statistics.median(per_run[2])
    once = (
        counted["certificates"] == counted["cases"] == counted["distinct_numbers"]
        and counted["cases_issued_twice"] == 0
    )
    if not once:
        raise RuntimeError(f"a certificate issued twice, or one missing: {counted}")
    # What the machine allows: with one worker it keeps `busy` cores of `cores` busy; more
    # workers cannot make it more than cores / busy times faster on this machine.
    singles = [r["cpu"] for r in runs if r["target"] == "1" and "cpu" in r]
    busy = (
        statistics.median(c["machine_busy_cpu_s"] / c["wall_s"] for c in singles) if singles else 0
    )
    cores = os.cpu_count() or 1
    ceiling = (
        f"; one worker kept {busy:.2f} of {cores} cores busy, so this machine's ceiling is "
        f"{cores / busy:.2f}"
        if busy
        else ""
    )
    return {
        **row(
            "scaleout",
            "cert/s",
            round(two, 2),
            round(one, 2),
            round(statistics.median(ratios), 3),
            "higher",
            SCALE_TARGET,
        ),
        "also": [
            row(
                "scale-out issued twice",
                "cases",
                counted["cases_issued_twice"],
                0,
                None,
                "lower",
                0,
                target_on="ours",
            )
        ],
        "note": (
            f"scaleout: {n} certificates per run through the Redis queue ({kind}), bulk requests "
            f"of {chunk}, job workers with one rendering process each, {rounds} runs per side; "
            f"ratio = median of the runs' throughput ratios {ratios}; after the run "
            f"{counted['certificates']} certificates for {counted['cases']} cases, "
            f"{counted['distinct_numbers']} distinct numbers, {counted['cases_issued_twice']} "
            f"case(s) issued twice{ceiling}"
        ),
        "n": n,
        "chunk": chunk,
        "rounds": rounds,
        "database": kind,
        "round_ratios": ratios,
        "seconds": per_run,
        "counted": counted,
        "per_round": runs,
    }


# --- memory ------------------------------------------------------------------------------------


def _web_process(settings: dict[str, Any], bulk_ids: list[str], marks: str) -> None:
    """Run in a process of its own: the bulk requests in turn, as a web process's thread does
    (``app.jobs._run``), the time each one ended written to ``marks``."""
    from app import create_app
    from app.jobs import _run

    app = create_app({**settings, "ENV": "production", "QUEUE_URL": None})
    with open(marks, "w") as out:
        for bulk_id in bulk_ids:
            _run(app, uuid.UUID(bulk_id), workers=1)
            out.write(f"{time.time()}\n")
            out.flush()


def memory(n: int = 200, chunk: int = 20) -> dict[str, Any]:
    """RSS growth of a job worker and of a web process over ``n`` issuances each."""
    with _instance(2 * n) as (instance, signatory_id, case_ids, kind):
        bench = Bench(instance, signatory_id, os.environ.get("BENCH_REDIS_URL", REDIS_URL))
        logs = Path(tempfile.mkdtemp(prefix="attesta-bench-memory-logs-"))
        try:
            worker_cases, web_cases = case_ids[:n], case_ids[n:]
            with bench.workers(1, logs) as started, Sampler(started[0].pid) as sampler:
                parts = _chunks(worker_cases, chunk)
                first = parts[0]
                bench.enqueue([bench.bulk(first)])
                bench.wait(first, started)
                warm = sampler.mark()
                bench.enqueue([bench.bulk(part) for part in parts[1:]])
                bench.wait(worker_cases, started)
                worker = growth(sampler.samples, warm, sampler.mark())
            bulk_ids = [str(bench.bulk(part)) for part in _chunks(web_cases, chunk)]
            marks = logs / "marks"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import json, sys; from bench.scaleout import _web_process; "
                    "_web_process(json.loads(sys.argv[1]), sys.argv[2].split(','), sys.argv[3])",
                    json.dumps(instance.settings()),
                    ",".join(bulk_ids),
                    str(marks),
                ],
                cwd=ROOT,
                env=instance.env(),
            )
            with Sampler(process.pid) as sampler:
                started_at = time.time()
                if process.wait(DONE_TIMEOUT) != 0:
                    raise RuntimeError("the web process's issuance failed")
                end = sampler.mark()
            ended = [float(t) for t in marks.read_text().split()]
            web = growth(sampler.samples, ended[0] - started_at, end)
            issued_web = bench.issued(web_cases)
            if issued_web != len(web_cases):
                raise RuntimeError(f"the web process issued {issued_web} of {len(web_cases)}")
        finally:
            bench.clear()
            subprocess.run(["rm", "-rf", str(logs)], check=False)
    return {
        **row(
            "memory",
            "%",
            round(worker["growth"] * 100, 1),
            MEMORY_TARGET * 100,
            None,
            "lower",
            MEMORY_TARGET * 100,
            target_on="ours",
        ),
        "also": [
            row(
                "memory web",
                "%",
                round(web["growth"] * 100, 1),
                MEMORY_TARGET * 100,
                None,
                "lower",
                MEMORY_TARGET * 100,
                target_on="ours",
            )
        ],
        "note": (
            f"memory: RSS (process and children) over {n} issuances each, bulk requests of "
            f"{chunk} ({kind}); growth = peak of the last quarter / peak of the first quarter "
            f"after the first request: job worker {worker['first_mib']} → "
            f"{worker['last_mib']} MiB, web process {web['first_mib']} → {web['last_mib']} MiB; "
            "'bare' is the 10 % allowed"
        ),
        "n": n,
        "chunk": chunk,
        "database": kind,
        "worker": worker,
        "web": web,
    }


BENCHMARKS: dict[str, Callable[..., dict[str, Any]]] = {"scaleout": scaleout, "memory": memory}

if __name__ == "__main__":
    print(json.dumps(BENCHMARKS[sys.argv[1] if len(sys.argv) > 1 else "scaleout"](), indent=2))

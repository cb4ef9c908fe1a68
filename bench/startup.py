"""How fast the command line starts: ``flask --app wsgi --help`` against a bare Flask app's.

ours = ``flask --app wsgi --help``: Python, Flask, the app built by ``create_app`` with its
       blueprints and command groups, and whatever they import at start;
bare = ``flask --app bench.bare_cli_app --help``: one ``Flask(__name__)`` in the same virtualenv
       (the commands installed extensions add are loaded by both).

Each run is a process of its own; its CPU time (user + system, from the kernel's accounting of
the finished child) is the figure, so a busy machine counts less than in wall-clock time. The
sides alternate (a, b, b, a, ...); the ratio is the median of the rounds' ratios. Every ``flask``
command (``make run``'s setup, ``keys init``, the cron jobs) pays this start.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import alternate, clean_env, per_round_ratios  # noqa: E402 - after the path

APPS = {"ours": "wsgi", "bare": "bench.bare_cli_app"}
TARGET = 4.0


def cpu_ms(app: str, env: dict[str, str]) -> float:
    """The CPU time (user + system, ms) of one ``flask --app APP --help`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", app, "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child is reaped: counted
    if done.returncode != 0 or b"Usage:" not in done.stdout:
        raise RuntimeError(
            f"flask --app {app} --help failed:\n{done.stdout.decode()}\n{done.stderr.decode()}"
        )
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return round(used * 1000, 1)


def main(rounds: int) -> dict[str, Any]:
    from certification.clock import utcnow

    # A development app, as `make run` and a developer's commands: no ATTESTA_* settings of the
    # caller's, an instance folder of its own (the app writes its generated secrets there). Byte
    # code cached as in any installation, in a folder of its own even where the environment says
    # PYTHONDONTWRITEBYTECODE (else our side would compile its own modules on every run).
    tmp = Path(tempfile.mkdtemp(prefix="attesta-bench-startup-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    env = clean_env(
        ATTESTA_ENV="development",
        ATTESTA_INSTANCE_PATH=str(tmp / "instance"),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for app in APPS.values():
        cpu_ms(app, env)  # warm: the byte-code caches are written by the first run
    runs = alternate(rounds, list(APPS), lambda name: {"cpu_ms": cpu_ms(APPS[name], env)})
    ours = statistics.median(r["cpu_ms"] for r in runs if r["target"] == "ours")
    bare = statistics.median(r["cpu_ms"] for r in runs if r["target"] == "bare")
    round_ratios = per_round_ratios(runs, "ours", "bare", "cpu_ms")
    return {
        "benchmark": "startup",
        "unit": "ms",
        "ours": round(ours, 1),
        "bare": round(bare, 1),
        "ratio": round(statistics.median(round_ratios), 3),
        "target": TARGET,
        "better": "lower",
        "round_ratios": round_ratios,
        "note": (
            f"startup: CPU time (user + system) of `flask --app wsgi --help` against a bare "
            f"Flask app's, {rounds} processes per side, ratio = median of the rounds' ratios "
            f"{round_ratios}"
        ),
        "per_round": runs,
        "rounds": rounds,
        "at": utcnow().isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(os.environ.get("STARTUP_ROUNDS") or 7)), indent=2))

"""Where rate limits count (issue 17: with two gunicorn workers counting in memory every budget
was doubled): Redis when it answers, per process otherwise with a message, and never silently
per process in production with several workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.config import ConfigError, load_config
from app.ratelimits import MEMORY, choose_storage, redacted, redis_answers, web_workers
from tests.support.services import redis_url

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS = "redis://127.0.0.1:6379/4"
SILENT = "redis://127.0.0.1:1/0"  # nothing listens on port 1 of the loopback


def _settings(env: str, uri: str, per_process: bool = False, enabled: bool = True) -> Any:
    return {
        "ENV": env,
        "RATELIMIT_STORAGE_URI": uri,
        "RATELIMIT_PER_PROCESS": per_process,
        "RATELIMIT_ENABLED": enabled,
    }


# (ENV, storage, Redis answers, workers, per-process allowed) -> store used (None: refused)
CHOICES = [
    ("production", REDIS, True, 4, False, REDIS),
    ("production", REDIS, False, 1, False, MEMORY),  # one process: its budget is the budget
    ("production", REDIS, False, 2, False, None),  # refused: the limits would double
    ("production", REDIS, False, 2, True, MEMORY),  # ... unless it is meant
    ("production", MEMORY, None, 2, False, None),
    ("production", MEMORY, None, 2, True, MEMORY),
    ("production", MEMORY, None, 1, False, MEMORY),
    ("development", REDIS, True, 2, False, REDIS),  # make run with Redis
    ("development", REDIS, False, 2, False, MEMORY),  # make run on a fresh machine
    ("development", MEMORY, None, 2, False, MEMORY),
    ("testing", MEMORY, None, 2, False, MEMORY),
    ("production", "memcached://127.0.0.1:11211", None, 2, False, "memcached://127.0.0.1:11211"),
]


@pytest.mark.parametrize(("env", "uri", "answers", "workers", "per_process", "used"), CHOICES)
def test_the_store_rate_limits_use(
    env: str, uri: str, answers: bool | None, workers: int, per_process: bool, used: str | None
) -> None:
    asked: list[str] = []

    def probe(address: str) -> bool:
        asked.append(address)
        assert answers is not None, "only a Redis address is probed"
        return answers

    settings = _settings(env, uri, per_process)
    if used is None:
        with pytest.raises(ConfigError, match="ATTESTA_RATELIMIT_PER_PROCESS=1") as refused:
            choose_storage(settings, workers, probe)
        assert f"{workers} times" in str(refused.value)
        return
    storage = choose_storage(settings, workers, probe)
    assert storage.uri == used
    assert storage.shared == (used != MEMORY)
    assert asked == ([uri] if answers is not None else [])
    if used == MEMORY:
        assert "counted per process" in storage.message
        if uri != MEMORY:
            assert "does not answer" in storage.message
    else:
        assert "shared" in storage.message


def test_limits_off_need_no_store() -> None:
    storage = choose_storage(_settings("production", MEMORY, enabled=False), 8, None)
    assert storage.message == "rate limits: off (ATTESTA_RATELIMIT_ENABLED=0)"


def test_the_default_store_is_the_local_redis_except_in_tests(tmp_path: Path) -> None:
    for env, expected in [
        ("production", "redis://127.0.0.1:6379/0"),
        ("development", "redis://127.0.0.1:6379/0"),
        ("testing", MEMORY),
    ]:
        settings = load_config({"INSTANCE_PATH": str(tmp_path)}, environ={"ATTESTA_ENV": env})
        assert settings["RATELIMIT_STORAGE_URI"] == expected
        assert settings["RATELIMIT_PER_PROCESS"] is False


@pytest.mark.parametrize(
    ("environ", "workers"),
    [
        ({}, 1),
        ({"WEB_CONCURRENCY": "3"}, 3),
        ({"ATTESTA_WEB_WORKERS": "2", "WEB_CONCURRENCY": "5"}, 2),  # gunicorn's own count wins
        ({"ATTESTA_WEB_WORKERS": "0"}, 1),
        ({"WEB_CONCURRENCY": " "}, 1),
    ],
)
def test_web_workers(environ: dict[str, str], workers: int) -> None:
    assert web_workers(environ) == workers


def test_a_bad_worker_count_is_named() -> None:
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY must be a whole number"):
        web_workers({"WEB_CONCURRENCY": "two"})


def test_redis_probe() -> None:
    assert redis_answers(SILENT) is False
    assert redis_answers("redis://127.0.0.1:port/0") is False
    assert redis_answers(redis_url()) is True


def test_passwords_stay_out_of_messages() -> None:
    assert redacted("redis://:s3cret@cache.internal:6380/2") == "redis://:***@cache.internal:6380/2"
    assert redacted(REDIS) == REDIS
    storage = choose_storage(
        _settings("development", "redis://user:s3cret@127.0.0.1:1/0"), 2, lambda _: False
    )
    assert "s3cret" not in storage.message


# --- gunicorn: the master refuses before any worker starts -------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn(
    tmp_path: Path, workers: int, spec: str = "wsgi:app", **env: str
) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")}
    environ.update(
        ATTESTA_ENV="production",
        ATTESTA_SECURE_COOKIES="0",
        ATTESTA_INSTANCE_PATH=str(tmp_path / "instance"),
        ATTESTA_RATELIMIT_STORAGE_URI=SILENT,
        **env,
    )
    environ.pop("WEB_CONCURRENCY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), spec],
        cwd=ROOT,  # gunicorn reads gunicorn.conf.py from here, as make run and the README do
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    return process, port


def _serves(process: subprocess.Popen[str], port: int) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # an answer (503 without a database is still the app answering)
        except OSError:
            time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
    output, _ = process.communicate(timeout=30)
    return output


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["wsgi:app", "app:create_app()"])
def test_gunicorn_refuses_several_workers_counting_per_process(tmp_path: Path, spec: str) -> None:
    process, _ = _gunicorn(tmp_path, 2, spec)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "Attesta does not start" in output
    assert f"Redis at {SILENT} does not answer" in output
    assert "ATTESTA_RATELIMIT_PER_PROCESS=1" in output
    assert "Booting worker" not in output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "env", "said"),
    [
        (2, {"ATTESTA_RATELIMIT_PER_PROCESS": "1"}, "every limit is 2 times what it says"),
        (1, {}, "one process has its own budget"),
    ],
    ids=["per-process-meant", "one-worker"],
)
def test_gunicorn_starts_and_says_where_limits_count(
    tmp_path: Path, workers: int, env: dict[str, str], said: str
) -> None:
    process, port = _gunicorn(tmp_path, workers, **env)
    try:
        assert _serves(process, port)
    finally:
        output = _stop(process)
    assert "Attesta rate limits:" in output and said in output, output

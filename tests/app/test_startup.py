"""A quick start (issue 20): building the app loads no heavy library and configures no mapper;
what the upload and seal checks load when first used is loaded when their warm child starts; the
Redis client is loaded when a limit is first counted, and the URL builders are compiled when a
URL is first built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask, url_for
from werkzeug.routing import Map

from app.ratelimits import RedisOnFirstUse, limiter_uri, redis_answers
from tests.support.services import redis_url

ROOT = Path(__file__).resolve().parents[2]

#: Libraries imported only where they are used: a command, a page that renders nothing, a test
#: that issues nothing does not pay for them.
HEAVY = frozenset(
    {
        "weasyprint",
        "pyhanko",
        "pyhanko_certvalidator",
        "pikepdf",
        "pypdfium2",
        "PIL",
        "pyld",
        "webauthn",
        "icalendar",
        "alembic",
        "boto3",
        "fontTools",
        "segno",
        "asn1crypto",
        "redis",
        "yaml",
        "marshmallow",
        "apispec",
        "rubrics",
    }
)

#: Standard-library modules only some commands need (``flask backup``): not loaded by a start.
NOT_AT_START = HEAVY | {"tarfile"}


def _python(code: str) -> object:
    """Run ``code`` in a fresh interpreter (nothing imported yet); what it prints, as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_app_loads_no_heavy_library_and_configures_no_mapper(
    tmp_path: Path,
) -> None:
    loaded = _python(
        "import json, sys\n"
        "from app import create_app\n"
        "from certification.db import ModelBase\n"
        f"app = create_app({{'ENV': 'testing', 'INSTANCE_PATH': {str(tmp_path)!r}}})\n"
        "assert 'db' in app.cli.list_commands(None)\n"
        f"heavy = {sorted(NOT_AT_START)!r}\n"
        "print(json.dumps({\n"
        "    'heavy': sorted(m for m in sys.modules if m.split('.')[0] in heavy),\n"
        "    'configured': sum(m.configured for m in ModelBase.registry.mappers),\n"
        "    'mappers': len(ModelBase.registry.mappers),\n"
        "}))\n"
    )
    assert isinstance(loaded, dict)
    assert loaded["heavy"] == []
    # Configuring every mapper takes tenths of a second: done by the first query, not at import.
    assert loaded["mappers"] > 20
    assert loaded["configured"] == 0


def test_a_warm_checking_child_has_loaded_what_the_checks_import() -> None:
    # The child imports the parsers when it starts (certification.portfolio.sandbox.PARSERS),
    # before a check's CPU and time limits run: a check must then import none of the heavy
    # libraries.
    loaded = _python(
        "import io, json, sys\n"
        "from certification.portfolio.sandbox import PARSERS, _start_child\n"
        "_start_child(2**40, PARSERS)\n"
        "before = set(sys.modules)\n"
        "from PIL import Image\n"
        "from certification.portfolio.uploads import UploadRejected, check_upload\n"
        "from certification.certificates.sealing import check_seal\n"
        "from certification.certificates.credentials import canonicalize\n"
        "from tests.support.pdfs import one_page\n"
        "out = io.BytesIO()\n"
        "Image.new('RGB', (4, 4)).save(out, format='PNG')\n"
        "check_upload(out.getvalue(), 'a.png', max_bytes=10**6)\n"
        "check_upload(one_page(), 'a.pdf', max_bytes=10**6)\n"
        "check_seal(one_page(), [])\n"
        "canonicalize({'@context': ['https://www.w3.org/ns/credentials/v2'],\n"
        "              'type': ['VerifiableCredential']})\n"
        f"heavy = {sorted(HEAVY)!r}\n"
        "new = sorted(m for m in set(sys.modules) - before if m.split('.')[0] in heavy)\n"
        "pil = {'PIL.Image', 'PIL.ImageOps'} <= before\n"
        "print(json.dumps({'new': [m for m in new if not m.startswith('PIL.')], 'pil': pil}))\n"
    )
    # PIL itself loads the plugin of each image format (and what the plugins use) when it first
    # opens one, as it always has; the modules Attesta imports are loaded before.
    assert loaded == {"new": [], "pil": True}


def test_a_development_app_loads_the_redis_client_when_it_first_counts_a_limit(
    tmp_path: Path,
) -> None:
    # A development app whose Redis answers (the default address): built, it has chosen Redis
    # without loading the client; its first request counts there.
    url = redis_url()
    loaded = _python(
        "import json, sys\n"
        "from app import create_app\n"
        "from app.extensions import limiter\n"
        f"app = create_app({{'ENV': 'development', 'INSTANCE_PATH': {str(tmp_path)!r},\n"
        f"                  'RATELIMIT_STORAGE_URI': {url!r}}})\n"
        "built = 'redis' in sys.modules\n"
        "store = type(limiter.storage).__name__\n"
        "answer = app.test_client().get('/api/v1/verify/ABCD-EFGH-JKLM')\n"
        "print(json.dumps({'built': built, 'store': store,\n"
        "                  'counted': 'X-RateLimit-Remaining' in answer.headers,\n"
        "                  'redis': 'redis' in sys.modules and limiter.storage.check(),\n"
        "                  'shared': app.extensions['attesta.rate_limits'].shared}))\n"
    )
    assert loaded == {
        "built": False,
        "store": "RedisOnFirstUse",
        "counted": True,
        "redis": True,
        "shared": True,
    }


def test_redis_is_asked_without_its_client_at_a_plain_address_only() -> None:
    url = redis_url()
    assert redis_answers(url) is True
    assert redis_answers("redis://127.0.0.1:1/0") is False  # nothing listens on port 1
    loaded = _python(
        "import json, sys\n"
        "from app.ratelimits import redis_answers\n"
        f"plain = redis_answers({url!r}), 'redis' in sys.modules\n"
        "silent = redis_answers('redis://127.0.0.1:1/0'), 'redis' in sys.modules\n"
        "other = redis_answers('redis://127.0.0.1:1/3'), 'redis' in sys.modules\n"
        "print(json.dumps([plain, silent, other]))\n"
    )
    # A password, TLS, another database or options: the Redis client asks, as before.
    assert loaded == [[True, False], [False, False], [False, True]]


@pytest.mark.parametrize(
    ("uri", "given"),
    [
        ("redis://127.0.0.1:6379/0", "attesta-first-use+redis://127.0.0.1:6379/0"),
        ("rediss://:pw@cache:6380/1", "attesta-first-use+rediss://:pw@cache:6380/1"),
        ("memory://", "memory://"),
        ("memcached://cache:11211", "memcached://cache:11211"),
    ],
)
def test_only_redis_stores_are_opened_on_first_use(uri: str, given: str) -> None:
    assert limiter_uri(uri) == given
    if given != uri:
        store = RedisOnFirstUse(given)
        assert "storage" not in vars(store)  # nothing made yet
        assert store.key_prefix == "LIMITS"  # the first look-up makes the client
        assert store.storage.connection_pool.connection_kwargs["host"] in {"127.0.0.1", "cache"}


def test_url_builders_are_compiled_when_first_used(app: Flask) -> None:
    rule = next(iter(app.url_map.iter_rules("verify.index")))
    assert rule._build.__name__ == "build_first"  # not compiled by building the app
    plain = Map([type(rule).__mro__[1](rule.rule, endpoint="verify.index")])
    with app.test_request_context():
        assert url_for("verify.index") == "/verify"
        assert url_for("verify.index", extra="1") == "/verify?extra=1"
    assert rule._build_unknown.__name__ != "build_first"  # compiled once, and kept
    assert plain.bind("x").build("verify.index", {"extra": "1"}) == "/verify?extra=1"


def test_the_garbage_collector_runs_again_once_the_app_is_built(tmp_path: Path) -> None:
    state = _python(
        "import gc, json\n"
        "from app import create_app\n"
        f"create_app({{'ENV': 'testing', 'INSTANCE_PATH': {str(tmp_path)!r}}})\n"
        "print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))\n"
    )
    assert state == [True, 0]  # paused while building, nothing left frozen

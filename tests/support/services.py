"""What tests need from outside their process: external checkers, the local Redis, the
in-process S3's bucket."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlsplit

import pytest

#: The bucket of the in-process S3 (the ``s3`` fixture creates it empty).
BUCKET = "attesta-files"


def _required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("ATTESTA_REQUIRE_TOOLS") == "1"


def require_tool(name: str) -> str:
    """The path of an external checker (pdftotext, pdfsig); skip without it, except in CI."""
    path = shutil.which(name)
    if path is None:
        if _required():
            pytest.fail(f"{name} is missing in CI (scripts/system-deps.sh installs it)")
        pytest.skip(f"{name} not installed (scripts/system-deps.sh installs it)")
    return path


def redis_url() -> str:
    """The local Redis for queue tests (ATTESTA_TEST_REDIS_URL); skip without one, except in
    CI, whose machines have one on 127.0.0.1:6379.

    Tests running in parallel share it: each keeps to keys of its own (a queue named for the
    test), so the database number needs no splitting among workers."""

    url = os.environ.get("ATTESTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2).close()
    except OSError:
        if _required():
            pytest.fail(f"no Redis answers at {url} in CI")
        pytest.skip(f"no Redis at {url}")
    return url

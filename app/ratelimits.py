"""Where the rate limits count: shared in Redis, or per process.

A per-process store (``memory://``) gives every web process its own budget: with two gunicorn
workers each limit is doubled (issue 17 measured 57 code look-ups a minute for a limit of 30).
So at start:

- a Redis address (``ATTESTA_RATELIMIT_STORAGE_URI=redis://...``) that answers is used, shared
  by every process;
- one that does not answer falls back to counting per process, with a message;
- counting per process is refused in production with several web processes, unless
  ``ATTESTA_RATELIMIT_PER_PROCESS=1`` says it is meant (the budgets then multiply by the number of
  processes); in development (``make run``) it is allowed, with the message.

The number of web processes comes from gunicorn: ``gunicorn.conf.py`` (read by gunicorn from the
working directory, and named by ``make run`` and the README) states it in
``ATTESTA_WEB_WORKERS`` before the workers start; without it, gunicorn's own default,
``WEB_CONCURRENCY``; otherwise one process (``flask`` commands, tests).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from limits.storage import RedisStorage, Storage

from app.config import ConfigError

MEMORY = "memory://"
#: Set by gunicorn.conf.py in the master before it forks: how many web processes serve the app.
WORKERS_VARIABLE = "ATTESTA_WEB_WORKERS"


@dataclass(frozen=True)
class RateLimitStorage:
    """The store the limits use, and the sentence that says so at start."""

    uri: str
    shared: bool
    message: str


def web_workers(environ: Mapping[str, str] | None = None) -> int:
    """How many web processes serve this app (1 when nothing says)."""
    environ = os.environ if environ is None else environ
    for name in (WORKERS_VARIABLE, "WEB_CONCURRENCY"):
        raw = environ.get(name, "").strip()
        if raw:
            try:
                return max(1, int(raw))
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    return 1


def redacted(uri: str) -> str:
    """The address without its password, for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _plain_ping(uri: str, timeout: float) -> bool | None:
    """PING a Redis at a plain ``redis://host:port[/0]`` address over a socket, without loading
    the Redis client (which costs a sixth of a second of every start of every ``flask`` command):
    whether it answered PONG. None for any other address (a password, TLS, a Unix socket, another
    database, options): the Redis client then asks, as it always did."""
    parts = urlsplit(uri)
    if (
        parts.scheme.lower() != "redis"
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.path not in ("", "/", "/0")
    ):
        return None
    try:
        port = parts.port or 6379
    except ValueError:
        return None  # the client says what is wrong with the address
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout) as conn:
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n") and len(reply) < 512:
                chunk = conn.recv(512)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return reply == b"+PONG\r\n"


def redis_answers(uri: str, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers PING at ``uri`` within ``timeout`` seconds."""
    answered = _plain_ping(uri, timeout)
    if answered is not None:
        return answered
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(uri, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (RedisError, OSError, ValueError):
        return False


def choose_storage(
    settings: Mapping[str, Any], workers: int, answers: Any = redis_answers
) -> RateLimitStorage:
    """The store for these settings served by ``workers`` processes; ConfigError when counting
    per process would silently multiply the limits in production."""
    uri = str(settings["RATELIMIT_STORAGE_URI"] or MEMORY)
    if not settings["RATELIMIT_ENABLED"]:
        return RateLimitStorage(uri, False, "rate limits: off (ATTESTA_RATELIMIT_ENABLED=0)")
    scheme = uri.split("://", 1)[0].lower()
    if scheme.startswith("redis") or scheme.startswith("rediss"):
        if answers(uri):
            return RateLimitStorage(
                uri, True, f"rate limits: shared by every process in Redis at {redacted(uri)}"
            )
        why = f"Redis at {redacted(uri)} does not answer"
        uri = MEMORY
    elif scheme == "memory":
        why = "ATTESTA_RATELIMIT_STORAGE_URI is memory://"
    else:
        # Another store flask-limiter knows (memcached, mongodb, ...): shared, taken as given.
        return RateLimitStorage(uri, True, f"rate limits: shared in {redacted(uri)}")
    processes = "one process" if workers == 1 else f"each of the {workers} web processes"
    message = f"rate limits: {why}; counted per process (memory://): {processes} has its own budget"
    if workers > 1 and settings["ENV"] == "production" and not settings["RATELIMIT_PER_PROCESS"]:
        raise ConfigError(
            f"{message}, so every limit would be {workers} times what it says. Point "
            "ATTESTA_RATELIMIT_STORAGE_URI at a Redis that answers (redis://HOST:6379/0), run "
            "one web process, or set ATTESTA_RATELIMIT_PER_PROCESS=1 if that is meant."
        )
    if workers > 1:
        message += f" (every limit is {workers} times what it says)"
    return RateLimitStorage(MEMORY, False, message)


#: Flask-Limiter's address for a Redis store opened when first used (:class:`RedisOnFirstUse`).
ON_FIRST_USE = "attesta-first-use+"


def limiter_uri(uri: str) -> str:
    """The address Flask-Limiter is given for the store at ``uri``: a Redis one is opened when a
    limit is first counted, so a ``flask`` command, which counts none, never loads the Redis
    client; any other store as it is."""
    scheme = uri.split("://", 1)[0].lower()
    return ON_FIRST_USE + uri if scheme in RedisOnFirstUse.SCHEMES else uri


class RedisOnFirstUse(RedisStorage):
    """limits' Redis store (the same class, the same commands), whose client is made, and the
    Redis library loaded, when a limit is first counted rather than when the app is built: a
    sixth of a second that every ``flask`` command paid. Each web process (gunicorn forks them)
    then opens its own connections when it serves its first request."""

    SCHEMES = ("redis", "rediss", "redis+unix")
    STORAGE_SCHEME = [ON_FIRST_USE + scheme for scheme in SCHEMES]  # noqa: RUF012 - as limits
    _opening = threading.Lock()

    def __init__(self, uri: str, **options: Any) -> None:
        Storage.__init__(self, uri, wrap_exceptions=bool(options.get("wrap_exceptions", False)))
        self._pending: tuple[str, dict[str, Any]] | None = (uri.removeprefix(ON_FIRST_USE), options)

    def __getattr__(self, name: str) -> Any:
        # Only what the real store's constructor sets (its client, scripts, key prefix) is ever
        # missing: made on the first such look-up, once (a second thread waits for the first).
        if name.startswith("__") or "_pending" not in self.__dict__:
            raise AttributeError(name)
        with self._opening:
            pending, self._pending = self._pending, None
            if pending is not None:
                RedisStorage.__init__(self, pending[0], **pending[1])
        if name in self.__dict__:
            return self.__dict__[name]
        raise AttributeError(name)

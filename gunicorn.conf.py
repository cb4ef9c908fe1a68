"""gunicorn's settings for Attesta (read from the working directory; ``make run`` and the
README name it). Command-line options still win (``--workers 4``).

Before any worker starts, the master says where the rate limits count and refuses to start when
several workers would each count their own (app/ratelimits.py): it knows the number of workers
here, and passes it on to the app in ATTESTA_WEB_WORKERS.
"""

from __future__ import annotations

import os
from typing import Any

wsgi_app = "wsgi:app"


def on_starting(server: Any) -> None:
    from app.config import ConfigError, load_config
    from app.ratelimits import WORKERS_VARIABLE, choose_storage

    workers = int(server.cfg.workers)
    os.environ[WORKERS_VARIABLE] = str(workers)  # an Attesta app in the workers checks it too
    app_uri = str(getattr(server.app, "app_uri", None) or server.cfg.wsgi_app or "")
    if app_uri.split(":", 1)[0] not in {"wsgi", "app"}:
        return  # another app served from this folder (the benchmarks' bare apps)
    try:
        storage = choose_storage(load_config(), workers)
    except ConfigError as exc:
        raise RuntimeError(f"Attesta does not start: {exc}") from None  # gunicorn: Error, exit 1
    server.log.info("Attesta %s", storage.message)

"""Background jobs: bulk issuance and the rendering of talent cards (the slow work) run on a
Redis queue when ``ATTESTA_QUEUE_URL`` is set, and on a thread of the web process otherwise.

A card is rendered (PDF and PNG, in every language) when it is issued, activated, renewed or
otherwise changed, or gets a new photo, so that its first download is already a stored file;
should the job not have run yet (or failed), the download renders it as before.

With a queue (RQ), any number of ``flask --app wsgi jobs worker`` processes, on any number of
machines sharing the database and the files, take the jobs; each job renders on a pool of
``ATTESTA_ISSUANCE_WORKERS`` processes. A job that dies with its worker (killed, out of
memory, a machine lost) is retried, up to three times: a bulk run only touches the items still
pending, and a reservation is finished instead of started twice, so a retry never issues a
second certificate. Progress is in the database (``bulk_issuance_items``, a row per case), so
the API and the pages show it whichever process did the work.
"""

from __future__ import annotations

import gc
import threading
import uuid
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup

from app.db import after_commit, database, db_session
from app.i18n import LOCALES
from app.mail import deliver_outbox
from app.services import card_document, issuer
from certification.cards.counter import has_printable_form
from certification.certificates.bulk import fail_pending, run_bulk
from certification.certificates.issuance import warm_up as warm_up_issuer
from certification.db import is_transient
from certification.models import TalentCard

#: Jobs retried after a crash; a bulk run may take a while, but not this long.
RETRIES = 3
JOB_TIMEOUT = 6 * 3600

jobs_cli = AppGroup("jobs", help="Background jobs on the Redis queue (ATTESTA_QUEUE_URL).")
_worker_app: Flask | None = None


def _queue(app: Flask) -> Any:
    from redis import Redis
    from rq import Queue

    return Queue(
        app.config["QUEUE_NAME"],
        connection=Redis.from_url(app.config["QUEUE_URL"]),
        default_timeout=JOB_TIMEOUT,
    )


def start_bulk_run(bulk_id: uuid.UUID) -> None:
    """Have a bulk request run once this request commits: queued when there is a queue,
    inline when testing without one, on a thread of this process otherwise."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["QUEUE_URL"]:
        from rq import Retry

        def enqueue() -> None:
            _queue(app).enqueue(
                run_bulk_job, str(bulk_id), job_id=f"bulk-{bulk_id}", retry=Retry(max=RETRIES)
            )

        after_commit(enqueue)
    elif app.config["ENV"] == "testing":
        after_commit(lambda: _run(app, bulk_id, workers=0))
    else:
        thread = threading.Thread(target=_run, args=(app, bulk_id), daemon=True)
        after_commit(thread.start)


def _run(
    app: Flask,
    bulk_id: uuid.UUID,
    workers: int | None = None,
    *,
    last_try: bool = True,
    fork: bool = False,
) -> None:
    """Run a bulk request. An error that stops the run (the database busy beyond every retry,
    a bug) is logged and, on the last try, recorded: the items still pending are marked failed
    with the reason, so the request never stays pending with nobody working on it. Before the
    last try of a queued job the error is raised for the queue to run the job again."""
    with app.app_context():
        bulk_issuer = issuer(app)
        try:
            run_bulk(
                bulk_issuer,
                bulk_id,
                workers=app.config["ISSUANCE_WORKERS"] if workers is None else workers,
                fork=fork,
            )
        except Exception as exc:
            if not last_try:
                raise
            app.logger.exception("bulk issuance %s stopped", bulk_id)
            reason = "database_busy" if is_transient(exc) else "interrupted"
            try:
                failed = fail_pending(bulk_issuer, bulk_id, reason)
            except Exception:  # left pending: shown as stalled, and can be resumed
                app.logger.exception("bulk issuance %s: its failure was not recorded", bulk_id)
            else:
                app.logger.warning("bulk issuance %s: %d item(s) marked failed", bulk_id, failed)
        deliver_outbox(app)  # each holder's e-mail was enqueued with the certificate


def _job_app() -> Flask:
    """The app a queued job runs in (built once per process)."""
    global _worker_app
    if has_app_context():  # a worker started from the CLI, or a test
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def run_bulk_job(bulk_id: str) -> str:
    """The queued job: run a bulk request in the worker. RQ runs it in a process of its own,
    forked from the worker (warmed up: :func:`warm_up`) and single-threaded, so the rendering
    processes are forked from it in turn, warm, instead of spawned cold for every job."""
    _run(_job_app(), uuid.UUID(bulk_id), last_try=_last_try(), fork=_in_work_horse())
    return bulk_id


def _in_work_horse() -> bool:
    """Whether this is RQ's forked job process (not a test running the job in its own)."""
    from rq import get_current_job

    return get_current_job() is not None and threading.active_count() == 1


def warm_up(app: Flask) -> None:
    """Before the first job: build the issuer (WeasyPrint imported, fonts and CSS loaded), the
    query options and every ente's signer (keys parsed), so that each job's process, forked
    from this one, starts with them instead of building them again (seconds of CPU per job).
    The connections used are closed: no job process shares one with this process."""
    try:
        with app.app_context():
            signers = warm_up_issuer(issuer(app))
    except Exception:  # a key that cannot be read, the database away: jobs then start cold
        app.logger.warning("jobs worker: no warm-up, each job builds its own", exc_info=True)
    else:
        app.logger.info("jobs worker warmed up: %d signer(s) ready", signers)
    database(app).engine.dispose()
    # What is built now stays as it is in the job processes forked from here: frozen, the
    # collector never walks it there, so their pages stay shared with this process instead of
    # being copied on the first collection (a third of a forked first certificate's time).
    gc.collect()
    gc.freeze()


def start_card_render(card_id: uuid.UUID) -> None:
    """Have a card's PDF and PNG rendered and stored once this request commits (queued, inline
    when testing without a queue, on a thread otherwise), ahead of its first download."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["QUEUE_URL"]:
        from rq import Retry

        def enqueue() -> None:
            _queue(app).enqueue(
                render_card_job,
                str(card_id),
                job_id=f"card-{card_id}-{uuid.uuid4().hex[:8]}",
                retry=Retry(max=RETRIES),
            )

        after_commit(enqueue)
    elif app.config["ENV"] == "testing":
        after_commit(lambda: _render_after(app, card_id))
    else:
        thread = threading.Thread(target=_render_after, args=(app, card_id), daemon=True)
        after_commit(thread.start)


def render_card(app: Flask, card_id: uuid.UUID) -> bool:
    """Render and store the card's current version (PDF and PNG, every language) unless stored
    already; False when the card has no printable form (or is gone). A failure is logged and
    left to the first download, which renders what is missing."""
    with app.app_context():
        session = db_session()
        try:
            card = session.get(TalentCard, card_id)
            if card is None or not has_printable_form(card):
                return False
            for locale in LOCALES:
                card_document(card, locale, png=True)
            session.commit()
        except Exception:
            session.rollback()
            app.logger.exception("card %s: not rendered ahead (its download will)", card_id)
            return False
        return True


def _render_after(app: Flask, card_id: uuid.UUID) -> None:
    render_card(app, card_id)


def render_card_job(card_id: str) -> str:
    """The queued job: render a card ahead of its download."""
    render_card(_job_app(), uuid.UUID(card_id))
    return card_id


def _last_try() -> bool:
    """Whether the queue will not run this job again should it fail."""
    from rq import get_current_job

    job = get_current_job()
    return job is None or not job.retries_left


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Take jobs from the queue until stopped (run as many as you like, anywhere)."""
    from rq import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config["QUEUE_URL"]:
        raise click.ClickException("no queue configured (ATTESTA_QUEUE_URL=redis://...)")
    queue = _queue(app)
    warm_up(app)
    Worker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)

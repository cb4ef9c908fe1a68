"""The README's ``flask --app wsgi ...`` examples run as written (issue 17: its
``keys compromise --since 2026-11-01T00:00`` was refused).

Every example is read from README.md (the ``sh`` blocks and the inline code), its placeholders
filled from a real instance with the demo data (KID, CODE, NUMBER, ...), each optional part
(``[--since ...]``) included and each alternative (``pdf_seal|credential``) run in turn, then it
runs against that instance: an example that breaks, or a new example nobody fills in, fails here.

The commands run in this process, through the instance app's command line (``flask --app wsgi``
builds the same app from the same settings); one runs as its own process, so the entry point
itself is exercised too. A process per example would take minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import Result

from app import create_app
from tests.support.instances import ROOT, Instance, new_instance

PREFIX = "flask --app wsgi "

#: Examples that cannot run against a test instance, and why (each must still be in the README).
NOT_RUN = {
    "keys import-p12": "needs a qualified seal's PKCS#12 from a trust service provider",
    "jobs worker": "needs a Redis queue (ATTESTA_QUEUE_URL); tests/app/test_jobs.py runs workers",
}


def readme_examples(text: str) -> list[str]:
    """Each ``flask --app wsgi`` command of the README once, in the order it first appears."""
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command.startswith(PREFIX):
                found.append(command)
    found += [re.sub(r"\s+", " ", span).strip() for span in re.findall(r"`(flask [^`]+)`", text)]
    return list(dict.fromkeys(" ".join(command.split()) for command in found))


def variants(example: str) -> list[str]:
    """The example with its optional parts included and each alternative taken in turn."""
    text = example.removeprefix(PREFIX)
    text = re.sub(r"\(([^()|]*)\|\s*([^()]*)\)", r"\2", text)  # (--case ID ... | --all-certified)
    text = text.replace("[", "").replace("]", "")
    choices = [token.split("|") if "|" in token else [token] for token in text.split()]
    runs: list[list[str]] = [[]]
    for options in choices:
        runs = [[*run, option] for run in runs for option in options]
    return [" ".join(run) for run in runs]


def test_examples_are_found() -> None:
    examples = readme_examples((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(examples) > 20
    assert "flask --app wsgi keys compromise KID [--since 2026-11-01T00:00]" in examples
    assert "flask --app wsgi certificates recover" in examples  # inline, across a line break
    assert variants("flask --app wsgi cards export NUMBER PATH.pdf|PATH.png [--locale en]") == [
        "cards export NUMBER PATH.pdf --locale en",
        "cards export NUMBER PATH.png --locale en",
    ]
    assert variants(
        "flask --app wsgi certificates issue --as E (--case ID ... | --all-certified) [--workers 2]"
    ) == ["certificates issue --as E --all-certified --workers 2"]
    for prefix in NOT_RUN:
        assert any(e.startswith(PREFIX + prefix) for e in examples), f"{prefix} left the README"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real instance with the demo data: what the README's placeholders stand for."""
    root = tmp_path_factory.mktemp("readme")
    with new_instance(root / "instance") as instance:
        loaded = instance.flask("demo", "load", "--json")  # as its own process
        assert loaded.returncode == 0, loaded.stderr
        summary = json.loads(loaded.stdout)
        with new_instance(root / "restored", migrate=False) as restored:
            yield {"instance": instance, "restored": restored, "root": root, "demo": summary}


def _argv(command: str, demo: dict[str, Any], kid: str) -> list[str]:
    """The command's arguments with the README's placeholders filled in."""
    root: Path = demo["root"]
    summary = demo["demo"]
    signatory = next(a["email"] for a in summary["accounts"] if "firmatario" in a["email"])
    today = dt.datetime.now(dt.UTC).date().isoformat()
    words = command.replace("$(date +%F)", today).replace("/backups/", f"{root}/backups/")
    (root / "backups").mkdir(exist_ok=True)
    notice = root / "notice.md"
    notice.write_text("Informativa (esempio del README).\n1. Titolare del trattamento\n", "utf-8")
    values = {
        "NOTICE.md": str(notice),
        "KID": kid,
        "CODE": summary["certificates"]["valid"],
        "NUMBER": summary["cards"]["active"],
        "TC-XXXX-XXXX-C": summary["cards"]["active"],
        "SIGNATORY_EMAIL": signatory,
        "EMAIL": signatory,
        "KEY": "readme-example",
        "REF": "RL-2026-000123",
        "...": "Esempio del README: testimonianza non autentica.",
        "PATH": "rubrics/data" if command.startswith("rubrics ") else str(root / "export.pdf"),
        "PATH.tar": str(root / "backup.tar"),
    }
    argv = []
    for word in shlex.split(words):
        if word in values:
            word = values[word]
        elif re.fullmatch(r"(PATH)?[\w-]*\.(pdf|png|tar|json)", word):
            word = str(root / word.replace("PATH", "out"))  # never in the checkout
        argv.append(word)
    return argv


#: What the examples assume is configured: an SMTP server for ``outbox send`` (a recorder here).
CONFIGURED = {"SMTP_HOST": "smtp.example.org"}


class RecordingSMTP:
    """Stands in for smtplib.SMTP: the messages ``outbox send`` delivers."""

    sent: ClassVar[list[Any]] = []  # for whoever debugs this test

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __enter__(self) -> RecordingSMTP:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def __getattr__(self, _name: str) -> Any:
        return lambda *_args, **_kwargs: None  # ehlo, starttls, login

    def send_message(self, message: Any) -> None:
        RecordingSMTP.sent.append(message)


def _run(instance: Instance, argv: list[str]) -> Result:
    """``flask --app wsgi ARGV`` on the instance, in this process (a fresh app each time)."""
    app = create_app({**instance.settings(), **CONFIGURED})
    instance.apps.append(app)  # its connections close with the instance
    return app.test_cli_runner().invoke(args=argv)


def _credential_kid(instance: Instance) -> str:
    """A credential key of the demo ente: the one the README's example marks compromised."""
    listing = _run(instance, ["keys", "list"])
    assert listing.exit_code == 0, listing.output
    lines = [line for line in listing.output.splitlines() if "credential" in line]
    retired = [line for line in lines if "retired" in line]
    return (retired or lines)[0].split()[0]


def _file(argv: list[str], demo: dict[str, Any]) -> str:
    """What the README's FILE stands for: a checkpoint kept outside (``audit verify``), the
    erasure journal of the instance a backup came from (``backup restore``)."""
    instance: Instance = demo["instance"]
    if argv[:2] == ["audit", "verify"]:
        made = _run(instance, ["audit", "checkpoint"])
        assert made.exit_code == 0, made.output
        app = create_app({**instance.settings(), **CONFIGURED})
        instance.apps.append(app)
        day = dt.datetime.now(dt.UTC).date().isoformat()
        kept = demo["root"] / "checkpoint.json"
        kept.write_bytes(app.test_client().get(f"/audit/checkpoints/{day}.json").data)
        return str(kept)
    journal = Path(instance.settings()["INSTANCE_PATH"]) / "erasures.jsonl"
    journal.touch()  # no erasure since the demo was loaded: an empty journal
    return str(journal)


#: Examples that change the demo data for the ones after them run last: revoking the demo's
#: valid certificate also revokes the talent card on it, which ``cards export`` then refuses.
LAST = ("certificates revoke",)


@pytest.mark.slow
def test_the_readme_examples_run_as_written(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.mail.smtplib.SMTP", RecordingSMTP)
    examples = sorted(
        readme_examples((ROOT / "README.md").read_text(encoding="utf-8")),
        key=lambda example: example.removeprefix(PREFIX).startswith(LAST),
    )
    instance: Instance = demo["instance"]
    failures = []
    ran = 0
    for example in examples:
        if any(example.startswith(PREFIX + prefix) for prefix in NOT_RUN):
            continue
        for command in variants(example):
            kid = _credential_kid(instance) if "KID" in command.split() else ""
            argv = _argv(command, demo, kid)
            argv = [_file(argv, demo) if word == "FILE" else word for word in argv]
            # A restore goes into a new, empty instance, as the README says.
            target = demo["restored"] if argv[:2] == ["backup", "restore"] else instance
            done = _run(target, argv)
            ran += 1
            if done.exit_code != 0:
                why = done.output[-600:] + (repr(done.exception) if done.exception else "")
                failures.append(f"{example}\n  ran: {shlex.join(argv)}\n  {why}")
    assert not failures, "README examples that fail:\n" + "\n".join(failures)
    assert ran > 20

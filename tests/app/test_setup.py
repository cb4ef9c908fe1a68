"""``flask --app wsgi setup``: what ``make run`` needs before it serves, in one process, and
idempotent (issue 20)."""

from __future__ import annotations

import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import database
from certification.models import Certificate, SigningKey, UserAccount
from tests.support.instances import new_instance

ROOT = Path(__file__).resolve().parents[2]
STEPS = [
    "== db upgrade",
    "== rubrics import",
    "== demo load",
    "== keys init",
    "== certificates recover --minutes 0",
]


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(UserAccount)) or 0,
        session.scalar(select(func.count()).select_from(Certificate)) or 0,
        session.scalar(select(func.count()).select_from(SigningKey)) or 0,
    )


def _steps(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("== ")]


def _demo_certificates(output: str) -> list[str]:
    return re.findall(r"Demo certificate \((\w+)\): (\S+)", output)


@pytest.mark.slow  # loads the demo: it issues two certificates (tens of seconds on a busy machine)
def test_setup_makes_an_instance_in_one_process_and_running_it_again_changes_nothing(
    tmp_path: Path,
) -> None:
    with new_instance(tmp_path / "instance", migrate=False) as instance:
        app = instance.app()
        runner = app.test_cli_runner()

        first = runner.invoke(args=["setup"])
        assert first.exit_code == 0, first.output
        assert [s.split(" /")[0] for s in _steps(first.output)] == STEPS
        assert "Database at head." in first.output
        assert "DEMO-LOMBARDIA 1.0 imported" in first.output
        # What `make run` printed before: the accounts, their authenticator apps, the demo
        # certificates and card.
        assert "Demo data ready. Accounts (password for all: demo-attesta-2026):" in first.output
        assert "second factor: otpauth://totp/Attesta:admin%40demo.attesta.example" in first.output
        assert [kind for kind, _ in _demo_certificates(first.output)] == ["valid", "revoked"]
        assert "Demo talent card: TC-" in first.output
        assert "0 pending issuance(s) handled." in first.output
        with Session(database(app).engine) as session:
            made = _counts(session)
        assert made[0] > 10 and made[1] >= 2 and made[2] > 0

        again = runner.invoke(args=["setup"])
        assert again.exit_code == 0, again.output
        assert [s.split(" /")[0] for s in _steps(again.output)] == STEPS
        assert "DEMO-LOMBARDIA 1.0 already published, unchanged" in again.output
        assert "All keys exist already." in again.output
        assert _demo_certificates(again.output) == _demo_certificates(first.output)
        with Session(database(app).engine) as session:
            assert _counts(session) == made


def test_setup_stops_at_the_first_step_that_fails(tmp_path: Path) -> None:
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "bad.yaml").write_text("format: attesta-rubrics/1\n")
    with new_instance(tmp_path / "instance", migrate=False) as instance:
        runner = instance.app().test_cli_runner()
        result = runner.invoke(args=["setup", "--rubrics", str(tmp_path / "rubrics")])
        assert result.exit_code == 1
        assert [s.split(" /")[0] for s in _steps(result.output)] == STEPS[:2]
        assert "Database at head." in result.output
        assert "invalid rubric file" in result.output


def _when_serving() -> Any:
    spec = importlib.util.spec_from_file_location("when_serving", ROOT / "scripts/when_serving.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_running_is_said_once_the_server_answers(capsys: pytest.CaptureFixture[str]) -> None:
    # make run's banner (scripts/when_serving.py): printed after a 200, never before.
    when_serving = _when_serving()
    asked: list[str] = []

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200 if len(asked) > 2 else 503)  # ready at the third question
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
        assert when_serving.main([url, str(os.getpid()), "Attesta is running", "on it"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert asked == ["/healthz"] * 3
    assert capsys.readouterr().out == "Attesta is running\non it\n"


def test_nothing_is_said_when_the_server_has_ended(capsys: pytest.CaptureFixture[str]) -> None:
    when_serving = _when_serving()
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = ended.stdout.strip()  # a process that has ended (and was reaped)
    assert when_serving.main(["http://127.0.0.1:9/healthz", pid, "Attesta is running"]) == 1
    assert capsys.readouterr().out == ""

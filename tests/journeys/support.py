"""What the journeys share: the served instance, the people in their browsers, and axe-core.

Every page a journey reaches goes through :class:`Visitor`, which runs axe-core on it
(WCAG 2.1 A and AA rules) and records serious or critical violations, server errors and
browser console errors; a navigation that was not checked is recorded too. The journeys fail
on any of them once they have run to the end (see ``conftest.pytest_runtest_makereport``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Frame, Locator, Page, Response

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
PORTS = range(5100, 5200)
DEMO_PASSWORD = "demo-attesta-2026"
DEMO_DOMAIN = "demo.attesta.example"
#: Long enough for a page that seals a PDF on a busy two-core machine.
NAVIGATION_TIMEOUT_MS = 60_000
#: The demo staff's authenticator apps (e-mail -> otpauth:// URI), from ``demo load --json``.
DEMO_TOTP: dict[str, str] = {}
#: The last 30-second step whose code each account used: a code is accepted once.
_USED_STEP: dict[str, int] = {}


@dataclass(frozen=True)
class Viewport:
    """A device the journeys run on."""

    name: str
    width: int
    height: int
    mobile: bool

    def context_options(self) -> dict[str, Any]:
        """Options for ``Browser.new_context``: the size, touch, and Italian."""
        options: dict[str, Any] = {
            "viewport": {"width": self.width, "height": self.height},
            "locale": "it-IT",
            "timezone_id": "Europe/Rome",
            "accept_downloads": True,
        }
        if self.mobile:
            options |= {"is_mobile": True, "has_touch": True}
        return options


PHONE = Viewport("phone", 390, 844, mobile=True)
DESKTOP = Viewport("desktop", 1280, 800, mobile=False)
VIEWPORTS = (PHONE, DESKTOP)


# --- the served instance ------------------------------------------------------------------------


def free_port() -> int:
    """A free port in the range the journeys may use (5100-5199)."""
    ports = list(PORTS)
    random.shuffle(ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 5100-5199")


@dataclass
class Instance:
    """A fresh Attesta with the demo data, served by gunicorn on 127.0.0.1."""

    path: Path
    port: int
    env: dict[str, str]
    demo: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _qr_urls: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flask(self, *args: str, timeout: float = 300) -> str:
        """Run ``flask --app wsgi ARGS`` on the instance; its standard output."""
        return self._run([str(BIN / "flask"), "--app", "wsgi", *args], timeout)

    def python(self, code: str, *args: str) -> str:
        """Run Python code in the instance's environment (the app's settings); its output."""
        return self._run([str(BIN / "python"), "-c", code, *args], timeout=120)

    def _run(self, command: list[str], timeout: float) -> str:
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command[1:4])}... failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout

    def set_up(self) -> None:
        """Migrate, import the standards, load the demo data (keeping its summary), keys."""
        self.flask("db", "upgrade")
        self.flask("rubrics", "import", "rubrics/data")
        out = self.flask("demo", "load", "--json")
        self.demo = json.loads(out[out.index("{") :])
        DEMO_TOTP.update({a["email"]: a["totp"] for a in self.demo["accounts"] if "totp" in a})
        self.flask("keys", "init")

    def serve(self) -> None:
        """Start gunicorn and wait until ``/healthz`` answers."""
        log = (self.path / "gunicorn.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                # Sealing a certificate takes seconds; on a loaded machine more than the default.
                "--timeout",
                "120",
                "--access-logfile",
                "-",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.2)  # polling a process that is starting: no page to wait on yet
        raise RuntimeError(f"gunicorn did not answer /healthz in 60 s:\n{self.log_tail()}")

    def healthy(self) -> bool:
        """Does ``/healthz`` answer 200?"""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        """Terminate gunicorn (master and workers) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        log = self.path / "gunicorn.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def card_qr_url(self, number: str) -> str:
        """What the QR code on the back of card NUMBER holds: the counter-check URL."""
        if number not in self._qr_urls:
            payload = self.python(_QR_PAYLOAD, number).strip()
            self._qr_urls[number] = f"{self.base_url}/card/verify/{payload}"
        return self._qr_urls[number]

    def account(self, local_part: str) -> str:
        """The e-mail address of a demo account, checked against what ``demo load`` made."""
        email = f"{local_part}@{DEMO_DOMAIN}"
        assert email in {a["email"] for a in self.demo["accounts"]}, f"no demo account {email}"
        return email


_QR_PAYLOAD = """
import sys
from app import create_app
from app.db import db_session
from certification import cards
app = create_app()
with app.app_context():
    session = db_session()
    card = cards.card_by_number(session, cards.normalise_card_number(sys.argv[1]))
    print(cards.qr_payload(session, card, str(app.config["KEY_PASSPHRASE"]).encode()))
"""


def instance_environment(instance_path: Path, port: int) -> dict[str, str]:
    """The environment of the instance: ours, never the caller's ATTESTA_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")}
    env |= {
        "ATTESTA_INSTANCE_PATH": str(instance_path),
        "ATTESTA_ENV": "development",
        "ATTESTA_DEV_OUTBOX": "1",
        "ATTESTA_BASE_URL": f"http://127.0.0.1:{port}",
        "ATTESTA_RATELIMIT_ENABLED": "0",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    }
    return env


def missing_tools() -> list[str]:
    """What the journeys cannot run without."""
    missing = []
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE_JS.exists():
        missing.append(f"axe-core at {AXE_JS} (npm ci --prefix tools/axe)")
    for tool in ("flask", "gunicorn"):
        if not (BIN / tool).exists():
            missing.append(f"{BIN / tool} (make install)")
    return missing


def _checker(name: str) -> str | None:
    """An independent checker's path; None without it, except in CI (where it must be there:
    scripts/system-deps.sh and scripts/browser-deps.sh install them)."""
    path = shutil.which(name)
    if path is None and (
        os.environ.get("CI") == "true" or os.environ.get("ATTESTA_REQUIRE_TOOLS") == "1"
    ):
        pytest.fail(f"{name} is missing in CI")
    return path


def pdfsig(path: Path) -> str | None:
    """What poppler's ``pdfsig`` says of the PDF's signatures; None without pdfsig."""
    tool = _checker("pdfsig")
    if tool is None:
        return None
    return subprocess.run(
        [tool, str(path)], capture_output=True, text=True, timeout=60, check=False
    ).stdout


def pdf_text(path: Path) -> str | None:
    """The text poppler's ``pdftotext`` reads in the PDF; None without pdftotext."""
    tool = _checker("pdftotext")
    if tool is None:
        return None
    return subprocess.run(
        [tool, "-layout", str(path), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout


def qr_code_in(path: Path) -> str | None:
    """The text of the QR code in a PNG, or on a PDF's first page (zbarimg, and pdftoppm for a
    PDF); None when those tools are missing."""
    zbarimg, pdftoppm = _checker("zbarimg"), _checker("pdftoppm")
    if zbarimg is None or (path.suffix == ".pdf" and pdftoppm is None):
        return None
    image = path
    if pdftoppm is not None and path.suffix == ".pdf":
        stem = path.with_name(path.stem + "-page")
        render = [pdftoppm, "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile"]
        subprocess.run([*render, str(path), str(stem)], capture_output=True, timeout=60, check=True)
        image = stem.with_suffix(".png")
    done = subprocess.run(
        [zbarimg, "-q", "--raw", str(image)], capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


# --- what the journeys share -------------------------------------------------------------------


@dataclass
class Story:
    """What a viewport's candidate has reached so far: journeys 2-4 carry on from it."""

    viewport: str
    email: str = ""
    name: str = ""
    password: str = ""
    case_url: str = ""
    verification_url: str = ""
    code: str = ""
    pdf: Path | None = None
    reached: set[str] = field(default_factory=set)

    def require(self, step: str) -> None:
        """Skip a journey whose starting point an earlier journey (which failed) should make."""
        if step not in self.reached:
            pytest.skip(f"the earlier journey ({step}) did not finish on the {self.viewport}")


def menu_link(page: Page, name: str) -> Locator:
    """A link of the header's main navigation, as a person reaches it: on a phone the links sit
    behind the Menu button, which is opened first."""
    menu = page.locator("details.nav-menu")
    if menu.is_visible() and menu.get_attribute("open") is None:
        menu.locator("summary").click()
    return page.get_by_role("navigation", name="Navigazione principale").get_by_role(
        "link", name=name, exact=True
    )


def select_starting_with(select: Locator, prefix: str) -> None:
    """Choose the option of a <select> whose text starts with PREFIX (e.g. a code)."""
    option = select.locator("option").filter(has_text=re.compile("^" + re.escape(prefix)))
    value = option.first.get_attribute("value")
    assert value is not None, f"no option starting with {prefix!r}"
    select.select_option(value=value)


def one_page_pdf(text: str) -> bytes:
    """A small, valid one-page PDF showing TEXT (ASCII), with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --- axe-core and the pages visited --------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ROUTES = (
    (re.compile(r"^/verify/[^/?]+"), "/verify/{code}"),
    (re.compile(r"^/card/verify/[^/?]+"), "/card/verify/{payload}"),
)


def route_of(url: str) -> str:
    """The page a URL shows, without ids and codes: ``/cases/{id}``, ``/verify?code``."""
    path, _, query = re.sub(r"^https?://[^/]+", "", url).partition("#")[0].partition("?")
    path = _UUID.sub("{id}", path)
    for pattern, replacement in _ROUTES:
        path = pattern.sub(replacement, path)
    names = sorted({pair.partition("=")[0] for pair in query.split("&") if pair})
    return path + ("?" + "&".join(names) if names else "")


#: What a page's layout measures: its width against the window's, and the header's height.
_LAYOUT = """() => ({
  width: document.documentElement.scrollWidth,
  window: window.innerWidth,
  header: Math.round(document.querySelector('.site-header')?.getBoundingClientRect().height || 0),
})"""

#: The header leaves the phone's screen to the content (issue 19: at most 120 px of 390 x 844).
PHONE_HEADER_MAX_PX = 120
_AXE_RUN = """async tags => {
  const options = {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']};
  const results = await axe.run(document, options);
  return results.violations.map(rule => ({
    id: rule.id, impact: rule.impact, help: rule.help,
    targets: rule.nodes.map(node => node.target.join(' ')),
  }));
}"""


@dataclass(frozen=True)
class Violation:
    """An axe-core violation on one page (serious and critical ones fail the journey)."""

    url: str
    viewport: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:8]) + (" …" if len(self.targets) > 8 else "")
        return f"{self.url} [{self.viewport}] {self.impact} {self.rule}: {self.help} — {shown}"


@dataclass
class AuditLog:
    """Everything axe-core checked in the session, for the summary."""

    runs: int = 0
    urls: set[str] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)
    violations: list[Violation] = field(default_factory=list)
    #: Moderate and minor violations: reported in the summary, they fail nothing.
    lesser: list[Violation] = field(default_factory=list)
    #: With ATTESTA_JOURNEYS_SCREENSHOTS=DIR, a screenshot of every page checked goes there.
    screenshots: Path | None = None


@dataclass
class JourneyRecord:
    """What went wrong in one test apart from its assertions, reported when it ends."""

    violations: list[Violation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    visitors: list[Visitor] = field(default_factory=list)


class Visitor:
    """One person in their own browser context. Every page they reach is checked by axe-core:
    navigate with :meth:`goto`, :meth:`follow` or ``with visitor.navigation():``."""

    def __init__(
        self,
        context: BrowserContext,
        base_url: str,
        viewport: Viewport,
        who: str,
        log: AuditLog,
        record: JourneyRecord,
    ) -> None:
        self.context = context
        self.base_url = base_url
        self.viewport = viewport
        self.who = who
        self.log = log
        self.record = record
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.add_init_script(path=str(AXE_JS))  # injected by CDP: the app's CSP stays on
        self.page = context.new_page()
        self._unchecked: str | None = None
        self.page.on("framenavigated", self._navigated)
        self.page.on("response", self._response)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self._problem(f"script error: {error}"))
        record.visitors.append(self)

    # navigation

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def goto(self, path: str, status: int = 200) -> None:
        """Open a URL (typed, or from a QR code) and check the page."""
        response = self.page.goto(self.url(path))
        self._arrived(response, status)

    def follow(self, target: Locator, status: int = 200) -> None:
        """Click a link or a form's button and check the page it leads to."""
        with self.navigation(status):
            target.click()

    @contextlib.contextmanager
    def navigation(self, status: int = 200) -> Iterator[None]:
        """Wrap an action that loads a new page (e.g. a form that submits itself)."""
        with self.page.expect_navigation() as navigation:
            yield
        self._arrived(navigation.value, status)

    def _arrived(self, response: Response | None, status: int) -> None:
        assert response is not None, f"no response for {self.page.url}"
        self.check()
        if response.status != status:
            alerts = self.page.locator(".alert-error, .errors, .flash-error").all_inner_texts()
            raise AssertionError(
                f"{self.who}: {self.page.url} answered {response.status}, expected {status}"
                + (f"; the page says: {' | '.join(alerts)}" if alerts else "")
            )

    def download(self, link: Locator, destination: Path) -> bytes:
        """Click a download link, save the file; its bytes."""
        with self.page.expect_download() as info:
            link.click()
        info.value.save_as(destination)
        return destination.read_bytes()

    # accessibility

    def check(self) -> None:
        """Run axe-core on the page shown and record its violations; check it is Italian."""
        page = self.page
        page.wait_for_load_state("load")
        lang = page.evaluate("document.documentElement.lang")
        if lang != "it":
            self._problem(f"{page.url}: the page is in {lang!r}, not Italian")
        layout = page.evaluate(_LAYOUT)
        if layout["width"] > layout["window"]:
            wide, window = layout["width"], layout["window"]
            self._problem(f"{page.url}: scrolls sideways ({wide} px in a {window} px window)")
        if self.viewport.name == "phone" and layout["header"] > PHONE_HEADER_MAX_PX:
            self._problem(f"{page.url}: the header takes {layout['header']} px of the phone")
        violations = page.evaluate(_AXE_RUN, AXE_TAGS)
        self._unchecked = None
        self.log.runs += 1
        self.log.urls.add(page.url.partition("#")[0])
        self.log.routes.add(route_of(page.url))
        for rule in violations:
            violation = Violation(
                url=page.url,
                viewport=self.viewport.name,
                rule=rule["id"],
                impact=rule.get("impact") or "minor",
                help=rule["help"],
                targets=tuple(rule["targets"]),
            )
            if violation.impact in BLOCKING_IMPACTS:
                self.record.violations.append(violation)
                self.log.violations.append(violation)
            else:
                self.log.lesser.append(violation)
        if self.log.screenshots is not None:
            self.log.screenshots.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9]+", "-", route_of(page.url)).strip("-") or "home"
            shot = self.log.screenshots / f"{self.log.runs:03d}-{self.viewport.name}-{name}.png"
            page.screenshot(path=str(shot), full_page=True)

    # what the browser reports

    def _navigated(self, frame: Frame) -> None:
        if frame != self.page.main_frame or not frame.url.startswith("http"):
            return
        if self._unchecked is not None and self._unchecked != frame.url:
            self._problem(f"{self._unchecked}: left without an axe check")
        self._unchecked = frame.url

    def _response(self, response: Response) -> None:
        if response.status >= 500:
            self._problem(f"{response.request.method} {response.url}: HTTP {response.status}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # The page's own status is checked on arrival; Chromium logs every 4xx document too.
        document = message.location.get("url", "").partition("#")[0]
        if (
            message.text.startswith("Failed to load resource")
            and document == self.page.url.partition("#")[0]
        ):
            return
        self._problem(f"{self.page.url}: console error: {message.text}")

    def _problem(self, text: str) -> None:
        self.record.problems.append(f"{self.who} ({self.viewport.name}): {text}")

    def finish(self) -> None:
        """Note a page left unchecked at the end of the journey."""
        if self._unchecked is not None:
            self._problem(f"{self._unchecked}: left without an axe check")
            self._unchecked = None

    # people

    def log_in(self, email: str, password: str = DEMO_PASSWORD) -> None:
        """Log in (by default with the demo password), like a person at the login page."""
        self.goto("/login")
        self.page.get_by_label("E-mail").fill(email)
        self.page.get_by_label("Password").fill(password)
        # The header's language switch is a form with buttons too.
        self.follow(self.page.locator("main form button.button"))
        if "/login/second-factor" in self.page.url:
            # Staff: the code of their authenticator app, as a person reads it off the phone.
            self.page.locator("input[name=code]").fill(totp_code(email))
            self.follow(self.page.locator("main form button.button"))
        assert "/login" not in self.page.url, f"{email} could not log in"


def totp_code(email: str) -> str:
    """The current code of a demo account's app. A code is accepted once: when this account
    already used the current step, the next step's code (also accepted) or, used too, a wait
    for the app's next code, as a person would."""
    import pyotp

    totp = pyotp.parse_uri(DEMO_TOTP[email])
    step = int(time.time()) // 30
    used = _USED_STEP.get(email)
    if used is not None and used >= step:
        if used == step:
            step += 1
        else:
            time.sleep((used + 1) * 30 - time.time() + 0.5)
            step = used + 1
    _USED_STEP[email] = step
    return str(totp.at(step * 30))

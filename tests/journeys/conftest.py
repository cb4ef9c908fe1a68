"""Fixtures of the browser journeys: one fresh instance served by gunicorn, Debian's Chromium
driven by Playwright, a phone and a desktop viewport, axe-core on every page.

The journeys are slow next to the rest of the suite, so they are skipped unless
``ATTESTA_JOURNEYS=1`` (``make journeys``). When it is set, a missing Chromium or axe-core is
a failure, not a skip. A failed journey leaves full-page screenshots of every open page in
``tests/journeys/artifacts/``; a serious or critical axe-core violation, an HTTP 5xx, a script
or console error, or a page left unchecked fails the journey that met it. The session ends with
a summary: journeys run per viewport, pages checked by axe-core, violations.

``ATTESTA_JOURNEYS_SCREENSHOTS=DIR`` also keeps a full-page screenshot of every page checked.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.journeys.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORTS,
    AuditLog,
    Instance,
    JourneyRecord,
    Story,
    Viewport,
    Visitor,
    free_port,
    instance_environment,
    missing_tools,
)

ENABLED = os.environ.get("ATTESTA_JOURNEYS") == "1"
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
RECORD = pytest.StashKey[JourneyRecord]()
#: What axe-core checked over the whole session (for the terminal summary). To look at every
#: page checked, set ATTESTA_JOURNEYS_SCREENSHOTS to a folder: each gets a full-page screenshot.
AUDIT = AuditLog(
    screenshots=Path(os.environ["ATTESTA_JOURNEYS_SCREENSHOTS"]).resolve()
    if os.environ.get("ATTESTA_JOURNEYS_SCREENSHOTS")
    else None
)
_INSTANCE_PATH: list[Path] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the journeys unless ATTESTA_JOURNEYS=1: ``make test`` stays fast."""
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="browser journeys: set ATTESTA_JOURNEYS=1 (make journeys)")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


# --- the instance and the browser -------------------------------------------------------------


@pytest.fixture(scope="session")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """A fresh instance with the demo data, served by gunicorn on a free port (5100-5199)."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # what is there is this run's
    missing = missing_tools()
    if missing:
        pytest.fail("the browser journeys need: " + "; ".join(missing), pytrace=False)
    path = tmp_path_factory.mktemp("instance")
    port = free_port()
    served = Instance(path=path, port=port, env=instance_environment(path, port))
    _INSTANCE_PATH.append(path)
    try:
        served.set_up()
        served.serve()
    except (RuntimeError, OSError) as exc:
        served.stop()
        pytest.fail(f"the instance did not start: {exc}", pytrace=False)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; never a downloaded browser."""
    chromium = _playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


@pytest.fixture(params=VIEWPORTS, ids=[v.name for v in VIEWPORTS])
def viewport(request: pytest.FixtureRequest) -> Viewport:
    """The device of the journey: a phone (390×844, touch) or a desktop (1280×800)."""
    chosen: Viewport = request.param
    return chosen


@pytest.fixture
def people(
    request: pytest.FixtureRequest, instance: Instance, browser: Browser, viewport: Viewport
) -> Iterator[Callable[[str], Visitor]]:
    """Make a person with a browser of their own (a context: cookies apart) on the viewport."""
    record = JourneyRecord()
    request.node.stash[RECORD] = record

    def person(who: str) -> Visitor:
        context = browser.new_context(**viewport.context_options())
        return Visitor(context, instance.base_url, viewport, who, AUDIT, record)

    yield person
    for visitor in record.visitors:
        visitor.context.close()


# --- the state one journey hands to the next, per viewport ------------------------------------


@pytest.fixture(scope="session")
def _stories() -> dict[str, Story]:
    return {}


@pytest.fixture
def story(_stories: dict[str, Story], viewport: Viewport) -> Story:
    return _stories.setdefault(viewport.name, Story(viewport.name))


# --- failures: screenshots, accessibility and browser problems --------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Fail a journey that met axe violations or browser problems; screenshot on failure."""
    report = yield
    record = item.stash.get(RECORD, None)
    if record is None or report.when != "call":
        return report
    for visitor in record.visitors:
        visitor.finish()
    findings = [str(v) for v in record.violations] + record.problems
    if findings:
        text = "\n".join(findings)
        if report.passed:
            report.outcome = "failed"
            report.longrepr = (
                f"{len(record.violations)} serious/critical axe-core violation(s) of "
                f"WCAG 2.1 AA and {len(record.problems)} browser problem(s):\n{text}"
            )
        else:
            report.sections.append(("axe-core and browser", text))
    if report.failed:
        saved = _screenshots(item.name, record)
        if _INSTANCE_PATH and (_INSTANCE_PATH[0] / "gunicorn.log").exists():
            # pytest removes old temporary folders (other runs too): keep the server's log.
            shutil.copyfile(_INSTANCE_PATH[0] / "gunicorn.log", ARTIFACTS / "gunicorn.log")
            saved.append(f"{ARTIFACTS / 'gunicorn.log'} (the server's log so far)")
        report.sections.append(("screenshots", "\n".join(saved)))
    return report


def _screenshots(test_name: str, record: JourneyRecord) -> list[str]:
    """Full-page screenshots of every page still open: artifacts/<test>-<n>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
    saved = []
    pages = [p for v in record.visitors for p in v.context.pages if not p.is_closed()]
    for n, page in enumerate(pages, start=1):
        path = ARTIFACTS / f"{stem}-{n}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # a screenshot must never hide the failure itself
            saved.append(f"{path.name}: not saved ({exc})")
        else:
            saved.append(f"{path} ({page.url})")
    return saved


def _outcomes(terminalreporter: Any, config: pytest.Config) -> dict[str, str]:
    """Each journey's outcome: failed (at any phase), skipped, or passed."""
    prefix = HERE.relative_to(config.rootpath).as_posix() + "/"
    outcomes: dict[str, str] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not isinstance(report, pytest.TestReport) or not report.nodeid.startswith(prefix):
                continue
            if report.failed:
                outcomes[report.nodeid] = "failed"
            elif report.skipped and report.nodeid not in outcomes:
                outcomes[report.nodeid] = "skipped"
            elif report.when == "call" and outcomes.get(report.nodeid) != "failed":
                outcomes[report.nodeid] = "passed"
    return outcomes


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Journeys run per viewport, pages checked by axe-core, violations found."""
    outcomes = _outcomes(terminalreporter, config) if ENABLED else {}
    if not outcomes:
        return
    count = Counter(outcomes.values())
    run = [nodeid for nodeid, outcome in outcomes.items() if outcome != "skipped"]
    write = terminalreporter.write_line
    terminalreporter.section("browser journeys")
    by_viewport = {v.name: sum(f"[{v.name}]" in n for n in run) for v in VIEWPORTS}
    write(
        f"journeys run: {len(run)} ("
        + ", ".join(f"{n} on the {name}" for name, n in by_viewport.items())
        + f"): {count['passed']} passed, {count['failed']} failed, {count['skipped']} skipped"
    )
    write(
        f"axe-core (WCAG 2.1 A and AA rules): {AUDIT.runs} checks, "
        f"{len(AUDIT.urls)} distinct URLs, {len(AUDIT.routes)} distinct pages"
    )
    for title, found in (
        ("serious or critical violations (failures)", AUDIT.violations),
        ("moderate or minor violations (reported only)", AUDIT.lesser),
    ):
        write(f"{title}: {len(found)}")
        rules: dict[str, set[str]] = {}
        for violation in found:
            rules.setdefault(f"{violation.impact} {violation.rule}", set()).add(violation.url)
        for rule, urls in sorted(rules.items()):
            write(f"  {rule}: {len(urls)} page(s), e.g. {sorted(urls)[0]}")
    if config.getoption("verbose") > 0:
        for route in sorted(AUDIT.routes):
            write(f"  checked: {route}")
    if AUDIT.screenshots is not None:
        write(f"screenshots of every page checked: {AUDIT.screenshots}")
    if _INSTANCE_PATH:
        write(f"instance (database, gunicorn.log, removed by later runs): {_INSTANCE_PATH[0]}")

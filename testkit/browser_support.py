"""Debian's Chromium driven by Playwright, for the page tests (``MEDEVIDENCE_REQUIRE_BROWSER=1``: a missing
browser fails instead of skipping).  axe-core comes from node_modules; screenshots go to artifacts/screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
REQUIRED_ENV = "MEDEVIDENCE_REQUIRE_BROWSER"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]


def require(ok: bool, reason: str) -> None:
    if not ok:
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{REQUIRED_ENV}=1 but {reason}")
        pytest.skip(reason)


_OPEN: list[Any] = []  # the browser a block of this thread has open (Playwright's sync API allows one at a time)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for the block (the one already open, when a surrounding block has one: the session's
    page-test browser while a fixture prints a PDF)."""
    if _OPEN:
        yield _OPEN[-1]
        return
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed")
        raise
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        _OPEN.append(browser)
        try:
            yield browser
        finally:
            _OPEN.pop()
            browser.close()


def axe_serious(page: Any) -> list[tuple[str, list[Any]]]:
    """axe-core's WCAG 2 A/AA violations of serious or critical impact on the page as it is now."""
    require(AXE.exists(), "axe-core is not installed (make browser-test-deps runs npm install)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})")
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


@contextmanager
def watched_page(browser: Any, width: int = 1280, height: int = 1000, **context_options: Any) -> Iterator[Any]:
    """A page in a fresh browser context that records every URL it requests (``page.requests``: a page test checks
    nothing left this server) and its console and script errors (``page.errors``)."""
    context = browser.new_context(viewport={"width": width, "height": height}, **context_options)
    page = context.new_page()
    page.requests = []
    page.errors = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """The whole page as ``artifacts/screenshots/NAME`` (CI keeps them)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)

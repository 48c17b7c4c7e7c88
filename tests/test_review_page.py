"""Clinician review in a real browser (Debian's Chromium driven by Playwright), against the app on loopback with
real API keys: a reviewer marks an answer unsafe on the page, the next identical question shows the note (to the
reviewer and to a reader), and the review queue lists the flag with its evidence and resolves it.

Screenshots go to ``artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.runtime import Runtime
from testkit.browser_support import AXE, axe_serious, screenshot, watched_page
from testkit.http_server import serving

from .conftest import StarterApp

pytestmark = [pytest.mark.slow, pytest.mark.browser]

QUESTION = "What are the contraindications of warfarin?"
NOTE = "Omits the bleeding-risk warning for patients over 65: check the full label."


@pytest.fixture(scope="module")
def site(starter_runtime: Runtime, starter_app: StarterApp) -> Iterator[tuple[str, dict[str, str]]]:
    keys = starter_runtime.keys
    secrets = {"reviewer": keys.create("reviewer", "Dr Page Reviewer")[1], "reader": keys.create("reader", "ward")[1]}
    with starter_app(rate_limit_per_minute=0) as app, serving(app) as base:
        yield base, secrets


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with watched_page(browser) as page:
        yield page


def _axe_on(page: Any, selectors: list[str]) -> list[tuple[str, list[Any]]]:
    """axe-core's serious WCAG 2 A/AA violations within these parts of the page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("s => axe.run({include: s.map(x => [x])}, {runOnly: ['wcag2a', 'wcag2aa']})", selectors)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def _ask(page: Any, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_label("API key").dispatch_event("change")
    page.get_by_label("Question (Chinese or English)").fill(QUESTION)
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_selector("body[data-answer-state='answered']", timeout=120_000)


def test_a_reviewer_marks_an_answer_unsafe_and_the_next_identical_question_shows_the_note(
        page: Any, site: tuple[str, dict[str, str]], browser: Any) -> None:
    base, secrets = site
    page.goto(base + "/")
    _ask(page, secrets["reader"])
    assert page.locator("#review-box").is_hidden()  # a reader has no review controls
    assert page.locator("#review-notes").is_hidden()

    _ask(page, secrets["reviewer"])
    box = page.locator("#review-box")
    box.wait_for(state="visible")
    assert page.locator("#review-link").is_visible()
    page.get_by_role("radio", name="Unsafe").check()
    page.get_by_label("Reason (required for incorrect and unsafe", exact=False).fill(NOTE)
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_selector("body[data-review-state='saved']")
    assert "unsafe (open)" in box.get_by_role("status").inner_text()
    screenshot(page, "review-marked-unsafe.png")

    page.get_by_role("button", name="Ask", exact=True).click()  # the same question again
    page.wait_for_selector("body[data-answer-state='answered']", timeout=120_000)
    notes = page.locator("#review-notes")
    notes.wait_for(state="visible")
    assert NOTE in notes.inner_text() and "Dr Page Reviewer" in notes.inner_text()
    assert "marked unsafe" in notes.inner_text()
    assert notes.get_attribute("role") == "alert"
    assert box.is_visible() and page.locator("#review-box button[type=submit]").inner_text() == "Submit review"
    screenshot(page, "review-note-on-next-answer.png")

    _ask(page, secrets["reader"])  # a reader sees the warning too
    page.locator("#review-notes").wait_for(state="visible")
    assert NOTE in page.locator("#review-notes").inner_text()
    outside = [u for u in page.requests if not (u.startswith(base) or u.startswith("data:"))]
    assert outside == [], outside

    # the review queue: the flag with its evidence, resolved by the reviewer
    page.goto(base + "/review")
    page.get_by_label("API key").fill(secrets["reviewer"])
    page.get_by_label("API key").dispatch_event("change")
    page.wait_for_selector("body[data-queue-state='ready'] .review-card")
    card = page.locator(".review-card", has_text=NOTE).first
    assert QUESTION in card.inner_text() and card.get_attribute("data-status") == "open"
    assert card.locator("blockquote").count() >= 1  # the citations it rests on
    card.get_by_text("The evidence it was given").click()
    assert card.locator(".passage").first.inner_text().strip()
    card.get_by_label("Resolution note (what was done)").fill("Pharmacy added the age warning to the label set.")
    card.get_by_role("button", name="Resolve").click()
    page.wait_for_selector("body[data-queue-state='resolved']")
    resolved = page.locator(".review-card", has_text=NOTE).first
    assert resolved.get_attribute("data-status") == "resolved" and "confirmed" in resolved.inner_text()
    screenshot(page, "review-queue.png")


def test_review_pages_have_no_serious_accessibility_violations(browser: Any, site: tuple[str, dict[str, str]]
                                                                ) -> None:
    base, secrets = site
    context = browser.new_context(bypass_csp=True)  # the pages' CSP forbids injected scripts such as axe
    page = context.new_page()
    try:
        page.goto(base + "/review")
        assert "default-src 'self'" in (page.request.get(base + "/review").headers.get("content-security-policy")
                                        or "")
        page.get_by_label("API key").fill(secrets["reviewer"])
        page.get_by_label("API key").dispatch_event("change")
        page.wait_for_selector("body[data-queue-state='ready']")
        page.locator(".review-card details").first.evaluate("d => d.open = true") if page.locator(
            ".review-card").count() else None
        queue = axe_serious(page)
        page.goto(base + "/")
        _ask(page, secrets["reviewer"])
        page.locator("#review-box").wait_for(state="visible")
        answer_page = _axe_on(page, ["#review-box", "#review-notes", "#review-link"])  # what this feature adds
    finally:
        context.close()
    assert queue == [] and answer_page == [], (queue, answer_page)

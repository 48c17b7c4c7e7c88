"""The clinician page in a real browser: Debian's Chromium driven by Playwright, against the app on loopback.

Screenshots go to ``artifacts/screenshots/`` (CI keeps them).  Timings and page weight are printed, not
asserted (benchmarks, not timing tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from testkit.browser_support import axe_serious, screenshot, watched_page
from testkit.http_server import serving

from .conftest import StarterApp

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def site(starter_app: StarterApp) -> Iterator[str]:
    with starter_app(dev_mode=True) as app, serving(app) as base:
        yield base


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    with watched_page(browser) as page:
        yield page


def _local_only(page: Any, site: str) -> None:
    outside = [u for u in page.requests if not (u.startswith(site) or u.startswith("data:"))]
    assert outside == [], outside


def test_ask_shows_a_cited_answer_and_highlights_on_click(page: Any, site: str) -> None:
    page.goto(site + "/")
    weight = page.evaluate("performance.getEntriesByType('resource').reduce((s, r) => s + r.transferSize, 0)"
                           " + performance.getEntriesByType('navigation')[0].transferSize")
    assert page.get_by_role("note").inner_text().startswith("Clinical decision support only")
    page.get_by_label("Question (Chinese or English)").fill("What are the contraindications of warfarin?")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-answer-state='answered']", timeout=120_000)
    metrics = page.evaluate("window.__medevidence")
    cites = page.locator("#answer .cite")
    assert cites.count() >= 1
    n = cites.first.get_attribute("data-n")
    cites.first.click()
    card = page.locator(f"#ev-{n}")
    assert "active" in (card.get_attribute("class") or "")
    mark = card.locator("mark")
    assert mark.count() == 1 and len(mark.inner_text()) > 10
    assert page.locator("#trace a").get_attribute("href").startswith("/v1/answers/")
    assert "contraindicated" in page.locator("#answer").inner_text().lower()
    screenshot(page, "cited-answer.png")
    _local_only(page, site)
    print(json.dumps({"page_weight_bytes": weight, "first_evidence_ms": round(metrics["firstEvidenceMs"]),
                      "first_delta_ms": round(metrics["firstDeltaMs"]), "done_ms": round(metrics["doneMs"])}))
    assert weight <= 250_000


def test_abstention_is_shown_plainly(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.get_by_label("Question (Chinese or English)").fill("How far is the Andromeda galaxy?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector("body[data-answer-state='abstained']", timeout=120_000)
    assert "no answer" in page.locator("#status").inner_text()
    assert "does not answer" in page.locator("#answer").inner_text()


def test_scoped_abstention_names_the_drug_and_its_case(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.get_by_label("Question (Chinese or English)").fill("Is cetirizine safe in pregnancy?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector("body[data-answer-state='abstained']", timeout=120_000)
    status = page.locator("#status").inner_text()
    assert "about Cetirizine" in status and "no label of this drug is indexed" in status
    assert "has no label for cetirizine" in page.locator("#answer").inner_text()
    assert page.locator("#related li").count() >= 1  # what the knowledge holds, apart and uncited
    screenshot(page, "scoped-abstention.png")


def test_interaction_checker_with_chinese_and_english_names(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.get_by_role("tab", name="Drugs").click()
    page.get_by_label("Interaction check").fill("华法林\nAspirin\nsimvastatin\nclarithromycin")
    page.get_by_role("button", name="Check interactions").click()
    page.wait_for_selector("#interaction-table")
    rows = page.locator("#interaction-table tbody tr")
    assert rows.count() == 6
    first = rows.first
    assert "sev-high" in (first.get_attribute("class") or "")
    assert "Simvastatin + Clarithromycin" in first.inner_text()
    warfarin = page.locator("#interaction-table tr", has_text="Warfarin + Acetylsalicylic acid")
    warfarin.locator("summary").click()
    assert "bleeding" in warfarin.locator("blockquote").first.inner_text().lower() or warfarin.locator(
        "blockquote").count() > 1
    assert "华法林 → Warfarin" in page.locator("#drug-status").inner_text()
    screenshot(page, "interaction-table.png")
    _local_only(page, site)


def test_keyboard_tabs_and_accessibility(browser: Any, site: str) -> None:
    context = browser.new_context(bypass_csp=True)  # the page's CSP forbids injected scripts such as axe
    page = context.new_page()
    page.goto(site + "/")
    assert "default-src 'self'" in (page.request.get(site + "/").headers.get("content-security-policy") or "")
    page.get_by_role("tab", name="Ask").focus()
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("tab", name="Drugs").get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowLeft")
    assert page.get_by_role("tab", name="Ask").get_attribute("aria-selected") == "true"
    serious = axe_serious(page)
    # With an answer and its evidence shown: the scrolling passages must be reachable by keyboard too.
    page.get_by_label("Question (Chinese or English)").fill("What are the contraindications of warfarin?")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-answer-state='answered']", timeout=120_000)
    answered = axe_serious(page)
    context.close()
    assert serious == [], serious
    assert answered == [], answered

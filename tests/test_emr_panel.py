"""The EMR side panel in a real browser (Debian's Chromium driven by Playwright), in demo mode, 360 px wide; and
launched from the loopback test EHR (``testkit.smart_auth_server``) by a user the hospital lets review.

The demo patient is synthetic (``app/emr/demo_bundle.json``).  Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.runtime import Runtime
from testkit.browser_support import axe_serious, screenshot, watched_page
from testkit.fhir_server import FhirData
from testkit.http_server import serving
from testkit.smart_auth_server import AuthServer, auth_app

from .conftest import StarterApp

pytestmark = [pytest.mark.slow, pytest.mark.browser]
QUESTION_LABEL = "Question (the current medications are added as context)"


@pytest.fixture(scope="module")
def site(starter_app: StarterApp) -> Iterator[str]:
    with starter_app(emr_demo=True, dev_mode=False) as app, serving(app) as base:
        yield base


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with watched_page(browser, width=360, height=900) as page:
        yield page


def _open_demo(page: Any, site: str) -> None:
    page.goto(site + "/emr/demo")
    page.wait_for_selector("body[data-panel-state='ready']", timeout=120_000)


def _clean(page: Any, site: str) -> None:
    """Every request stayed on this server, and nothing (a CSP violation included) was reported as an error."""
    outside = [u for u in page.requests if not (u.startswith(site) or u.startswith("data:"))]
    assert outside == [], outside
    assert page.errors == [], page.errors


def _quote_is_verbatim(rt: Runtime, item: Any) -> bool:
    doc = rt.manifest.document(item.get_attribute("data-doc-id"))
    start, end = int(item.get_attribute("data-start")), int(item.get_attribute("data-end"))
    quote = item.locator("blockquote").text_content()
    return doc is not None and doc.version == item.get_attribute("data-version") and bool(quote) \
        and doc.text[start:end] == quote


def test_demo_panel_lists_medications_and_cited_alerts(page: Any, site: str, starter_runtime: Runtime) -> None:
    _open_demo(page, site)
    assert "#session" not in page.url and page.url.endswith("/emr/panel")  # the id left the URL...
    assert page.evaluate("sessionStorage.getItem('medevidence.panel.session')")  # ...for this tab's storage
    assert "Demo patient (synthetic)" in page.get_by_role("region", name="Patient").inner_text()

    meds = page.locator("#medications > li")
    assert meds.count() == 5  # the completed amoxicillin order is not current
    zocor = page.locator("#medications > li", has_text="Zocor 40 MG Oral Tablet")
    assert "Simvastatin" in zocor.inner_text()
    herbal = page.locator("#medications > li", has_text="Moonvale")
    assert "not recognised" in herbal.inner_text() and "not checked" in herbal.inner_text()
    unresolved = page.locator("#unresolved-section")
    assert unresolved.is_visible()
    assert "not checked" in unresolved.inner_text() and "Moonvale" in unresolved.inner_text()

    alerts = page.locator("#alerts > li")
    assert alerts.count() >= 2
    first = alerts.first
    assert first.get_attribute("data-indicator") == "critical"
    assert first.locator(".indicator").inner_text().lower() == "critical"  # a text label, not colour alone
    assert "Simvastatin + Clarithromycin" in first.inner_text()
    indicators = [alerts.nth(i).get_attribute("data-indicator") for i in range(alerts.count())]
    assert "warning" in indicators
    assert indicators == sorted(indicators, key=["critical", "warning", "info"].index)

    first.locator("summary").click()
    quoted = first.locator("ol.evidence > li[data-doc-id]")
    assert quoted.count() >= 2 and quoted.first.locator("blockquote").is_visible()
    assert all(_quote_is_verbatim(starter_runtime, quoted.nth(i)) for i in range(quoted.count()))
    meta = quoted.first.locator(".cite-meta").inner_text()
    assert "chars " in meta and "version " in meta

    warning = page.locator("#alerts > li[data-indicator='warning']").first
    warning.locator("summary").focus()
    page.keyboard.press("Enter")  # keyboard operable
    assert warning.locator("details").get_attribute("open") is not None
    assert _quote_is_verbatim(starter_runtime, warning.locator("ol.evidence > li[data-doc-id]").first)
    screenshot(page, "emr-panel.png")
    _clean(page, site)


def test_demo_panel_answers_in_context(page: Any, site: str, starter_runtime: Runtime) -> None:
    _open_demo(page, site)
    page.get_by_label(QUESTION_LABEL).fill("Can simvastatin be taken together with clarithromycin?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector("body[data-answer-state='answered'], body[data-answer-state='abstained']",
                           timeout=180_000)
    state = page.evaluate("document.body.dataset.answerState")
    answer = page.locator("#answer")
    if state == "abstained":
        assert "Not enough evidence" in answer.inner_text()
    else:
        cites = answer.locator("button.cite")
        assert cites.count() >= 1
        items = page.locator("#citations > li")
        assert items.count() >= 1
        assert all(_quote_is_verbatim(starter_runtime, items.nth(i)) for i in range(items.count()))
        n = cites.first.get_attribute("data-n")
        cites.first.click()
        assert "active" in (page.locator(f"#answer-cite-{n}").get_attribute("class") or "")
    screenshot(page, "emr-panel-answer.png")
    _clean(page, site)


def test_panel_without_a_session_says_so(page: Any, site: str) -> None:
    page.goto(site + "/emr/panel")
    page.wait_for_selector("body[data-panel-state='no-session']")
    assert "open this panel from the EHR" in page.locator("#status").inner_text()
    page.evaluate("sessionStorage.setItem('medevidence.panel.session', 'forged-session-id-0000000000')")
    page.reload()
    page.wait_for_selector("body[data-panel-state='no-session']")
    assert "session has ended" in page.locator("#status").inner_text()


def test_panel_accessibility_and_csp(browser: Any, site: str) -> None:
    context = browser.new_context(bypass_csp=True, viewport={"width": 360, "height": 900})  # axe is injected
    page = context.new_page()
    _open_demo(page, site)
    csp = page.request.get(site + "/emr/panel").headers.get("content-security-policy") or ""
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    page.locator("#alerts > li").first.locator("summary").click()
    serious = axe_serious(page)
    context.close()
    assert serious == [], serious


def test_a_launched_reviewer_reviews_from_the_panel(page: Any, starter_app: StarterApp) -> None:
    """A SMART launch whose id_token names a fhirUser in MEDEVIDENCE_EMR_REVIEWERS: the review controls show, and a
    verdict submitted there is stored under that EHR user."""
    patient = "pt-4d21"
    resources = [{"resourceType": "Patient", "id": patient},  # synthetic
                 *({"resourceType": "MedicationRequest", "id": f"mr-{n}", "status": "active", "intent": "order",
                    "subject": {"reference": f"Patient/{patient}"}, "medicationCodeableConcept": {"text": text}}
                   for n, text in enumerate(["simvastatin 40 MG Oral Tablet", "clarithromycin 500 MG Oral Tablet"]))]
    auth = AuthServer(FhirData(resources, token="at-" + "7e1b" * 8), "medevidence-test", {"launch-1": patient},
                      user={"sub": "u-9", "fhirUser": "Practitioner/dr-panel", "name": "Dr Pia Panel"})
    with serving(auth_app(auth)) as auth_base:
        auth.base = auth_base
        with starter_app(smart_issuers=[auth.iss], smart_client_id="medevidence-test", dev_mode=False,
                         emr_reviewers=["Practitioner/dr-panel"]) as app, serving(app) as base:
            auth.redirect_uri = f"{base}/emr/callback"
            page.goto(f"{base}/emr/launch?iss={auth.iss}&launch=launch-1")
            page.wait_for_selector("body[data-panel-state='ready']", timeout=120_000)
            assert page.evaluate("document.body.dataset.canReview") == "true"
            page.get_by_label(QUESTION_LABEL).fill("Can simvastatin be taken together with clarithromycin?")
            page.get_by_role("button", name="Ask").click()
            page.wait_for_selector("body[data-answer-state='answered'], body[data-answer-state='abstained']",
                                   timeout=180_000)
            box = page.locator("#review-box")
            assert box.is_visible() and "Review this answer" in box.inner_text()
            box.get_by_label("correct", exact=True).check()
            box.get_by_role("button", name="Submit review").click()
            page.wait_for_selector("body[data-review-state='saved']", timeout=60_000)
            assert "Review recorded: correct" in box.inner_text()
            found, total = app.state.reviews.listing(reviewer=f"emr:{auth.iss}#Practitioner/dr-panel")
            assert total == 1 and found[0]["reviewer_name"] == "Dr Pia Panel"
    assert page.errors == [], page.errors

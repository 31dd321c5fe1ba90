"""The website as a citizen uses it: the sample page with the rasa-webchat widget (from
npm), in Debian's headless Chromium driven by Playwright, against the running assistant
over socketio. Screenshots go to results/e2e/ (QA artifacts)."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ops import web
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "results" / "e2e"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def page_url(stack):
    if not web.WIDGET.exists():
        pytest.fail("rasa-webchat is not installed in web/node_modules: run make install")
    port = free_port()
    server = web.serve(port, stack.url)
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def bot_texts(page) -> list[str]:
    """The texts of the bot's bubbles shown in the widget."""
    return page.locator(".rw-response").all_inner_texts()


def test_webchat_welcome_buttons_flow_and_reload(browser, page_url):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(page_url)
    page.locator(".rw-launcher").wait_for(timeout=30_000)
    page.wait_for_timeout(1_000)
    # Privacy: a visitor who does not open the chat leaves nothing in the browser.
    stored = "() => Object.keys(localStorage).length + Object.keys(sessionStorage).length"
    assert page.evaluate(stored) == 0
    page.locator(".rw-launcher").click()
    field = page.locator(".rw-new-message")
    field.wait_for(timeout=30_000)
    field.fill("Bonjour")
    field.press("Enter")
    page.get_by_text("Bonjour et bienvenue", exact=False).first.wait_for(timeout=60_000)
    replies = page.locator(".rw-reply")
    replies.first.wait_for(timeout=30_000)
    titles = replies.all_inner_texts()
    assert "Horaires d'ouverture" in titles and "Rendez-vous CNI / passeport" in titles, titles
    page.wait_for_timeout(600)  # let the widget's opening animation end
    page.screenshot(path=str(ARTIFACTS / "webchat-welcome.png"))

    page.locator(".rw-reply", has_text="Horaires d'ouverture").first.click()
    page.locator(".rw-response", has_text="horaires d'ouverture").first.wait_for(timeout=60_000)
    before = bot_texts(page)
    assert any("Accueil de la mairie" in text for text in before), before
    page.screenshot(path=str(ARTIFACTS / "webchat-hours.png"))

    page.reload()
    # The widget restores its open state from storage once rendered: only open it if it
    # stays closed (clicking the launcher of an open widget would close it).
    page.locator(".rw-launcher").wait_for(timeout=30_000)
    try:
        page.locator(".rw-new-message").wait_for(timeout=5_000)
    except PlaywrightTimeout:
        page.locator(".rw-launcher").click()
    page.locator(".rw-response", has_text="horaires d'ouverture").first.wait_for(timeout=60_000)
    after = bot_texts(page)
    assert any("Bonjour et bienvenue" in text for text in after), (
        after
    )  # the conversation survived the reload
    page.wait_for_timeout(600)
    page.screenshot(path=str(ARTIFACTS / "webchat-after-reload.png"))
    # The conversation lives in the tab's session storage only (gone with the browser).
    assert page.evaluate("() => Object.keys(localStorage).length") == 0
    context.close()

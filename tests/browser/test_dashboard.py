"""The statistics pages of the agent console in Debian's headless Chromium: a « statistiques »
account signs in with the keyboard, the dashboard shows the figures of the seeded conversations
(tests/unit/analytics_seed.py) with its charts drawn by the bundled Chart.js, the period changes
from the keyboard, the unanswered questions are copied as NLU YAML; axe-core finds no violation
on either page. Screenshots under results/qa/. The console runs in a thread over SQLite."""

from __future__ import annotations

from datetime import timezone

import pytest

from booking.seed import prepare_database
from core.db import session_scope
from handoff.console import Console
from handoff.rasa_api import RasaApi
from staff import auth
from tests.browser import support
from tests.browser.support import DESKTOP, assert_no_axe_violation_under_csp, new_page, screenshot
from tests.conftest import ROOT
from tests.unit.analytics_seed import DAY1, DAY2, NOW, create_store, seed

browser = support.browser  # the shared headless-Chromium fixture

BUNDLE = ROOT / "web" / "dist" / "dashboard.js"
PASSWORD = "statistiques-2026!"
UTC_NOW = NOW.astimezone(timezone.utc).replace(tzinfo=None)
RANGE = f"debut={DAY1.isoformat()}&fin={DAY2.isoformat()}"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    assert BUNDLE.exists(), "web/dist/dashboard.js is missing: run `make install` (cd web && node build.mjs)"
    folder = tmp_path_factory.mktemp("dashboard")
    db_url = f"sqlite:///{folder / 'gru.db'}"
    prepare_database(db_url)
    store = create_store(folder / "rasa.db")
    seed(store)
    with session_scope(db_url, write=True) as s:
        auth.create_agent(s, login="claire", display_name="Claire (statistiques)", password=PASSWORD,
                          role="statistiques", services=[], now=UTC_NOW)  # fmt: skip
    patch = pytest.MonkeyPatch()
    patch.setenv("GRU_TRACKER_STORE_URL", store)
    server = support.ConsoleServer(
        lambda: Console(RasaApi("http://127.0.0.1:9", "t"), db_url=db_url, now=lambda: UTC_NOW)
    ).start()
    yield server
    server.stop()
    patch.undo()


def sign_in_with_the_keyboard(page, base: str) -> None:
    page.goto(f"{base}/connexion")
    page.locator("#login").focus()
    page.keyboard.type("claire")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_dashboard_shows_the_seeded_figures_with_charts_and_no_axe_violation(browser, console):
    context, page = new_page(browser, DESKTOP)
    errors, missing = [], []  # a script or a style refused by the Content-Security-Policy shows here
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on(
        "response", lambda r: missing.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )
    sign_in_with_the_keyboard(page, console.base)
    assert page.url.endswith("/statistiques")
    page.goto(f"{console.base}/statistiques?{RANGE}")
    page.wait_for_selector('body[data-graphiques="prets"]', timeout=30000)
    drawn = page.locator('canvas[data-dessine="oui"]')
    assert drawn.count() >= 8
    # a chart is drawn: its pixels are not all blank
    painted = page.evaluate(
        """() => { const c = document.getElementById('graphique-conversations');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }"""
    )
    assert painted > 1000
    assert page.locator('[data-indicateur="conversations"]').inner_text() == "8"
    first_day = page.locator("#tableau-conversations tbody tr").first
    assert (
        first_day.locator("th").inner_text() == "30/11/2026"
        and first_day.locator("td").first.inner_text() == "4"
    )
    assert page.locator("#tableau-satisfaction tbody tr").first.inner_text().split("\t")[:4] == [
        "Questions de la vie quotidienne", "2", "1", "1"]  # fmt: skip
    assert_no_axe_violation_under_csp(page, "tableau de bord des statistiques")
    screenshot(page, "dashboard")
    page.screenshot(path=str(support.ARTIFACTS / "dashboard-full.png"), full_page=True)

    # The period, from the keyboard: the same page for one day.
    page.locator("#debut").fill("2026-12-01")  # the date picker's order follows the OS locale
    with page.expect_navigation():
        page.locator("#debut").press("Enter")
    assert "debut=2026-12-01" in page.url
    page.wait_for_selector('body[data-graphiques="prets"]', timeout=30000)
    assert page.locator('[data-indicateur="conversations"]').inner_text() == "4"
    assert [e for e in errors if not e.startswith("Failed to load resource")] == [] and missing == []
    context.close()


def test_unanswered_questions_are_masked_grouped_and_copied_as_yaml(browser, console):
    context, page = new_page(browser, DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.base)
    sign_in_with_the_keyboard(page, console.base)
    page.goto(f"{console.base}/statistiques/questions?{RANGE}")
    text = page.locator("main").inner_text()
    assert "je m'appelle [nom], où est la piscine ?" in text and "Jeanne" not in text
    assert "[téléphone]" in text and "06 12" not in text
    assert_no_axe_violation_under_csp(page, "questions sans réponse")
    field = page.locator("#intention-1")
    field.fill("faq/etat_civil_acte_naissance")
    field.press("Enter")  # the form's submit, from the keyboard
    page.wait_for_function("() => document.getElementById('yaml-1').value.includes('intent: faq/')")
    yaml_text = page.locator("#yaml-1").input_value()
    assert (
        yaml_text.startswith('version: "3.1"\nnlu:\n')
        and "\n  - intent: faq/etat_civil_acte_naissance\n" in yaml_text
    )
    assert "Phrases copiées" in page.locator("#etat-1").inner_text()
    assert page.evaluate("() => navigator.clipboard.readText()") == yaml_text
    screenshot(page, "dashboard-questions")
    context.close()

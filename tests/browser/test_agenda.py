"""The agents' agenda (handoff/agenda.py) in Debian's headless Chromium: an agent signs in to the
console, opens the agenda from it, reads the day, marks a citizen present with the keyboard,
prints the day (screen and PDF under results/qa/), looks at the week, and meets the closure's
refusal. axe-core must find no violation on any page. The console runs in a thread over a seeded
SQLite database, on a fixed clock (a Tuesday at 10:15)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from booking import engine
from booking.config import load_booking_config
from booking.seed import migrate, seed
from core.db import session_scope
from handoff.console import Console
from handoff.rasa_api import RasaApi
from staff import auth
from tests.browser import support
from tests.browser.support import ARTIFACTS, DESKTOP, assert_no_axe_violation, new_page, screenshot

browser = support.browser  # the shared headless-Chromium fixture

DAY = date(2027, 3, 2)  # a Tuesday
NOW_UTC = datetime(2027, 3, 2, 9, 15)  # 10:15 in Paris
PASSWORD = "correct horse battery"
SITE = "villebrune-mairie"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db_url = f"sqlite:///{tmp_path_factory.mktemp('agenda') / 'booking.db'}"
    migrate(db_url)
    seed(load_booking_config(), db_url)
    booked_at = datetime(2027, 3, 1, 8, 0)
    for at, surname, reason, channel, check in (
        (time(9, 0), "Dupont", "CNI", "socketio", False),
        (time(9, 30), "Lefèvre", "CNI-PASSPORT", "facebook", True),
        (time(14, 0), "Nguyen", "PASSPORT", "pages", False),
    ):
        slot = engine.Slot(SITE, datetime.combine(DAY, at), engine.duration_for(reason, 1))
        engine.book(slot, reason=reason, people=1, surname=surname, channel=channel, sender_id=surname,
                    needs_agent_check=check, now=booked_at, url=db_url)  # fmt: skip
    with session_scope(db_url, write=True) as s:
        auth.create_agent(s, login="jeanne", display_name="Jeanne Martin", password=PASSWORD, role="agent",
                          services=["etat_civil"], now=NOW_UTC)  # fmt: skip
    running = support.ConsoleServer(
        lambda: Console(RasaApi("http://127.0.0.1:9", "unused"), db_url=db_url, now=lambda: NOW_UTC)
    ).start()
    yield running
    running.stop()


def test_sign_in_read_mark_print_and_close_with_no_axe_violation(browser, server):
    # bypass_csp: axe-core is injected as an inline script, which the console's CSP forbids.
    context, page = new_page(browser, viewport=DESKTOP, bypass_csp=True)
    try:
        page.goto(f"{server.base}/agenda/jour")  # not signed in: the sign-in page
        assert page.url.endswith("/connexion")
        page.get_by_label("Identifiant").fill("jeanne")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.base}/")
        page.get_by_role("link", name="Agenda des rendez-vous").click()

        page.wait_for_url("**/agenda/jour")
        assert page.locator("h1").inner_text() == "Mairie de Villebrune — mardi 2 mars 2027"
        table = page.get_by_role("table", name="Rendez-vous du mardi 2 mars 2027 — Mairie de Villebrune")
        assert table.locator("tbody tr").count() == 3
        summary = "3 rendez-vous · 0 présent · 0 absent · 3 non pointés · 1 à vérifier"
        assert summary in page.inner_text("main")
        assert_no_axe_violation(page, "agenda, the day")
        screenshot(page, "agenda-day-1280")

        # Keyboard only: Tab to « Présent » of Dupont's row, then Enter.
        button = page.get_by_role("button", name="Présent : Dupont, 09:00")
        for _ in range(80):
            page.keyboard.press("Tab")
            if button.evaluate("b => b === document.activeElement"):
                break
        else:
            raise AssertionError("« Présent » of Dupont is not reachable with the keyboard")
        page.keyboard.press("Enter")
        page.locator(".notice[role=status]").wait_for()
        assert page.locator(".notice").inner_text().endswith(": présent.")
        assert "1 présent" in page.inner_text("main")
        assert page.get_by_role("button", name="Annuler le pointage : Dupont, 09:00").is_visible()
        assert_no_axe_violation(page, "agenda, after marking present")
        screenshot(page, "agenda-marked-1280")

        # The day on paper: the print media hides navigation and forms, even on the screen page.
        page.emulate_media(media="print")
        assert page.locator("header").is_hidden() and page.locator("form").first.is_hidden()
        page.emulate_media(media="screen")
        page.get_by_role("link", name="Version à imprimer").click()
        assert page.locator("form").count() == 0 and page.locator("nav").count() == 0
        assert_no_axe_violation(page, "agenda, the print page")
        page.emulate_media(media="print")
        screenshot(page, "agenda-print")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.pdf(path=str(ARTIFACTS / "agenda-print.pdf"), format="A4", print_background=False)
        page.emulate_media(media="screen")

        page.go_back()
        page.get_by_role("link", name="Semaine", exact=True).first.click()
        assert page.locator("section.day").count() == 7
        assert_no_axe_violation(page, "agenda, the week")
        screenshot(page, "agenda-week-1280")

        page.get_by_role("link", name="Ouvrir des créneaux").first.click()
        assert_no_axe_violation(page, "agenda, extra openings")

        page.goto(f"{server.base}/agenda/fermer?site={SITE}&date=2027-03-02")
        page.get_by_label("Motif").fill("panne du dispositif")
        page.get_by_role("button", name="Fermer la journée").click()
        assert "Fermeture refusée" in page.inner_text("main")
        assert page.get_by_role("button", name="Fermer quand même").is_visible()
        assert_no_axe_violation(page, "agenda, closure refused")
        screenshot(page, "agenda-close-refused-1280")
    finally:
        context.close()

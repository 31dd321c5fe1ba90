"""The appointment pages (portal/) in Debian's headless Chromium, on a phone-sized screen: a citizen
follows the hub's callback URL, confirms with a pre-application number (checked by a local server
speaking the ANTS API), opens the signed manage link, looks at the move page and cancels. axe-core
must find no violation on any page. The pages run in a thread over a seeded SQLite database."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from aiohttp import web

from booking import engine, hub
from booking.ants import AntsSettings
from booking.config import load_booking_config
from booking.seed import migrate, seed
from portal import app as portal
from tests.browser import support
from tests.browser.support import MOBILES, assert_no_axe_violation, new_page, screenshot
from tests.conftest import free_port
from tests.unit.test_ants import TOKEN, VALIDATED, FakeAnts

browser = support.browser  # the shared headless-Chromium fixture


class Servers:
    """The pages and the ANTS fake on one event loop in a background thread."""

    def __init__(self, db_url: str):
        self.db_url, self.fake = db_url, FakeAnts()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.runners: list[web.AppRunner] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def _serve(self, app: web.Application, port: int = 0) -> str:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    async def _start(self) -> None:
        ants = web.Application()
        ants.router.add_get("/api/status", self.fake.status)
        ants.router.add_post("/api/appointments", self.fake.appointments)
        ants.router.add_delete("/api/appointments", self.fake.appointments)
        self.fake.base_url = await self._serve(ants) + "/api"
        settings = AntsSettings(base_url=self.fake.base_url, token=TOKEN, timeout_s=3)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"  # the signed link on the page opens this server
        await self._serve(portal.create_app(self.db_url, public_url=self.base, ants=settings), port)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> Servers:
        self.thread.start()
        assert self.ready.wait(20)
        return self

    def stop(self) -> None:
        async def cleanup():
            for runner in self.runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    db_url = f"sqlite:///{tmp_path_factory.mktemp('portal') / 'booking.db'}"
    migrate(db_url)
    seed(load_booking_config(), db_url)
    running = Servers(db_url).start()
    yield running
    running.stop()


def first_free_slot(db_url: str) -> engine.Slot:
    config = load_booking_config()
    today = engine.local_now().date()
    slots = engine.available_slots(
        [config.sites[0].id], today + timedelta(days=2), today + timedelta(days=30), 15, limit=1, url=db_url
    )
    return slots[0]


def test_callback_confirm_manage_move_cancel_with_no_axe_violation(browser, servers):
    slot = first_free_slot(servers.db_url)
    # bypass_csp: axe-core is injected as an inline script, which the pages' CSP forbids.
    context, page = new_page(browser, viewport=MOBILES["390x844"], bypass_csp=True)
    try:
        page.goto(hub.callback_url(servers.base, slot.site_id, slot.start))
        assert page.title().startswith("Confirmer votre rendez-vous")
        assert_no_axe_violation(page, "pages, confirming the callback slot")

        # A first try without a name: the summary lists what to correct, nothing is lost.
        page.get_by_label("Carte d'identité", exact=True).check()
        page.get_by_label("Numéros de pré-demande").fill(VALIDATED)
        page.get_by_role("button", name="Confirmer le rendez-vous").click()
        page.locator(".alert[role=alert]").wait_for()  # the answer to the POST is loaded
        assert page.get_by_label("Numéros de pré-demande").input_value() == VALIDATED
        assert_no_axe_violation(page, "pages, the form with an error")

        # Then with the keyboard only: the name, then Enter submits the form.
        page.get_by_label("Nom de famille").focus()
        page.keyboard.type("Lefèvre")
        page.keyboard.press("Enter")
        page.wait_for_url("**/rendez-vous/RDV-*")
        assert "C'est réservé" in page.locator("main").inner_text()
        reference = page.url.split("/rendez-vous/")[1].split("?")[0]
        assert_no_axe_violation(page, "pages, the confirmation")
        screenshot(page, "portal-confirmation-390x844")
        assert [r["method"] for r in servers.fake.requests] == ["GET", "POST"]

        # The signed manage link, opened as from an e-mail: no reference or surname to type.
        link = page.locator(".link a").get_attribute("href")
        page.goto(link)
        assert reference in page.locator("h1").inner_text()
        page.get_by_role("link", name="Déplacer le rendez-vous").click()
        assert page.locator("fieldset.day").count() == portal.DAYS_SHOWN
        assert_no_axe_violation(page, "pages, the free slots to move to")
        screenshot(page, "portal-move-390x844")
        page.get_by_role("link", name="Garder le rendez-vous actuel").click()

        page.get_by_role("link", name="Annuler le rendez-vous").click()
        assert_no_axe_violation(page, "pages, confirming the cancellation")
        page.get_by_role("button", name="Oui, annuler le rendez-vous").click()
        assert page.locator("h1").inner_text() == "Rendez-vous annulé"
        assert_no_axe_violation(page, "pages, cancelled")
        assert [r["method"] for r in servers.fake.requests] == ["GET", "POST", "DELETE"]

        page.goto(f"{servers.base}/rendez-vous/nouveau")
        assert_no_axe_violation(page, "pages, booking from scratch")
        page.get_by_role("button", name="Voir les créneaux libres").click()
        assert page.locator("input[name=start]").count() > 0
        assert_no_axe_violation(page, "pages, free slots from scratch")
        page.goto(f"{servers.base}{hub.management_path(reference)}")
        assert_no_axe_violation(page, "pages, reference and surname")
    finally:
        context.close()

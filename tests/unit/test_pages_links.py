"""The appointment pages' links in the `make run` shape: no GRU_PUBLIC_URL, no proxy, the pages on
their own port (GRU_PAGES_PORT) and Rasa on 5005. A link the reminders or ANTS are given must open
a page (core.http.pages_url), and the links to Rasa's own routes keep Rasa's address."""

from __future__ import annotations

import html
from datetime import datetime, time

import aiohttp
import pytest
from aiohttp import web

from booking import engine, hub, links, reminders
from booking.config import load_booking_config
from core import http
from portal import app as portal
from tests.conftest import free_port
from tests.unit.conftest import next_open_day

pytestmark = pytest.mark.usefixtures("fixture_files")


def test_the_pages_base_with_the_make_run_defaults():
    assert http.pages_url({}) == "http://localhost:5200"
    assert http.pages_url({"GRU_PAGES_PORT": "5300"}) == "http://localhost:5300"
    assert http.public_url({}) == "http://localhost:5005"  # Rasa's: /webhooks/… live there
    # On a server the proxy of the public address routes /rendez-vous to the pages.
    env = {"GRU_PUBLIC_URL": "https://assistant.mairie.fr/", "GRU_PAGES_PORT": "5300"}
    assert http.pages_url(env) == "https://assistant.mairie.fr"


@pytest.fixture
def make_run_env(monkeypatch):
    port = free_port()
    monkeypatch.delenv("GRU_PUBLIC_URL", raising=False)
    monkeypatch.setenv("GRU_PAGES_PORT", str(port))
    return port


async def test_the_links_given_out_open_the_pages_under_make_run(make_run_env, db_url):
    start = datetime.combine(next_open_day(), time(10, 0))
    view = engine.book(
        engine.Slot("villebrune-mairie", start, engine.duration_for("CNI", 1)),
        reason="CNI",
        people=1,
        surname="Dupont",
        channel="rest",
        sender_id="test",
        url=db_url,
    )
    # The pages as `make run` starts them (python -m portal: 127.0.0.1, GRU_PAGES_PORT).
    runner = web.AppRunner(portal.create_app(db_url, config=load_booking_config()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", make_run_env).start()
    try:
        signed = links.manage_url(view.reference)  # what a reminder carries (booking/reminders.py)
        declared = hub.management_url(http.pages_url(), view.reference)  # what ANTS is given
        assert signed.startswith(f"http://localhost:{make_run_env}/rendez-vous/{view.reference}?t=")
        async with aiohttp.ClientSession() as session:
            for link in (signed, declared, hub.cancel_url(http.pages_url(), view.reference)):
                async with session.get(link) as response:
                    assert response.status == 200, link
                    assert view.reference in html.unescape(await response.text())
    finally:
        await runner.cleanup()
    # The reminders' « ne plus recevoir de rappel » is a Rasa route: Rasa's address.
    assert reminders.stop_url(view.reference, start).startswith(
        "http://localhost:5005/webhooks/reminders/stop?t="
    )

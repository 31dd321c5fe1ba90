"""The privacy notice: the page /confidentialite (ops/web.py) from territory/demo/privacy.yml and
its link in the welcome of every channel."""

from __future__ import annotations

import urllib.request

from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import ActionSessionStart
from ops import web
from tests.conftest import free_port
from tests.unit.responses import render
from tests.unit.test_booking_actions import message, tracker


def test_the_privacy_page_is_served_in_french_with_the_dpo():
    server = web.serve(free_port(), "http://localhost:5005")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/confidentialite"
        with urllib.request.urlopen(url, timeout=5) as answer:
            page = answer.read().decode("utf-8")
            assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    finally:
        server.shutdown()
    assert '<html lang="fr">' in page and "<h1>Données personnelles et assistant en ligne</h1>" in page
    assert "<h2>Délégué à la protection des données</h2>" in page
    assert 'href="mailto:dpo@villebrune.example"' in page and "1 place de la Mairie" in page
    assert "conservés 30 jours" in page and "90 jours après le rendez-vous" in page
    assert "{" not in page.split("<body>")[1]


async def test_the_welcome_links_to_the_privacy_notice():
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker(message("greet"), loop=None), {})
    values = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    text, _ = render({"response": "utter_welcome", **values})
    assert text.endswith("Vos données personnelles : http://localhost:8080/confidentialite")

"""A hand-off end to end in Debian's headless Chromium: a citizen on the demo page (ops/web.py)
with the chat widget, and an agent in the console (handoff/console.py), in two browser contexts,
against the running assistant (Rasa + action server, on the territory copy of
tests/integration/handoff_support.py whose services are open all day). The agent signs in; the
citizen asks for an agent; the agent sees the waiting conversation with its topic, takes it, reads the
transcript, sends a canned answer then a reply typed and sent with the keyboard only; the
citizen reads both in the widget; the agent closes with a reason; the citizen's next message
gets the bot's answer. axe-core finds no violation on the console page. Screenshots of each
step under results/qa/ (handoff-*.png)."""

from __future__ import annotations

import pytest

from handoff.console import CANNED_ANSWERS, Console
from handoff.rasa_api import RasaApi
from ops import web
from tests.browser import support
from tests.browser.support import (
    DESKTOP,
    assert_no_axe_violation_under_csp,
    new_page,
    screenshot,
    type_message,
    wait_replies,
)
from tests.integration.handoff_support import AGENT_LOGIN, PASSWORD, TOKEN, running_handoff_stack

browser = support.browser  # the shared headless-Chromium fixture

pytestmark = pytest.mark.integration

WAIT = 30_000  # ms: the console polls its queue every 3 s and the conversation every 2 s


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The assistant, the demo page with the widget on it, and the agent console."""
    if not web.WIDGET.exists():
        pytest.fail("the widget is not built (web/dist/widget.js): run make install")
    with running_handoff_stack(tmp_path_factory.mktemp("handoff-browser")) as stack:
        port = stack.page_port  # the origin Rasa allows
        pages = web.serve(port, stack.url)
        console = support.ConsoleServer(lambda: Console(RasaApi(stack.url, TOKEN), db_url=stack.db_url))
        console.start()
        try:
            yield {"page": f"http://127.0.0.1:{port}/", "console": console.base}
        finally:
            console.stop()
            pages.shutdown()


def citizen_sees(page, text: str) -> None:
    page.locator(".gru-bot", has_text=text).last.wait_for(timeout=WAIT)


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/connexion")
    page.locator("#login").fill(AGENT_LOGIN)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")


def test_a_webchat_citizen_is_handed_to_an_agent_in_the_console_and_back(browser, sites):
    citizen_context, citizen = new_page(browser, DESKTOP)
    agent_context, agent = new_page(browser, DESKTOP)
    errors: list[str] = []  # a script refused by the console's Content-Security-Policy shows here
    agent.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        # An agent is on duty (signed in: the assistant offers the live hand-off only then).
        sign_in(agent, sites["console"])
        assert agent.url == sites["console"] + "/"
        agent.locator("#etat-file", has_text="Aucune conversation en attente").wait_for(timeout=WAIT)

        # The citizen opens the widget, starts a booking, then asks for an agent.
        citizen.goto(sites["page"])
        citizen.locator(".gru-launcher").click()
        wait_replies(citizen, 0)
        citizen.wait_for_function("() => !document.querySelector('.gru-send').disabled", timeout=WAIT)
        type_message(citizen, "je veux prendre rendez-vous pour une carte d'identité")
        texts = type_message(citizen, "je voudrais parler à un agent")
        assert any("file d'attente" in text for text in texts), texts
        screenshot(citizen, "handoff-citizen-queued")

        # The agent sees the conversation waiting, with its topic.
        row = agent.locator("#file tbody tr", has_text="Rendez-vous CNI / passeport")
        row.wait_for(timeout=WAIT)
        assert row.locator("td").nth(2).inner_text() == "Site web" and "En attente" in row.inner_text()
        assert_no_axe_violation_under_csp(agent, "console, a conversation waiting")
        screenshot(agent, "handoff-console-queued")

        # The agent takes it and reads the transcript; the citizen is greeted by the agent.
        row.get_by_role("button", name="Prendre").click()
        transcript = agent.locator("#transcription")
        transcript.locator("li.usager", has_text="je voudrais parler à un agent").wait_for(timeout=WAIT)
        assert "je veux prendre rendez-vous pour une carte d'identité" in transcript.inner_text()
        assert "Rendez-vous CNI / passeport" in agent.locator("#contexte").inner_text()
        citizen_sees(citizen, "Bonjour, je suis Jeanne")
        assert_no_axe_violation_under_csp(agent, "console, a conversation taken")
        screenshot(agent, "handoff-console-taken")

        # A canned answer, then a reply typed and sent with the keyboard only.
        agent.locator("#modele").select_option(label=CANNED_ANSWERS[2])
        assert agent.evaluate("() => document.activeElement.id") == "texte"
        assert agent.locator("#texte").input_value() == CANNED_ANSWERS[2]
        agent.keyboard.press("Tab")  # to « Envoyer »
        assert agent.evaluate("() => document.activeElement.textContent") == "Envoyer"
        agent.keyboard.press("Enter")
        transcript.locator("li.agent", has_text=CANNED_ANSWERS[2]).wait_for(timeout=WAIT)
        citizen_sees(citizen, CANNED_ANSWERS[2])
        agent.locator("#texte").focus()
        agent.keyboard.type("Votre dossier est complet. Venez avec votre ancienne carte.")
        agent.keyboard.press("Tab")
        agent.keyboard.press("Enter")
        transcript.locator("li.agent", has_text="Votre dossier est complet.").wait_for(timeout=WAIT)
        assert agent.locator("#texte").input_value() == ""
        citizen_sees(citizen, "Votre dossier est complet. Venez avec votre ancienne carte.")
        screenshot(agent, "handoff-console-reply")
        screenshot(citizen, "handoff-citizen-reply")

        # The citizen writes while the agent holds the conversation: no bot answer, the agent reads it.
        before = support.bot_count(citizen)
        citizen.locator(".gru-input").fill("merci, je viendrai mardi")
        citizen.locator(".gru-input").press("Enter")
        transcript.locator("li.usager", has_text="merci, je viendrai mardi").wait_for(timeout=WAIT)
        assert support.bot_count(citizen) == before

        # The agent closes with a reason; the citizen is told, and the bot answers again.
        agent.locator("#motif").select_option("answered")
        agent.get_by_role("button", name="Clore la conversation").click()
        # The confirmation stays once the queue has been refreshed (it used to be wiped out at once).
        agent.wait_for_function(
            """() => { const t = document.getElementById('etat-file').textContent;
            return t.includes('Conversation close') && t.includes('Aucune conversation en attente'); }""",
            timeout=WAIT,
        )
        assert agent.locator("#conversation").is_hidden()
        citizen_sees(citizen, "L'assistant reprend la conversation")
        screenshot(agent, "handoff-console-closed")
        texts = type_message(citizen, "quels sont les horaires de la mairie ?")
        assert any("Accueil de la mairie" in text for text in texts), texts
        screenshot(citizen, "handoff-citizen-closed")
        assert [e for e in errors if not e.startswith("Failed to load resource")] == []  # the favicon
    finally:
        citizen_context.close()
        agent_context.close()

"""The widget alone, in Debian's headless Chromium, against a small local server that speaks
Rasa's socketio protocol (python-socketio: session_request / session_confirm / user_uttered /
bot_uttered) and the photo endpoint of the signalement flow (multipart `file`, header
X-Gru-Session, `{"upload_id"}` or `{"error"}`). It scripts the messages the assistant sends
— markdown with lists and links (safe and unsafe), raw HTML, quick replies, cards and
carousels, images, photo and location requests — so each rendering is checked exactly."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest
import socketio
from aiohttp import web as aioweb

from tests.browser import support
from tests.browser.support import (
    DESKTOP,
    MOBILES,
    assert_no_axe_violation,
    keyboard_to,
    new_page,
    screenshot,
    wait_replies,
)
from tests.conftest import ROOT, free_port

browser = support.browser  # the shared headless-Chromium fixture

BUNDLE = ROOT / "web" / "dist" / "widget.js"
UPLOAD_ID = "0123456789abcdef0123456789abcdef"
PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Page de test</title></head>
<body><main><h1>Commune de test</h1><p>Une page qui accueille le widget.</p></main>
<script>window.GRU_WIDGET = __CONFIG__;</script><script src="/widget.js"></script></body></html>"""

WELCOME = [
    {
        "text": "Bonjour et bienvenue.\nNous sommes ouverts :\n- lundi 8 h 30\n- mardi 9 h\n- mercredi 14 h\n"
        "Le **timbre fiscal** : [service-public.fr](https://www.service-public.fr/particuliers/vosdroits/F1427)."
        ' [Gagnez un prix](javascript:window.__xss=1) <img src=x onerror="window.__xss=2"><b>gras</b>',
        "quick_replies": [
            {"content_type": "text", "title": "Voir l'agenda", "payload": "/cards"},
            {"content_type": "text", "title": "Signaler un problème", "payload": "/photo"},
            {"content_type": "text", "title": "Ma position", "payload": "/location"},
        ],
    }
]
CARDS = [
    {"text": "Voici les prochains événements :"},
    {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "generic",
                "elements": [
                    {
                        "title": "Marché de Noël",
                        "subtitle": "Samedi 19 décembre, place de la Mairie",
                        "image_url": "/pixel.png",
                        "buttons": [
                            {
                                "type": "web_url",
                                "url": "https://openagenda.com/e/1",
                                "title": "Voir le détail",
                            },
                            {"type": "postback", "payload": "/events_more", "title": "D'autres dates"},
                        ],
                    },
                    {
                        "title": "Concert",
                        "subtitle": "Dimanche 20 décembre",
                        "buttons": [{"type": "web_url", "url": "javascript:alert(1)", "title": "Piège"}],
                    },
                ],
            },
        }
    },
    {"attachment": {"type": "image", "payload": {"src": "/pixel.png", "title": "Plan du marché"}}},
]
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


class FakeAssistant:
    """Rasa's socketio channel and the photo endpoint, scripted; records what it receives."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.uploads: list[dict] = []
        self.connections = 0  # socketio connections opened by the pages
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        self.app = aioweb.Application()
        self.sio.attach(self.app)
        self.config: dict = {}
        self.app.router.add_get("/", self.page)
        self.app.router.add_get("/widget.js", self.bundle)
        self.app.router.add_get("/pixel.png", self.pixel)
        self.app.router.add_post("/webhooks/uploads/photo", self.upload)
        self.sio.on("connect", self.connect)
        self.sio.on("session_request", self.session_request)
        self.sio.on("user_uttered", self.user_uttered)

    async def page(self, request):
        config = {"title": "Assistant de test", **self.config}  # socketUrl: the page's origin
        return aioweb.Response(text=PAGE.replace("__CONFIG__", json.dumps(config)), content_type="text/html")

    async def bundle(self, request):
        return aioweb.Response(body=BUNDLE.read_bytes(), content_type="text/javascript")

    async def pixel(self, request):
        return aioweb.Response(body=PIXEL, content_type="image/png")

    async def connect(self, sid, environ):
        self.connections += 1

    async def session_request(self, sid, data):
        session_id = (data or {}).get("session_id") or uuid.uuid4().hex
        await self.sio.enter_room(sid, session_id)
        await self.sio.emit("session_confirm", session_id, room=sid)

    async def user_uttered(self, sid, data):
        self.received.append(data)
        message = data.get("message")
        script = {"/greet": WELCOME, "/cards": CARDS}.get(message)
        if message == "/photo":
            script = [{"text": "Vous pouvez ajouter une photo."}, {"custom": {"type": "request_photo"}}]
        elif message == "/location":
            script = [{"text": "Où est-ce ?"}, {"custom": {"type": "request_location"}}]
        for reply in script or [{"text": "Bien reçu."}]:
            await self.sio.emit("bot_uttered", reply, room=data.get("session_id"))

    async def upload(self, request):
        form = await request.post()
        field = form.get("file")
        self.uploads.append(
            {"session": request.headers.get("X-Gru-Session"), "filename": getattr(field, "filename", None)}
        )
        if getattr(field, "filename", "") == "floue.png":
            return aioweb.json_response(
                {"error": "La photo est illisible. Essayez-en une autre."}, status=422
            )
        return aioweb.json_response({"upload_id": UPLOAD_ID})

    def messages(self) -> list[str]:
        return [item.get("message") for item in self.received]

    def wait_last_message(self, expected: str, timeout: float = 10) -> str:
        """The last message received once it is `expected`, or whatever it is after `timeout`:
        the widget draws the visitor's bubble before the socket message reaches the server."""
        deadline = time.monotonic() + timeout
        while self.messages()[-1] != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages()[-1]


@pytest.fixture(scope="module")
def assistant():
    if not BUNDLE.exists():
        pytest.fail("the widget is not built (web/dist/widget.js): run make install")
    fake = FakeAssistant()
    loop = asyncio.new_event_loop()
    port = free_port()
    runner = aioweb.AppRunner(fake.app, shutdown_timeout=1.0)  # the browser's sockets are closed

    async def start():
        await runner.setup()
        await aioweb.TCPSite(runner, "127.0.0.1", port).start()

    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    fake.url = f"http://127.0.0.1:{port}/"
    yield fake
    asyncio.run_coroutine_threadsafe(stop(fake, runner), loop).result(timeout=15)
    loop.call_soon_threadsafe(loop.stop)


async def stop(fake: FakeAssistant, runner) -> None:
    """Close the visitors' sockets and engineio's timers, then the server."""
    await fake.sio.shutdown()
    await runner.cleanup()
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def opened(browser, assistant, viewport=DESKTOP, **options):
    context, page = new_page(browser, viewport, **options)
    page.goto(assistant.url)
    page.locator(".gru-launcher").click()
    wait_replies(page, 0, timeout=15)
    return context, page


def test_nothing_connects_nor_is_stored_before_the_chat_is_opened(browser, assistant):
    """A visitor who never opens the chat leaves no trace; one who does leaves it in the tab
    only (session storage): the next person at a shared public computer starts afresh."""
    connections = assistant.connections
    context, page = new_page(browser, DESKTOP)
    page.goto(assistant.url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)  # a widget that connected at load would have done it by now
    assert assistant.connections == connections
    assert page.evaluate("() => [sessionStorage.length, localStorage.length, document.cookie]") == [0, 0, ""]
    page.locator(".gru-launcher").click()
    wait_replies(page, 0, timeout=15)
    assert assistant.connections == connections + 1
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('gru-widget')).sessionId")
    assert page.evaluate("() => localStorage.length") == 0
    next_visitor = context.new_page()  # another tab of the same browser: its own session storage
    next_visitor.goto(assistant.url)
    next_visitor.wait_for_load_state("networkidle")
    assert next_visitor.evaluate("() => [sessionStorage.length, localStorage.length]") == [0, 0]
    assert next_visitor.locator(".gru-bot").count() == 0
    assert assistant.connections == connections + 1
    context.close()


def test_markdown_is_rendered_safely_and_buttons_work_by_keyboard(browser, assistant):
    context, page = opened(browser, assistant)
    welcome = page.locator(".gru-bot").first
    hours = welcome.locator("ul:not(.gru-replies) > li").all_inner_texts()
    assert hours == ["lundi 8 h 30", "mardi 9 h", "mercredi 14 h"]
    assert welcome.locator("strong").inner_text() == "timbre fiscal"
    link = welcome.locator("a")
    assert link.count() == 1  # the javascript: link is refused, its words stay text
    assert link.get_attribute("href") == "https://www.service-public.fr/particuliers/vosdroits/F1427"
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener noreferrer"
    assert "nouvelle fenêtre" in link.inner_text()
    text = welcome.inner_text()
    assert "Gagnez un prix" in text and '<img src=x onerror="window.__xss=2"><b>gras</b>' in text
    assert welcome.locator("img, b, script").count() == 0  # raw HTML is never markup
    assert page.evaluate("() => window.__xss") is None
    assert page.evaluate("() => document.querySelector('.gru-root').lang") == "fr"
    assert_no_axe_violation(page, "test page, welcome with links and quick replies")

    keyboard_to(page, "Voir l'agenda")  # quick reply by keyboard: payload sent, title shown
    wait_replies(page, 1, timeout=15)
    assert assistant.messages()[-1] == "/cards"
    assert page.locator(".gru-user").last.inner_text().endswith("Voir l'agenda")
    assert page.locator(".gru-quick").count() == 0  # the answered question's buttons are gone
    context.close()


def test_cards_carousel_and_images(browser, assistant):
    context, page = opened(browser, assistant, MOBILES["360x640"])
    page.locator(".gru-quick button", has_text="Voir l'agenda").click()
    page.locator(".gru-card").first.wait_for(timeout=15_000)
    page.locator(".gru-bot img[alt='Plan du marché']").wait_for(timeout=15_000)
    cards = page.locator(".gru-card")
    assert cards.count() == 2
    assert page.locator(".gru-cards").get_attribute("aria-label") == "2 propositions"
    first = cards.first
    assert first.locator(".gru-card-title").inner_text() == "Marché de Noël"
    detail = first.locator("a.gru-btn")
    assert detail.get_attribute("href") == "https://openagenda.com/e/1"
    assert detail.get_attribute("rel") == "noopener noreferrer"
    assert first.locator("img").get_attribute("alt") == ""  # decorative: the title says it all
    assert cards.nth(1).locator("a, button").count() == 0  # the javascript: button is dropped
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert_no_axe_violation(page, "360x640, carousel of cards")
    screenshot(page, "test-page-cards-360x640")
    first.locator("button", has_text="D'autres dates").click()
    page.locator(".gru-user", has_text="D'autres dates").wait_for(timeout=15_000)
    expected = "/events_more"
    assert assistant.wait_last_message(expected) == expected
    context.close()


def test_photo_upload(browser, assistant):
    context, page = opened(browser, assistant)
    page.locator(".gru-quick button", has_text="Signaler un problème").click()
    trigger = page.locator("button", has_text="Ajouter une photo")
    trigger.wait_for(timeout=15_000)
    file_input = page.locator(".gru-quick input[type=file]")
    assert file_input.get_attribute("accept") == "image/*"
    uploads = len(assistant.uploads)
    # Refused in the browser, in French, before any upload: too big, not an image.
    file_input.set_input_files(
        {"name": "grande.png", "mimeType": "image/png", "buffer": b"0" * (5 * 1024 * 1024 + 1)}
    )
    page.locator(".gru-notice", has_text="dépasse 5 Mo").wait_for(timeout=5_000)
    file_input.set_input_files({"name": "note.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"})
    page.locator(".gru-notice", has_text="n'est pas une image").wait_for(timeout=5_000)
    assert len(assistant.uploads) == uploads
    # The server's French refusal is shown as it is.
    file_input.set_input_files({"name": "floue.png", "mimeType": "image/png", "buffer": PIXEL})
    page.locator(".gru-notice", has_text="La photo est illisible").wait_for(timeout=5_000)
    # Accepted: the id goes back to the assistant as /share_photo.
    file_input.set_input_files({"name": "trottoir.png", "mimeType": "image/png", "buffer": PIXEL})
    page.locator(".gru-user", has_text="Photo envoyée").wait_for(timeout=15_000)
    session = page.evaluate("() => JSON.parse(sessionStorage.getItem('gru-widget')).sessionId")
    assert assistant.uploads[-1] == {"session": session, "filename": "trottoir.png"}
    expected = '/share_photo{"upload_id":"' + UPLOAD_ID + '"}'
    assert assistant.wait_last_message(expected) == expected
    assert_no_axe_violation(page, "test page, after a photo")
    context.close()


def test_location_is_shared_only_after_consent(browser, assistant):
    options = {"permissions": ["geolocation"], "geolocation": {"latitude": 48.856614, "longitude": 2.3522219}}
    context, page = opened(browser, assistant, **options)
    page.locator(".gru-quick button", has_text="Ma position").click()
    page.locator("button", has_text="Partager ma position").click()
    page.get_by_text("Voulez-vous la partager ?").wait_for(timeout=5_000)
    assert assistant.messages()[-1] == "/location"  # nothing sent before the consent
    assert_no_axe_violation(page, "test page, location consent")
    screenshot(page, "test-page-location-consent")
    assert page.evaluate("() => document.activeElement.textContent") == "Oui, partager ma position"
    page.keyboard.press("Enter")
    page.locator(".gru-user", has_text="Position partagée").wait_for(timeout=15_000)
    expected = '/share_location{"latitude":48.85661,"longitude":2.35222}'
    assert assistant.wait_last_message(expected) == expected
    context.close()


def test_first_message_within_a_second_and_the_field_above_the_keyboard(browser, assistant):
    """The widget's own share of the first answer (socket, session, /greet, rendering) stays
    under a second; when the on-screen keyboard shrinks the visual viewport, the dialog
    follows it and the field stays in view."""
    context, page = new_page(browser, MOBILES["390x844"], has_touch=True, is_mobile=True)
    page.goto(assistant.url)
    launcher = page.locator(".gru-launcher")
    launcher.wait_for(timeout=15_000)
    started = time.monotonic()
    launcher.click()
    page.locator(".gru-bot").first.wait_for(timeout=15_000)
    elapsed = time.monotonic() - started
    print(f"first bot message {1000 * elapsed:.0f} ms after opening (local socketio server)")
    assert elapsed < 1.0
    page.set_viewport_size({"width": 390, "height": 420})  # the keyboard takes the bottom half
    page.wait_for_function(
        "() => document.getElementById('gru-dialog').style.getPropertyValue('--gru-vh') === '420px'",
        timeout=5_000,
    )
    field = page.locator(".gru-input").bounding_box()
    assert field and 0 <= field["y"] and field["y"] + field["height"] <= 420
    assert page.locator(".gru-input").evaluate("n => n === document.activeElement")
    context.close()


def test_reduced_motion_contrast_and_storage_options(browser, assistant):
    assistant.config = {"colors": {"primary": "#cccccc", "onPrimary": "#ffffff"}, "storage": "local"}
    try:
        context, page = new_page(browser, DESKTOP, reduced_motion="reduce")
        page.goto(assistant.url)
        root = page.locator(".gru-root")
        # A colour pair under 4.5:1 is refused: the accessible default stays.
        assert root.evaluate("n => getComputedStyle(n).getPropertyValue('--gru-primary').trim()") == "#000091"
        page.locator(".gru-launcher").click()
        wait_replies(page, 0, timeout=15)
        assert (
            page.locator(".gru-typing span").first.evaluate("n => getComputedStyle(n).animationName")
            == "none"
        )
        assert page.evaluate("() => Object.keys(sessionStorage).length") == 0
        assert page.evaluate("() => Boolean(localStorage.getItem('gru-widget'))")  # storage: "local"
        context.close()
    finally:
        assistant.config = {}

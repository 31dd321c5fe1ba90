"""The website as a citizen uses it: the demo page with our chat widget (web/, bundled by
esbuild), in Debian's headless Chromium driven by Playwright, against the running assistant
over socketio. Desktop and mobile viewports, keyboard only, axe-core with zero violations
(closed, open, in the middle of a booking), a reload that restores the conversation, a lost
connection that recovers. Screenshots go to results/qa/ (QA artifacts)."""

from __future__ import annotations

import random
import re
import socket
import string
import threading
import time

import pytest

from ops import web
from tests.browser import support
from tests.browser.support import (
    DESKTOP,
    MOBILES,
    assert_no_axe_violation,
    bot_count,
    keyboard_to,
    latest_choices,
    new_page,
    screenshot,
    type_message,
    wait_replies,
)

browser = support.browser  # the shared headless-Chromium fixture

pytestmark = pytest.mark.integration

SESSION = "() => JSON.parse(sessionStorage.getItem('gru-widget') || 'null')"
STORED = "() => Object.keys(localStorage).length + Object.keys(sessionStorage).length"
INSIDE_DIALOG = "() => document.getElementById('gru-dialog').contains(document.activeElement)"


class DroppableProxy:
    """A TCP relay between the browser and Rasa that can cut every connection and refuse
    new ones for a while: the widget really loses its socket, then gets it back."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop(self) -> None:
        self.up = False
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.drop()
        self.listener.close()


@pytest.fixture(scope="module")
def proxy(stack):
    relay = DroppableProxy(int(stack.url.rsplit(":", 1)[1].strip("/")))
    yield relay
    relay.close()


@pytest.fixture(scope="module")
def page_url(stack, proxy):
    if not web.WIDGET.exists():
        pytest.fail("the widget is not built (web/dist/widget.js): run make install")
    port = stack.page_port  # the origin Rasa allows (tests/integration/conftest.py)
    server = web.serve(port, f"http://127.0.0.1:{proxy.port}")
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()


def open_with_keyboard(page) -> None:
    """Tab from the top of the page to the launcher, then Enter."""
    page.locator("body").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('gru-launcher')"):
            page.keyboard.press("Enter")
            return
    raise AssertionError("the launcher is not reachable with Tab")


def test_welcome_buttons_reload_and_close_on_desktop(browser, page_url):
    context, page = new_page(browser, DESKTOP)
    socket_requests: list[str] = []
    page.on("request", lambda request: "/socket.io/" in request.url and socket_requests.append(request.url))
    page.goto(page_url)
    launcher = page.locator(".gru-launcher")
    launcher.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    # Privacy: a visitor who does not open the chat connects nowhere and leaves nothing.
    assert page.evaluate(STORED) == 0 and socket_requests == []
    assert launcher.evaluate("n => n.tagName") == "BUTTON"
    assert_no_axe_violation(page, "desktop, widget closed")
    screenshot(page, "desktop-closed")

    started = time.monotonic()
    launcher.click()
    page.locator(".gru-bot").first.wait_for(timeout=30_000)
    print(f"first bot message {1000 * (time.monotonic() - started):.0f} ms after opening (desktop)")
    texts = wait_replies(page, 0)
    assert any("Bonjour et bienvenue" in text for text in texts), texts
    assert page.evaluate("() => document.activeElement.classList.contains('gru-input')")
    choices = latest_choices(page)
    assert "Horaires d'ouverture" in choices and "Rendez-vous CNI / passeport" in choices, choices
    assert page.locator(".gru-quick button").first.evaluate("n => n.tagName") == "BUTTON"
    assert_no_axe_violation(page, "desktop, widget open")
    screenshot(page, "desktop-welcome")

    before = bot_count(page)
    page.locator(".gru-quick button", has_text="Horaires d'ouverture").first.click()  # by click
    texts = wait_replies(page, before)
    assert page.locator(".gru-user").last.inner_text().endswith("Horaires d'ouverture")
    assert any("Accueil de la mairie" in text for text in texts), texts
    # single line breaks stay line breaks (one hour range per line)
    assert page.locator(".gru-bot", has_text="Accueil de la mairie").last.locator("br").count() >= 1
    session = page.evaluate(SESSION)["sessionId"]
    screenshot(page, "desktop-hours")

    page.reload()
    page.locator(".gru-bot", has_text="Accueil de la mairie").first.wait_for(timeout=30_000)
    restored = page.locator(".gru-bot").all_inner_texts()
    assert any("Bonjour et bienvenue" in text for text in restored), restored  # survived the reload
    page.wait_for_function("() => !document.querySelector('.gru-send').disabled", timeout=30_000)
    texts = type_message(page, "quels sont les horaires de la mairie ?")
    assert any("Accueil de la mairie" in text for text in texts), texts
    assert page.evaluate(SESSION)["sessionId"] == session  # the same conversation goes on
    assert page.evaluate("() => Object.keys(localStorage).length") == 0  # the tab's storage only
    screenshot(page, "desktop-after-reload")

    page.keyboard.press("Escape")
    assert page.locator("#gru-dialog").is_hidden()
    assert page.evaluate("() => document.activeElement.classList.contains('gru-launcher')")
    context.close()


def ants_id() -> str:
    return "".join(random.choices(string.ascii_uppercase + string.digits, k=10))


def test_keyboard_only_booking_on_mobile(browser, page_url):
    context, page = new_page(browser, MOBILES["390x844"], has_touch=True, is_mobile=True)
    page.goto(page_url)
    page.locator(".gru-launcher").wait_for(timeout=30_000)
    started = time.monotonic()
    open_with_keyboard(page)
    page.locator(".gru-bot").first.wait_for(timeout=30_000)
    print(f"first bot message {1000 * (time.monotonic() - started):.0f} ms after opening (mobile)")
    wait_replies(page, 0)
    # The focus stays in the open dialog, whatever the number of Tabs.
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate(INSIDE_DIALOG)
    texts = type_message(page, "je voudrais un rendez-vous pour une carte d'identité")
    for _ in range(12):
        text = "\n".join(texts)
        if REFERENCE.search(text):
            break
        before = bot_count(page)
        if "10 lettres" in text or "pré-demande" in text and "numéro" in text:
            texts = type_message(page, ants_id())
        elif "Dans quelle mairie" in text:
            keyboard_to(page, "Peu importe")
            texts = wait_replies(page, before)
        elif "Quel jour" in text:
            texts = type_message(page, "le plus tôt possible")
        elif "nom de famille" in text:
            texts = type_message(page, "Dupont")
        elif "Je récapitule" in text:
            recap = page.locator(".gru-bot", has_text="Je récapitule").last
            # the recap's lines are a real list
            assert recap.locator("ul:not(.gru-replies) > li").count() >= 4
            assert_no_axe_violation(page, "mobile, booking recap")
            screenshot(page, "mobile-booking-recap")
            keyboard_to(page, "Oui")
            texts = wait_replies(page, before)
        elif "personnes" in text and latest_choices(page):
            keyboard_to(page, latest_choices(page)[0])
            texts = wait_replies(page, before)
        elif "créneaux" in text and latest_choices(page):
            assert_no_axe_violation(page, "mobile, in the middle of a booking (slots)")
            screenshot(page, "mobile-booking-slots")
            keyboard_to(page, latest_choices(page)[0])
            texts = wait_replies(page, before)
        else:
            raise AssertionError(f"unexpected step of the booking: {text}")
    assert REFERENCE.search("\n".join(texts)), texts
    screenshot(page, "mobile-booking-done")
    context.close()


REFERENCE = re.compile(r"RDV-[A-Z0-9]{6}")


@pytest.mark.parametrize(
    "name,viewport",
    [
        ("360x640", MOBILES["360x640"]),
        ("390x844", MOBILES["390x844"]),
        ("zoom-200", {"width": 640, "height": 450}),
    ],
)
def test_small_screens_and_zoom(browser, page_url, name, viewport):
    """Mobile first: the dialog fills a small screen, nothing overflows sideways, the field
    and the buttons stay visible; 200 % zoom of a 1280 × 900 window is a 640 × 450 one."""
    context, page = new_page(browser, viewport)
    page.goto(page_url)
    page.locator(".gru-launcher").click()
    wait_replies(page, 0)
    width, height = viewport["width"], viewport["height"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    field = page.locator(".gru-input").bounding_box()
    assert field and field["y"] + field["height"] <= height and field["x"] + field["width"] <= width
    dialog = page.locator("#gru-dialog").bounding_box()
    assert dialog["width"] <= width and dialog["height"] <= height
    for box in (b.bounding_box() for b in page.locator(".gru-quick button").all()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert_no_axe_violation(page, f"{name}, widget open")
    screenshot(page, f"{name}-welcome")
    context.close()


def test_lost_connection_is_shown_and_recovers(browser, page_url, proxy):
    context, page = new_page(browser, DESKTOP)
    page.goto(page_url)
    page.locator(".gru-launcher").click()
    wait_replies(page, 0)
    proxy.drop()
    status = page.locator(".gru-status")
    status.filter(has_text="Connexion perdue").wait_for(timeout=30_000)
    assert page.locator(".gru-send").is_disabled()
    screenshot(page, "desktop-connection-lost")
    page.wait_for_timeout(1_500)
    proxy.restore()
    status.filter(has_text="Connexion rétablie").wait_for(timeout=30_000)
    texts = type_message(page, "quels sont les horaires de la mairie ?")
    assert any("Accueil de la mairie" in text for text in texts), texts
    screenshot(page, "desktop-connection-back")
    context.close()

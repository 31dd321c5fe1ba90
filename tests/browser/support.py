"""What the widget's browser tests share: Debian's headless Chromium through Playwright (no
browser download), axe-core injected from web/node_modules, the QA screenshots under
results/qa/, and keyboard helpers that reach a button without the mouse."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from typing import Callable

import pytest
from aiohttp import web
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "results" / "qa"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
MOBILES = {"360x640": {"width": 360, "height": 640}, "390x844": {"width": 390, "height": 844}}


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module."""
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def new_page(browser, viewport=DESKTOP, **options):
    context = browser.new_context(locale="fr-FR", viewport=viewport, **options)
    return context, context.new_page()


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is (every rule axe runs by default)."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    results = page.evaluate("async () => (await window.axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in results
    ]


def assert_no_axe_violation(page, moment: str) -> None:
    violations = axe_violations(page)
    print(f"axe-core, {moment}: {len(violations)} violation(s)")
    assert violations == [], f"{moment}: {json.dumps(violations, ensure_ascii=False, indent=1)}"


def assert_no_axe_violation_under_csp(page, moment: str) -> None:
    """axe-core given to the page through DevTools: a page whose Content-Security-Policy refuses
    inline scripts (the agent console's) is checked with the CSP the agents' browsers enforce."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    assert_no_axe_violation(page, moment)


class ConsoleServer:
    """The agent console's aiohttp app (handoff/console.py) on an event loop in a background
    thread; `make_console` builds its Console there."""

    def __init__(self, make_console: Callable[[], object]) -> None:
        from handoff.console import create_app

        self.make_console, self.create_app = make_console, create_app
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def _start(self) -> None:
        app = self.create_app(self.make_console(), sweep=False)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> ConsoleServer:
        self.thread.start()
        assert self.ready.wait(20)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def bot_count(page) -> int:
    return page.locator(".gru-bot").count()


def wait_replies(page, before: int, timeout: float = 60, quiet: float = 0.8) -> list[str]:
    """Wait for the bot's new messages (Rasa sends several) and return their texts."""
    page.wait_for_function(
        f"() => document.querySelectorAll('.gru-bot').length > {before}", timeout=timeout * 1000
    )
    count, since = bot_count(page), time.monotonic()
    while time.monotonic() - since < quiet:
        page.wait_for_timeout(100)
        if bot_count(page) != count:
            count, since = bot_count(page), time.monotonic()
    return page.locator(".gru-bot").all_inner_texts()[before:]


def focused_text(page) -> str:
    return page.evaluate("() => (document.activeElement && document.activeElement.textContent || '').trim()")


def keyboard_to(page, title_start: str, limit: int = 80) -> None:
    """From the message field, Shift+Tab back to the button whose title starts with
    `title_start` (keyboard only), then press Enter."""
    page.locator(".gru-input").focus()
    for _ in range(limit):
        page.keyboard.press("Shift+Tab")
        if focused_text(page).startswith(title_start):
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"no button {title_start!r} reachable with the keyboard")


def type_message(page, text: str) -> list[str]:
    """Type in the field and press Enter, like a keyboard user; return the bot's replies."""
    before = bot_count(page)
    field = page.locator(".gru-input")
    field.focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    return wait_replies(page, before)


def latest_choices(page) -> list[str]:
    return page.locator(".gru-quick button").all_inner_texts()

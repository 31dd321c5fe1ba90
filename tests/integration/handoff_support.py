"""What the live hand-off tests share (REST and webchat, Messenger, the browser): the running
assistant on a copy of the demo territory whose front desk and état civil are open every day
and all day, with no exceptional closure, so that a test does not depend on the hour it runs
at (public holidays still close them: the test is skipped on those days); an agent on duty;
the agent console signed in on its HTTP API; the tracker as Rasa stores it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from core.db import session_scope
from core.territory import load_territory
from handoff.console import Console, create_app
from handoff.rasa_api import RasaApi
from staff import auth
from tests.conftest import ROOT
from tests.integration.test_server import say, start_with_widget_page

TOKEN = "rasa-test-token"
AGENT_LOGIN = "jeanne"
PASSWORD = "correct horse battery"
ALWAYS = ["00:00-23:59"]
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def open_all_day_territory(base: Path) -> Path:
    """The demo territory, its hand-off services open all day every day; skips on a holiday."""
    territory = yaml.safe_load((ROOT / "territory" / "demo" / "territory.yml").read_text(encoding="utf-8"))
    for key in ("accueil", "etat_civil"):
        territory["services"][key]["hours"] = {day: ALWAYS for day in WEEK}
    territory["closures"] = []
    territory_file = base / "territory.yml"
    territory_file.write_text(yaml.safe_dump(territory, allow_unicode=True), encoding="utf-8")
    if not load_territory(territory_file).status("accueil").open_now:
        pytest.skip("public holiday: every service of the territory is closed today")
    return territory_file


@contextmanager
def running_handoff_stack(base: Path, **extra_env: str) -> Iterator:
    """Rasa + action server on that territory, the API token set, the hand-off delay long
    enough never to hand a conversation back during a test, and Jeanne, an agent of both
    services; `.db_url` is the application database. Stopped on leaving the block."""

    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    db_url = f"sqlite:///{base / 'gru.db'}"
    env = dict(
        os.environ,
        GRU_TERRITORY_FILE=str(open_all_day_territory(base)),
        GRU_TRACKER_STORE_URL=f"sqlite:///{base / 'rasa.db'}",
        GRU_DATABASE_URL=db_url,
        GRU_RASA_TOKEN=TOKEN,
        GRU_HANDOFF_DELAY="3600",
        **extra_env,
    )
    env.pop("GRU_LOCK_STORE_URL", None)
    with open(base / "servers.log", "ab") as log:
        running = start_with_widget_page(env, base / "run", log)
        running.db_url = db_url
        try:
            with session_scope(db_url, write=True) as s:
                auth.create_agent(
                    s,
                    login=AGENT_LOGIN,
                    display_name="Jeanne",
                    password=PASSWORD,
                    role="agent",
                    services=["accueil", "etat_civil"],
                    now=auth.utcnow(),
                )
            yield running
        finally:
            running.stop()


def tracker_events(stack, sender):
    url = f"{stack.url}/conversations/{sender}/tracker?token={TOKEN}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["events"]


def bot_texts(stack, sender) -> list[str]:
    return [e.get("text") or "" for e in tracker_events(stack, sender) if e["event"] == "bot"]


async def citizen_says(stack, sender, text):
    return await asyncio.to_thread(say, stack, sender, text)


async def signed_in_console(stack):
    """The console (in this process) on the stack's Rasa, Jeanne signed in; every POST of the
    returned client needs `headers=client.headers` (the session's CSRF token)."""
    console = Console(RasaApi(stack.url, TOKEN), db_url=stack.db_url)
    client = TestClient(TestServer(create_app(console, sweep=False)))
    await client.start_server()
    form = await (await client.get("/connexion")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    signed = await client.post("/connexion", data={"csrf": csrf, "login": AGENT_LOGIN, "password": PASSWORD})
    page = await signed.text()
    client.headers = {"X-CSRF-Token": re.search(r'data-csrf="([^"]+)"', page).group(1)}
    return client

"""Shared by the flow tests: the real assistant (Rasa + action server + ANTS hub) on a
temporary booking database, a local server speaking the ANTS anti-duplicate API, and a
small citizen-chat helper. One stack for the whole session (start-up is ~70 s)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import pytest

from booking.seed import prepare_database
from core.db import engine_for
from tests.conftest import ROOT, free_port
from tests.integration.test_server import say, start_with_widget_page

ANTS_TOKEN = "ants-test-token"
HUB_TOKEN = "hub-test-token"
LINKS_SECRET = "links-test-secret-0123456789"
REFERENCE = re.compile(r"RDV-[A-Z0-9]{6}")


class FakeAnts(BaseHTTPRequestHandler):
    """The published shapes of the ANTS anti-duplicate API; the id's prefix picks the answer."""

    calls: list = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        FakeAnts.calls.append((method, url.path, query))
        if self.headers.get("x-rdv-opt-auth-token") != ANTS_TOKEN:
            return self._reply(401, {"detail": "unauthorized"})
        if method == "GET" and url.path == "/api/status":
            answer = {}
            for application_id in query.get("application_ids", []):
                if application_id.startswith("SLOW"):
                    time.sleep(3)
                status = "consumed" if application_id.startswith("CONS") else "validated"
                answer[application_id] = {"status": status, "appointments": []}
            return self._reply(200, answer)
        if url.path == "/api/appointments" and method in ("POST", "DELETE"):
            return self._reply(200, {"success": True})
        return self._reply(404, {"detail": "not found"})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")


@pytest.fixture(scope="session")
def ants():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeAnts)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def app_db(tmp_path_factory):
    return tmp_path_factory.mktemp("booking") / "gru.db"


FACEBOOK = {
    "FACEBOOK_VERIFY_TOKEN": "verify-me",
    "FACEBOOK_APP_SECRET": "app-secret",
    "FACEBOOK_PAGE_ACCESS_TOKEN": "page-token",
}


class FakeGraph(BaseHTTPRequestHandler):
    """Facebook's Graph API, locally: records what the assistant sends to Messenger."""

    sent: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        FakeGraph.sent.append({"path": urllib.parse.urlparse(self.path).path, "query": query, "body": body})
        data = json.dumps({"recipient_id": body.get("recipient", {}).get("id"), "message_id": "m1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="session")
def graph():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeGraph)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


class Inbox:
    """A local SMTP server's mailbox (aiosmtpd): the reports e-mailed to the services."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 Message accepted"


@pytest.fixture(scope="session")
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


class FakeCdn(BaseHTTPRequestHandler):
    """Meta's CDN for Messenger attachments, locally: serves the photos a test puts in `files`."""

    files: dict = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = FakeCdn.files.get(urllib.parse.urlparse(self.path).path)
        self.send_response(200 if data else 404)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")


@pytest.fixture(scope="session")
def cdn():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeCdn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def stack(ants, graph, app_db, smtp, cdn, tmp_path_factory):

    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    base = tmp_path_factory.mktemp("stack")
    env = dict(os.environ)
    env.update(
        GRU_TRACKER_STORE_URL=f"sqlite:///{base / 'rasa.db'}",
        GRU_DATABASE_URL=f"sqlite:///{app_db}",
        GRU_ANTS_API_URL=f"http://127.0.0.1:{ants.server_port}/api",
        GRU_ANTS_API_TOKEN=ANTS_TOKEN,
        GRU_ANTS_TIMEOUT="1",
        GRU_HUB_TOKEN=HUB_TOKEN,
        GRU_HUB_PORT=str(free_port()),
        GRU_LINKS_SECRET=LINKS_SECRET,  # the signed links made by the tests' processes work in the stack's
        GRU_FACEBOOK_GRAPH_URL=f"http://127.0.0.1:{graph.server_port}/v19.0",
        # Signalements: e-mailed to the services through the local SMTP server; Messenger photos
        # downloaded from the local CDN; uploads kept in the test's folder.
        GRU_REPORTS_FORWARD="email",
        GRU_SMTP_HOST="127.0.0.1",
        GRU_SMTP_PORT=str(smtp.port),
        GRU_SMTP_STARTTLS="false",
        GRU_SMTP_FROM="assistant@villebrune.example",
        GRU_REPORTS_PHOTO_HOSTS="127.0.0.1",
        GRU_UPLOADS_DIR=str(base / "uploads"),
        **FACEBOOK,
    )
    env.pop("GRU_LOCK_STORE_URL", None)
    log = open(base / "servers.log", "ab")
    # The widget's test page (tests/integration/test_webchat.py) is served on `.page_port`.
    running = start_with_widget_page(env, base / "run", log)
    running.hub_url = f"http://127.0.0.1:{env['GRU_HUB_PORT']}"
    running.uploads_dir = base / "uploads"
    running.log_dir = (
        base  # servers.log and whatever else the stack writes (tests/integration/test_log_privacy.py)
    )
    yield running
    running.stop()
    log.close()


class Chat:
    """One citizen's conversation: every reply's text, and its buttons by title."""

    def __init__(self, stack, sender: str | None = None):
        self.stack, self.sender = stack, sender or f"citizen-{uuid.uuid4()}"
        self.replies: list = []

    def say(self, message: str) -> str:
        self.replies = say(self.stack, self.sender, message)
        return self.text

    @property
    def text(self) -> str:
        return "\n".join(r.get("text", "") for r in self.replies)

    @property
    def buttons(self) -> dict:
        return {
            b["title"]: b.get("payload") or b.get("url") for r in self.replies for b in r.get("buttons", [])
        }

    def click(self, title_start: str) -> str:
        for title, payload in self.buttons.items():
            if title.startswith(title_start):
                return self.say(payload)
        raise AssertionError(f"no button {title_start!r} in {list(self.buttons)}: {self.text}")

    def first_slot(self) -> str:
        slots = [t for t, p in self.buttons.items() if '"choice"' in p and "@" in p]
        assert slots, self.text
        return self.click(slots[0])


def rows(app_db, sql, *args):
    with sqlite3.connect(app_db) as conn:
        return conn.execute(sql, args).fetchall()


def book(chat: Chat, first_message: str, ids: str, surname: str = "Dupont") -> str:
    chat.say(first_message)
    if "pré-demande" in chat.text and "10 lettres" in chat.text:
        chat.say(ids)
    if "Dans quelle mairie" in chat.text:
        chat.click("Peu importe")
    if "Quel jour" in chat.text:
        chat.say("le plus tôt possible")
    chat.first_slot()
    assert "nom de famille" in chat.text, chat.text
    chat.say(surname)
    assert "Je récapitule" in chat.text, chat.text
    chat.click("Oui")
    match = REFERENCE.search(chat.text)
    assert match, chat.text
    return match.group(0)


PG_HOST = os.environ.get("GRU_TEST_PG_HOST", "127.0.0.1")


def _postgres_url() -> str:
    name = f"gru_booking_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(host=PG_HOST, user="postgres", dbname="postgres", connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"postgresql://postgres@{PG_HOST}:5432/{name}"


def _drop_postgres(url: str) -> None:
    engine_for(url).dispose()
    name = url.rsplit("/", 1)[1]
    conn = psycopg2.connect(host=PG_HOST, user="postgres", dbname="postgres", connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated application database of this test's own, on SQLite then on the PostgreSQL
    at 127.0.0.1 (the concurrency tests: booking, alerts delivery)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'booking.db'}"
        prepare_database(url)
        yield url
        engine_for(url).dispose()
    else:
        url = _postgres_url()
        try:
            prepare_database(url)
            yield url
        finally:
            _drop_postgres(url)

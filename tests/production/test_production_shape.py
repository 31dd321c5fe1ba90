"""The production shape through its real pieces: nginx (Debian's), 2 Rasa replicas sharing the
PostgreSQL tracker store and the Redis lock store, 2 action servers, the PostgreSQL booking
database. A REST conversation alternating between the replicas, the website's socket.io
through the proxy, and one replica killed under load."""

from __future__ import annotations

import asyncio
import json
import random
import re
import string
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

import psycopg2
import pytest

from tests.integration.conftest import REFERENCE, Chat, book
from tests.integration.test_alerts_flow import socketio_chat

# Not in `make test` yet: run by `make test-production` (README, Production). Its first run
# found two faults (nginx buffering action calls to disk, a kill checked too early), fixed
# afterwards; it joins `make test` once it has passed on a clean clone.
pytestmark = [pytest.mark.integration, pytest.mark.production_shape]


def query(url: str, sql: str, *args) -> list:
    conn = psycopg2.connect(url.replace("postgresql://", "postgres://"), connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()
    finally:
        conn.close()


def application_id() -> str:
    return "".join(random.choices(string.ascii_uppercase + string.digits, k=10))


def surname() -> str:
    return "Durand" + "".join(random.choices(string.ascii_lowercase, k=6))


class Alternating:
    """A `stack` for tests.integration's Chat whose URL changes replica at every message."""

    def __init__(self, shape):
        self.urls = [shape.replica_url(0), shape.replica_url(1)]
        self.used: list = []

    @property
    def url(self) -> str:
        url = self.urls[len(self.used) % 2]
        self.used.append(url)
        return url


def test_a_rest_conversation_alternating_between_replicas_books_once(shape):
    alternating = Alternating(shape)
    chat = Chat(alternating)
    name = surname()
    reference = book(chat, "rdv cni pour 1 personne", application_id(), surname=name)
    # Every other message went to the other replica, the form went on from the shared tracker.
    assert alternating.used[0::2] == [alternating.urls[0]] * len(alternating.used[0::2])
    assert alternating.used[1::2] == [alternating.urls[1]] * len(alternating.used[1::2])
    assert len(alternating.used) >= 5
    booked = query(
        shape.app_db_url, "SELECT reference, status FROM appointments WHERE surname = %s", name.upper()
    )
    assert booked == [(reference, "booked")]
    # The list comes from the other replica than the one that confirmed.
    assert reference in chat.say("quels sont mes rendez-vous ?")


def test_the_webchat_goes_through_the_proxy_on_one_replica(shape):
    replies = asyncio.run(socketio_chat(shape.url, ["Bonjour", "c'est ouvert quand la mairie ?"]))
    texts = " ".join(r.get("text", "") for r in replies)
    assert "Bonjour et bienvenue" in texts, texts
    assert len(replies) >= 2
    log = (shape.settings.state_dir / "logs" / "nginx-access.log").read_text()
    polling = [line for line in log.splitlines() if "/socket.io/" in line]
    assert len(polling) >= 4  # handshake, session_request, messages, answers: separate requests
    # Sticky: the whole socket.io session on one replica, and no « Session ID unknown » (400).
    assert len({line.rsplit("upstream=", 1)[1] for line in polling}) == 1, polling
    # 200 everywhere except, at the end, the long poll the client abandons when it disconnects
    # (nginx logs 499); a 400 would be socket.io's « Session ID unknown ».
    statuses = [re.search(r'" (\d{3}) ', line).group(1) for line in polling]
    assert statuses.count("200") >= 4, polling
    assert set(statuses) <= {"200", "499"}, [line for line in polling if '" 200 ' not in line]
    assert "499" not in statuses[:-2], polling
    # Security headers on what the proxy serves.
    with urllib.request.urlopen(f"{shape.url}/", timeout=10) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


class Citizen(threading.Thread):
    """Books through the proxy; a message that got no answer (502) is sent again, as the widget does."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.sender, self.surname = url, f"load-{uuid.uuid4()}", surname()
        self.acknowledged: list = []  # messages answered with 200
        self.failures = 0
        self.reference: str | None = None
        self.slots: list = []
        self.error: str | None = None

    def say(self, message: str) -> str:
        body = json.dumps({"sender": self.sender, "message": message}).encode()
        for _ in range(5):
            request = urllib.request.Request(
                f"{self.url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=150) as response:
                    replies = json.loads(response.read())
                self.acknowledged.append(message)
                self.slots = [
                    b["payload"]
                    for r in replies
                    for b in r.get("buttons", [])
                    if '"choice"' in (b.get("payload") or "") and "@" in b["payload"]
                ]
                return "\n".join(r.get("text", "") for r in replies)
            except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError, TimeoutError):
                self.failures += 1
                time.sleep(1)
        raise AssertionError("no answer after 5 tries")

    def run(self) -> None:
        try:
            text = self.say("rdv cni pour 1 personne")
            if "10 lettres" in text:
                text = self.say(application_id())
            for _ in range(8):
                if (match := REFERENCE.search(text)) and "récapitule" not in text:
                    self.reference = match.group(0)
                    return
                if "Dans quelle mairie" in text:
                    text = self.say("peu importe")
                elif "Quel jour" in text:
                    text = self.say("le plus tôt possible")
                elif "nom de famille" in text:
                    text = self.say(self.surname)
                elif "Je récapitule" in text:
                    text = self.say("oui")
                elif self.slots:
                    text = self.say(self.slots[0])
                else:
                    break
            # The confirmation may have been lost with the replica: the list tells the reference.
            self.reference = (REFERENCE.findall(self.say("quels sont mes rendez-vous ?")) or [None])[0]
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = repr(exc)


def test_killing_a_replica_under_load_loses_nothing_and_books_nothing_twice(shape):
    citizens = [Citizen(shape.url) for _ in range(6)]
    for citizen in citizens:
        citizen.start()
        time.sleep(0.3)
    deadline = time.monotonic() + 60
    while sum(len(c.acknowledged) for c in citizens) < 8 and time.monotonic() < deadline:
        time.sleep(0.2)
    shape.kill("rasa-1")  # SIGKILL: no goodbye, turns in flight die with it
    killed_at = sum(len(c.acknowledged) for c in citizens)
    for citizen in citizens:
        citizen.join(240)
    for _ in range(100):  # a dying 2 GB process takes a moment to be gone
        if not shape.alive()["rasa-1"]:
            break
        time.sleep(0.1)
    assert shape.alive()["rasa-1"] is False and shape.alive()["rasa-2"] is True
    assert [c.error for c in citizens] == [None] * len(citizens)
    assert sum(len(c.acknowledged) for c in citizens) > killed_at + 6  # they went on, on rasa-2
    # Every conversation ended with its booking, and each citizen has exactly one.
    assert all(c.reference for c in citizens), [c.reference for c in citizens]
    for citizen in citizens:
        booked = query(
            shape.app_db_url,
            "SELECT reference FROM appointments WHERE surname = %s AND status = 'booked'",
            citizen.surname.upper(),
        )
        assert booked == [(citizen.reference,)], (citizen.surname, booked)
        # Every acknowledged message is in the shared tracker store.
        stored = [
            json.loads(data).get("text")
            for (data,) in query(
                shape.tracker_db_url,
                "SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id",
                citizen.sender,
            )
        ]
        assert not Counter(citizen.acknowledged) - Counter(stored), (citizen.acknowledged, stored)
    # No slot given twice among all bookings of the run.
    assert not query(
        shape.app_db_url,
        "SELECT site_id, station, start FROM appointments WHERE status = 'booked' "
        "GROUP BY site_id, station, start HAVING count(*) > 1",
    )

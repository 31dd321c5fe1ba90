"""Citizens talking to the assistant over REST, for `make bench-load` (ops/loadtest.py).

Each simulated citizen opens a new conversation (a new sender id) per visit and follows one
of the realistic mixes below, with think times between messages (reading the answer,
typing the next one). Each step is its own line in locust's statistics ("booking 3: slot").
A step fails when the answer is not HTTP 200, not JSON or empty; each failure's message
(« HTTP 502 », « not JSON », « no answer », or the network exception: refused, reset, timed out)
lets ops/loadtest.py count the errors by kind. Run by ops/loadtest.py with `--headless`; not
meant for locust's web UI.
"""

from __future__ import annotations

import json
import random
import string
import uuid

import gevent
from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

FAQ = [
    "quels sont les horaires de la mairie ?",
    "combien coute un passeport ?",
    "quels papiers pour refaire ma carte d'identité",
    "où jeter une pile ?",
    "la déchetterie est ouverte dimanche ?",
    "jveux 1 rdv pr ma cni c possible ?",
    "c'est quoi une pré-demande",
    "bonjour",
    "que savez-vous faire ?",
    "merci au revoir",
]
STREETS = ["rue Pasteur", "avenue Jean Jaurès", "rue Victor Hugo", "rue des Écoles", "place de la Mairie"]
WELFARE = [
    ("ma mère ne peut plus vivre seule, quelles aides existent ?", "elle a 82 ans"),
    ("je veux l'APA pour mon père", "il a 79 ans"),
    ("je cherche une consultation PMI pour mon bébé", "il a 8 mois"),
]
TRACKING = [("DEM-2026-004217", "lefevre"), ("DEM-2026-004302", "Nguyen"), ("DEM-2026-004218", "Le Gall")]


def application_id() -> str:
    return "".join(random.choices(string.ascii_uppercase + string.digits, k=10))


class Citizen(FastHttpUser):
    wait_time = between(3, 8)  # between two visits; think times inside a visit below

    def on_start(self) -> None:
        self.sender = ""

    def say(self, step: str, message: str) -> list:
        """One message of the conversation; returns the assistant's replies."""
        body = json.dumps({"sender": self.sender, "message": message})
        with self.client.post(
            "/webhooks/rest/webhook",
            data=body,
            name=step,
            catch_response=True,
            headers={"Content-Type": "application/json"},
        ) as response:
            if response.status_code != 200:
                # Status 0: no HTTP answer at all; the exception itself (refused, reset, timed
                # out…) goes to locust's failures, for ops/loadtest.py to count by kind.
                error = getattr(response, "error", None)
                no_http = response.status_code == 0 and isinstance(error, Exception)
                response.failure(error if no_http else f"HTTP {response.status_code}")
                return []
            try:
                replies = json.loads(response.text or "[]")
            except ValueError:
                response.failure("not JSON")
                return []
            if not replies:
                response.failure("no answer")
            return replies

    def think(self, low: float = 2.0, high: float = 6.0) -> None:
        """Reading the answer and typing the next message."""
        gevent.sleep(random.uniform(low, high))

    def new_visit(self) -> None:
        self.sender = f"load-{uuid.uuid4().hex}"

    @task(2)
    def booking(self) -> None:
        self.new_visit()
        replies = self.say("booking 1: ask", "je voudrais un rdv pour une carte d'identité pour 1 personne")
        self.think()
        replies = self.say("booking 2: pre-application", application_id())
        if any("Dans quelle mairie" in r.get("text", "") for r in replies):
            self.think()
            replies = self.say("booking 3: site", "peu importe")
        self.think()
        replies = self.say("booking 4: day", "le plus tôt possible")
        slots = [
            b["payload"]
            for r in replies
            for b in r.get("buttons", [])
            if '"choice"' in (b.get("payload") or "") and "@" in b["payload"]
        ]
        if not slots:
            return
        self.think()
        self.say("booking 5: slot", slots[0])
        self.think()
        self.say("booking 6: surname", "Durand" + "".join(random.choices(string.ascii_lowercase, k=5)))
        self.think()
        self.say("booking 7: confirm", "oui")

    @task(2)
    def waste_by_address(self) -> None:
        self.new_visit()
        self.say("waste 1: question", random.choice(["quand passe la poubelle jaune ?", "collecte verre"]))
        self.think()
        self.say("waste 2: address", f"{random.randint(1, 40)} {random.choice(STREETS)}")

    @task(3)
    def faq(self) -> None:
        self.new_visit()
        for index, question in enumerate(random.sample(FAQ, 3)):
            self.say(f"faq {index + 1}", question)
            self.think()

    @task(1)
    def welfare(self) -> None:
        self.new_visit()
        first, second = random.choice(WELFARE)
        self.say("welfare 1: situation", first)
        self.think()
        self.say("welfare 2: age", second)

    @task(1)
    def tracking(self) -> None:
        self.new_visit()
        reference, holder = random.choice(TRACKING)
        self.say("tracking 1: reference", f"où en est ma demande {reference}")
        self.think()
        self.say("tracking 2: holder", holder)

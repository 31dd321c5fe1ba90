"""Personal data through the running assistant: what its tracker store (SQLite, as in `make run`)
holds after a welfare triage and after « oubliez mes données »."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from tests.conftest import ROOT, free_port
from tests.integration.conftest import Chat

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory):
    from ops import servers

    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    base = tmp_path_factory.mktemp("privacy")
    env = dict(os.environ)
    env.update(
        GRU_TRACKER_STORE_URL=f"sqlite:///{base / 'rasa.db'}",
        GRU_DATABASE_URL=f"sqlite:///{base / 'gru.db'}",
    )
    for name in ("GRU_LOCK_STORE_URL", "GRU_ANTS_API_URL", "GRU_ANTS_API_TOKEN", "GRU_HUB_TOKEN"):
        env.pop(name, None)
    with open(base / "servers.log", "ab") as log:
        running = servers.start_stack(
            rasa_port=free_port(), action_port=free_port(), env=env, run_dir=base / "run", log=log
        )
        running.tracker_db = base / "rasa.db"
        yield running
        running.stop()


def stored(stack, sender: str) -> list[dict]:
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [json.loads(data) for (data,) in rows]


def test_a_welfare_triage_leaves_no_detail_in_the_store(private_stack):
    chat = Chat(private_stack)
    chat.say("ma mère ne peut plus vivre seule, quelles aides existent ?")
    chat.say("elle a 82 ans")
    if "À domicile" in chat.buttons:
        chat.click("À domicile")
    assert "Je n'ai rien enregistré de votre situation" in chat.text, chat.text

    events = stored(private_stack, chat.sender)
    assert events, "the conversation is stored (masked), not lost"
    everything = json.dumps(events, ensure_ascii=False)
    assert "ma mère ne peut plus vivre seule" not in everything
    assert "82 ans" not in everything and "mère" not in everything
    slots = {
        e["name"]: e["value"] for e in events if e["event"] == "slot" and e["name"].startswith("welfare_")
    }
    assert slots and all(value in (None, "[masqué]") for value in slots.values()), slots
    assert any(e["event"] == "user" and e["text"] == "[masqué]" for e in events)


def test_forget_my_data_leaves_nothing_of_the_conversation(private_stack):
    other = Chat(private_stack)
    other.say("Bonjour")
    chat = Chat(private_stack)
    chat.say("Bonjour")
    chat.say("quels sont les horaires de la mairie ?")
    assert stored(private_stack, chat.sender)

    chat.say("oubliez mes données")
    assert "RGPD" in chat.text, chat.text
    assert stored(private_stack, chat.sender) == []
    assert stored(private_stack, other.sender)  # only that conversation

    chat.say("Bonjour")  # the assistant still answers, from a fresh conversation
    assert chat.text.startswith("Bonjour et bienvenue"), chat.text

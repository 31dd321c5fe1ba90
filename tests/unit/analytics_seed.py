"""A set of conversations whose statistics are known, written into a Rasa SQL tracker store
(Rasa's own table, Rasa's own event objects) — shared by the statistics' unit tests and the
dashboard's browser test.

Eight sessions of six conversations, on Monday 30 November 2026 (day 1) and Tuesday
1 December 2026 (day 2), Paris time. What each one holds is in EXPECTED, counted by hand.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, List
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert

from core.privacy import EVENTS

PARIS = ZoneInfo("Europe/Paris")
DAY1, DAY2 = date(2026, 11, 30), date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)  # web-3's tracking form is 29 minutes old
LATER = datetime(2026, 12, 1, 12, 0, tzinfo=PARIS)  # … and abandoned two hours later

# Personal data the conversations carry: none of it may reach the statistics tables.
PERSONAL = ("Jeanne", "Martin", "jeanne.martin@exemple.fr", "06 12 34 56 78", "Lilas", "DEM-2026-004217",
            "web-1", "web-2", "web-3", "web-4", "fb-1", "fb-2", "Durand", "RDV-7KQ2PX")  # fmt: skip

EXPECTED = {
    "conversations": 8,
    "by_day": {DAY1: {"Site web": 4}, DAY2: {"Site web": 2, "Messenger": 2}},
    "messages": 22,
    "fallbacks": 2,
    "turns": [3, 2, 4, 1, 2, 5, 2, 3],  # web-1 ×2, web-2, web-4 ×2, fb-1, web-3, fb-2
    "forms": {  # form → outcomes at NOW
        "booking_form": {"stopped": 1, "abandoned": 1, "switched": 1},
        "waste_form": {"completed": 2},
        "tracking_form": {"open": 1},
        "satisfaction_form": {"completed": 2},  # kept in the tables, not shown as a démarche
    },
    "satisfaction": {"asked": 2, "yes": 1, "no": 1},
    "handoff_sessions": 1,
    "unanswered": {"fallback": 2, "unhelpful": 1, "comment": 1},
}


def at(day: date, hour: int, minute: int, second: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=PARIS).timestamp()


class Conversation:
    """Builds one conversation's events with Rasa's event classes, a second apart."""

    def __init__(self, sender: str, channel: str, start: float) -> None:
        self.sender, self.channel, self.clock = sender, channel, start
        self.events: list = []
        self._count = 0

    def _tick(self) -> float:
        self.clock += 1.0
        return self.clock

    def session(self, start: float | None = None, carried: dict | None = None) -> Conversation:
        from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet

        if start is not None:
            self.clock = start
        self.events += [ActionExecuted("action_session_start", timestamp=self._tick()),
                        SessionStarted(timestamp=self._tick())]  # fmt: skip
        self.events += [SlotSet(k, v, timestamp=self._tick()) for k, v in (carried or {}).items()]
        self.events.append(ActionExecuted("action_listen", timestamp=self._tick()))
        return self

    def says(self, text: str, intent: str, confidence: float = 0.95, ranking=None, replay=False):
        from rasa.shared.core.events import UserUttered

        self._count += 1
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text,
                 "intent_ranking": ranking or [{"name": intent, "confidence": confidence}]}  # fmt: skip
        message_id = None if replay else f"{self.sender}-m{self._count}"
        self.events.append(
            UserUttered(
                text,
                parse["intent"],
                [],
                parse_data=parse,
                timestamp=self._tick(),
                input_channel=self.channel,
                message_id=message_id,
            )  # fmt: skip
        )
        self.events.append(ActionExecutedLater("action_extract_slots", self._tick()))
        return self

    def does(
        self, action: str, *, utter: str | None = None, slots: dict | None = None, loop: str | None = "-"
    ):
        from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet

        self.events.append(ActionExecuted(action, policy="policy_0_RulePolicy", confidence=1.0,
                                          timestamp=self._tick()))  # fmt: skip
        if loop != "-":
            self.events.append(ActiveLoop(loop, timestamp=self._tick()))
        self.events += [SlotSet(k, v, timestamp=self._tick()) for k, v in (slots or {}).items()]
        if utter:
            self.events.append(BotUttered("…", metadata={"utter_action": utter}, timestamp=self._tick()))
        return self

    def listens(self):
        from rasa.shared.core.events import ActionExecuted

        self.events.append(ActionExecuted("action_listen", timestamp=self._tick()))
        return self


def ActionExecutedLater(name: str, timestamp: float):  # noqa: N802 - an event like the others
    from rasa.shared.core.events import ActionExecuted

    return ActionExecuted(name, timestamp=timestamp)


ASKED = {"satisfaction_asked": "knowledge"}
COMMENT = "Les horaires du samedi manquent, appelez-moi au 06 12 34 56 78. Cordialement, Jeanne Durand"


def conversations() -> List[Conversation]:
    web1 = (
        Conversation("web-1", "socketio", at(DAY1, 14, 5)).session()
        .says("bonjour", "greet").does("utter_welcome").listens()
        .says("comment faire une carte grise", "faq")
        .does("action_answer_knowledge", utter="utter_knowledge_answer")
        .does("action_ask_satisfaction", utter="utter_ask_satisfaction", slots=ASKED)
        .listens()
        .says("/rate_helpful", "rate_helpful", 1.0).does("satisfaction_form", loop="satisfaction_form",
                                                          slots={"satisfaction": "yes"})
        .does("satisfaction_form", loop=None, slots={"requested_slot": None})
        .does("action_satisfaction_done", utter="utter_satisfaction_thanks").listens()
        # the next morning: a new session, Rasa copies the slots (not a second rating)
        .session(at(DAY2, 9, 0), carried={"satisfaction_asked": "knowledge", "satisfaction": "yes"})
        .says("salut", "greet").does("utter_welcome").listens()
        .says("et le truc là", "inform", 0.9).does("action_handle_fallback", utter="utter_default").listens()
    )  # fmt: skip
    web2 = (
        Conversation("web-2", "socketio", at(DAY1, 14, 30)).session()
        .says("je m'appelle Jeanne Martin, où est la piscine ?", "nlu_fallback", 0.5,
              ranking=[{"name": "nlu_fallback", "confidence": 0.5}, {"name": "faq", "confidence": 0.31}])
        .does("action_handle_fallback", utter="utter_default").listens()
        .says("je veux un rdv", "book_appointment").does("booking_form", loop="booking_form",
                                                       slots={"requested_slot": "document_type"}).listens()
        .says("cni", "inform").does("booking_form", slots={"document_type": "cni",
                                                            "requested_slot": "person_count"}).listens()
        .says("stop", "stop").does("booking_form", slots={"form_outcome": "stopped", "requested_slot": None})
        .does("booking_form", loop=None).does("action_booking_done", utter="utter_appointment_stopped",
                                               slots={"form_outcome": None}).listens()
    )  # fmt: skip
    web4 = (
        Conversation("web-4", "socketio", at(DAY1, 10, 0)).session()
        .says("rendez-vous passeport", "book_appointment")
        .does("booking_form", loop="booking_form", slots={"requested_slot": "document_type"}).listens()
        .session(at(DAY1, 15, 0))
        .says("bonjour", "greet").does("utter_welcome").listens()
        .says("je veux parler à quelqu'un", "human_handoff").does("action_human_handoff").listens()
        .says("EXTERNAL: human_handoff", "human_handoff").does("action_human_handoff").listens()
    )  # fmt: skip
    fb1 = (
        Conversation("fb-1", "facebook", at(DAY2, 9, 10)).session()
        .says("quand passent les poubelles", "waste_collection_day").does(
            "waste_form", loop="waste_form", slots={"requested_slot": "waste_street"}).listens()
        .says("12 rue des Lilas", "inform").does("waste_form", slots={"waste_street": "Rue des Lilas",
                                                                      "requested_slot": None})
        .does("waste_form", loop=None).does("action_waste_collection_days",
                                             utter="utter_waste_collections_at_number").listens()
        .says("quels sont les horaires de la piscine le dimanche", "faq")
        .does("action_answer_knowledge", utter="utter_knowledge_answer")
        .does("action_ask_satisfaction", utter="utter_ask_satisfaction", slots=ASKED)
        .listens()
        .says("/rate_unhelpful", "rate_unhelpful", 1.0).does(
            "satisfaction_form", loop="satisfaction_form",
            slots={"satisfaction": "no", "requested_slot": "satisfaction_comment"}).listens()
        .says(COMMENT, "inform")
        .does("satisfaction_form", slots={"satisfaction_comment": COMMENT, "requested_slot": None})
        .does("satisfaction_form", loop=None)
        .does("action_satisfaction_done", utter="utter_satisfaction_thanks")
        .listens()
    )  # fmt: skip
    web3 = (
        Conversation("web-3", "socketio", at(DAY2, 9, 30)).session()
        .says("où en est mon dossier", "request_status").does(
            "tracking_form", loop="tracking_form", slots={"requested_slot": "tracking_ref"}).listens()
        .says("DEM-2026-004217", "inform").does("tracking_form", slots={
            "tracking_ref": "DEM-2026-004217", "requested_slot": "tracking_factor"}).listens()
    )  # fmt: skip
    fb2 = (
        Conversation("fb-2", "facebook", at(DAY2, 8, 0)).session()
        .says("prendre rdv carte identité", "book_appointment").does(
            "booking_form", loop="booking_form", slots={"requested_slot": "document_type"}).listens()
        .says("en fait je voudrais les jours de collecte", "waste_collection_day").does(
            "booking_form", slots={"form_outcome": "switched", "requested_slot": None})
        .does("booking_form", loop=None)
        .does("action_booking_done", utter="utter_form_switched", slots={"form_outcome": None}).listens()
        .says("en fait je voudrais les jours de collecte", "waste_collection_day", replay=True)
        .does("waste_form", loop="waste_form", slots={"requested_slot": "waste_street"}).listens()
        .says("rue Pasteur", "inform").does("waste_form", slots={"requested_slot": None})
        .does("waste_form", loop=None).does("action_waste_collection_days",
                                             utter="utter_waste_collections_in_street").listens()
    )  # fmt: skip
    return [web1, web2, web4, fb1, web3, fb2]


def create_store(path: Path) -> str:
    """An empty tracker store, its table created by Rasa's SQLTrackerStore itself."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(path))
    return f"sqlite:///{path}"


def append(url: str, sender: str, events: Iterable) -> None:
    """Rows as SQLTrackerStore writes them (rasa/core/tracker_store.py, SQLTrackerStore._save)."""
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        for event in events:
            data = event.as_dict()
            connection.execute(
                insert(EVENTS).values(
                    sender_id=sender,
                    type_name=event.type_name,
                    timestamp=event.timestamp,
                    intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                    action_name=data.get("name") if event.type_name == "action" else None,
                    data=json.dumps(data),
                )
            )
    engine.dispose()


def seed(url: str) -> None:
    for conversation in conversations():
        append(url, conversation.sender, conversation.events)

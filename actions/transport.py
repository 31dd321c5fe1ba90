"""School transport in the chat (transport_form): the next buses at a stop, the lines of a
school, whether the buses run on a day, and the registration.

« À quelle heure passe le car à l'arrêt de la gare ? » and « quel car pour le collège Jean
Moulin ? » need a stop or a school: when the message names none, the form asks, with buttons
(schools and main stops), on the form framework (actions/forms.py: stop, questions in the
middle, switching flow, three failures). « Le car passe-t-il demain ? » and « comment
inscrire mon enfant ? » are answered at once. The logic is in transport/ (plain Python, the
GTFS feed read with gtfs-kit); the texts are responses of domain/transport.yml.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any, Dict, List, Tuple

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.common import button, entity_values, intent_of, offered_choice, text_of
from actions.core import TERRITORY, pseudonym
from actions.forms import FormDone, FormValidation
from alerts.notices import active_alerts
from core import clock
from core.dates import DateInPast, DateNotUnderstood, InvalidDate, parse_when
from core.text import format_date_fr, join_fr
from transport.config import load_transport_config
from transport.feed import SchoolFeed, load_feed
from transport.matching import Candidate, best_matches
from transport.questions import HOLIDAYS, REGISTRATION, SERVICE, TIMES, kind_of
from transport.timetable import (
    day_service,
    describe_passages_fr,
    describe_school_trips_fr,
    next_service_day,
    passages_at,
    routes_of_school,
    school_trips,
    why_no_bus,
)

logger = logging.getLogger(__name__)

TRANSPORT = load_transport_config()
SERVICE_CONTACT = TERRITORY.services[TRANSPORT.service]
PLACE_SLOT = "transport_place"  # « stop:<stop_id> » or « school:<key> »
TRANSPORT_SLOTS = ("transport_kind", PLACE_SLOT, "transport_day", "transport_offered")
MAX_PLACE_BUTTONS = 8
MAIN_STOPS = 3  # stops offered as buttons besides the schools: the most served ones
ALERT_TOPIC = "transport_scolaire"


async def feed() -> SchoolFeed:
    """The feed, read once at start-up (actions/__init__ checks it); pandas work in a thread."""
    return await asyncio.to_thread(load_feed)


def _stop_names(network: SchoolFeed):
    """One entry per stop name (the siblings of a stop are answered together)."""
    seen, names = set(), []
    for stop in network.stops.values():
        if stop.name not in seen:
            seen.add(stop.name)
            names.append((f"stop:{stop.stop_id}", stop.name, [stop.name]))
    return names


def _school_names():
    return [(f"school:{s.key}", s.name, [s.name, *s.aliases]) for s in TRANSPORT.schools]


def find_places(network: SchoolFeed, text: str) -> List[Candidate]:
    """Schools first (« collège Jean Moulin » is a school before it is a stop), then stops."""
    return best_matches(text, _school_names()) or best_matches(text, _stop_names(network))


def valid_place(network: SchoolFeed, value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    kind, _, key = value.partition(":")
    if kind == "school" and TRANSPORT.school(key):
        return value
    if kind == "stop" and key in network.stops:
        return value
    return None


def read_day(texts: List[str]) -> date | None:
    """The day named in the message (« demain », « mercredi », « le 22 décembre »), if any.

    `texts` are the NLU's date entities first, then the whole message. An entity can lose the
    month (« 11 » of « le 11 novembre »): when the whole message names the same day of the
    month in another month, the message wins.
    """
    now = clock.now()
    days = [_day_of(text, now) for text in texts if text]
    found = [day for day in days if day is not None]
    if not found:
        return None
    whole = days[-1] if texts and texts[-1] else None
    if whole is not None and found[0].day == whole.day and found[0] != whole:
        return whole
    return found[0]


def _day_of(text: str, now) -> date | None:
    try:
        return parse_when(text, now).start
    except DateInPast as past:
        return past.day
    except (DateNotUnderstood, InvalidDate):
        return None


class TransportForm:
    form = "transport_form"
    topic = "school_transport"
    restart_intent = "school_transport"


class ValidateTransportForm(TransportForm, FormValidation):
    working_slots = ("transport_kind", "transport_day", "transport_offered")

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        if tracker.get_slot("transport_kind") in (REGISTRATION, SERVICE, HOLIDAYS):
            return []
        return domain_slots

    async def extract_transport_place(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        network = await feed()
        if requested is None and intent_of(tracker) == "school_transport":
            return await self._first_message(network, dispatcher, tracker)
        if requested != PLACE_SLOT:
            return {}
        chosen = next(iter(entity_values(tracker, "choice")), None)
        if chosen is not None:
            place = valid_place(network, offered_choice(chosen, tracker.get_slot("transport_offered")))
            if place is None:
                return self._unknown(dispatcher, tracker)
            return self.filled(**{PLACE_SLOT: place})
        text = text_of(tracker)
        slots = await self._read_place(network, dispatcher, [*self._entity_texts(tracker), text])
        if slots is None:
            return self._unknown(dispatcher, tracker)
        day = read_day([*entity_values(tracker, "date"), text])
        if day is not None:
            slots["transport_day"] = day.isoformat()
        return slots if slots.get(PLACE_SLOT) is None else self.filled(**slots)

    @staticmethod
    def _entity_texts(tracker) -> List[str]:
        return [*entity_values(tracker, "school"), *entity_values(tracker, "bus_stop")]

    async def _first_message(self, network, dispatcher, tracker) -> Dict[str, Any]:
        text = text_of(tracker)
        slots: Dict[str, Any] = {"transport_kind": kind_of(text)}
        day = read_day([*entity_values(tracker, "date"), text])
        slots["transport_day"] = day.isoformat() if day else None
        if slots["transport_kind"] == REGISTRATION:
            return slots
        place = await self._read_place(network, dispatcher, [*self._entity_texts(tracker), text])
        return {**slots, **(place or {})}

    @staticmethod
    async def _read_place(network, dispatcher, texts: List[str]) -> Dict[str, Any] | None:
        """The place named (a slot), several close ones (buttons, slot left empty), or None."""
        for text in texts:
            direct = valid_place(network, f"school:{text}") or valid_place(network, f"stop:{text}")
            if direct:  # an entity normalised by a synonym (« college_jean_moulin »)
                return {PLACE_SLOT: direct}
            found = await asyncio.to_thread(find_places, network, text)  # fuzzy matching: CPU work
            if len(found) == 1:
                return {PLACE_SLOT: found[0].key}
            if found:
                offered = [c.key for c in found[:MAX_PLACE_BUTTONS]]
                dispatcher.utter_message(
                    response="utter_transport_which_place",
                    buttons=[button(c.name, "inform", choice=c.key) for c in found[:MAX_PLACE_BUTTONS]],
                )
                return {PLACE_SLOT: None, "transport_offered": offered}
        return None

    def _unknown(self, dispatcher, tracker) -> Dict[str, Any]:
        return self.fail(
            dispatcher,
            tracker,
            PLACE_SLOT,
            "utter_transport_place_unknown",
            service=SERVICE_CONTACT.name,
            phone=SERVICE_CONTACT.phone,
        )


def place_buttons(network: SchoolFeed) -> List[Tuple[str, str]]:
    """(value, title): the schools, then the stops served by the most lines."""
    choices = [(f"school:{s.key}", s.name) for s in TRANSPORT.schools]
    served = sorted(network.stops.values(), key=lambda s: (-len(network.routes_at(s.stop_id)), s.name))
    school_stops = {stop for s in TRANSPORT.schools for stop in s.stop_ids}
    stops = [s for s in served if s.stop_id not in school_stops][:MAIN_STOPS]
    choices += [(f"stop:{s.stop_id}", f"Arrêt {s.name}") for s in stops]
    return choices[:MAX_PLACE_BUTTONS]


def offered_this_turn(tracker) -> bool:
    """True when the form has just offered close names as buttons (since the latest message)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == "transport_offered" and event.get("value"):
            return True
    return False


class ActionAskTransportPlace(Action):
    def name(self) -> str:
        return "action_ask_transport_place"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if offered_this_turn(tracker):  # « Lequel est le vôtre ? » with the close names was just asked
            return []
        choices = place_buttons(await feed())
        dispatcher.utter_message(
            response="utter_ask_transport_place",
            buttons=[button(title, "inform", choice=value) for value, title in choices],
        )
        return [SlotSet("transport_offered", [value for value, _ in choices])]


async def say_alerts(dispatcher) -> None:
    """The active crisis alerts about school transport (snow, strike: alerts/notices.py). A
    database that does not answer only skips them: the timetable answer must never fail."""
    try:
        alerts = await asyncio.to_thread(active_alerts, [ALERT_TOPIC])
    except Exception as exc:  # noqa: BLE001 - never block the answer
        logger.warning("active alerts not read for school transport: %s", type(exc).__name__)
        return
    for alert in alerts:
        dispatcher.utter_message(response="utter_transport_alert", alert=alert.text, link=alert.link or "")


class ActionTransportDone(TransportForm, FormDone):
    """The end of transport_form: the answer the question asked for."""

    slots = TRANSPORT_SLOTS
    stopped_response = "utter_transport_stopped"

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        network = await feed()
        kind = tracker.get_slot("transport_kind") or TIMES
        raw_day = tracker.get_slot("transport_day")
        day = date.fromisoformat(raw_day) if isinstance(raw_day, str) and raw_day else None
        place = valid_place(network, tracker.get_slot(PLACE_SLOT))
        if kind == REGISTRATION:
            self.registration(dispatcher)
        elif kind == HOLIDAYS and day is None:
            self.holidays(dispatcher)
        elif kind in (SERVICE, HOLIDAYS) or place is None:
            self.service(network, dispatcher, day or clock.today())
        elif place.startswith("stop:"):
            self.stop_times(network, dispatcher, place.removeprefix("stop:"), day)
        else:
            self.school_lines(network, dispatcher, TRANSPORT.school(place.removeprefix("school:")), day)
        await say_alerts(dispatcher)
        logger.info("school transport answered: %s (conversation %s)", kind, pseudonym(tracker.sender_id))
        return self.forget()

    @staticmethod
    def registration(dispatcher) -> None:
        r = TRANSPORT.registration
        today = clock.today()
        dispatcher.utter_message(
            response="utter_transport_registration",
            school_year=TRANSPORT.school_year,
            opens=format_date_fr(r.opens, with_weekday=False, today=today),
            closes=format_date_fr(r.closes, with_weekday=False, today=today),
            price=r.price,
            how=r.how,
            documents="\n".join(f"- {d}" for d in r.documents),
            late=r.late,
            service=SERVICE_CONTACT.name,
            phone=SERVICE_CONTACT.phone,
            buttons=[{"title": "S'inscrire en ligne", "type": "web_url", "url": str(r.url)}],
        )

    @staticmethod
    def holidays(dispatcher) -> None:
        today = clock.today()
        coming = [h for h in TRANSPORT.zone_holidays() if h.end >= today][:3]
        periods = "\n".join(
            f"- {h.name} : du {format_date_fr(h.start, today=today)} au {format_date_fr(h.end, today=today)}"
            for h in coming
        )
        dispatcher.utter_message(response="utter_transport_holidays", zone=TRANSPORT.zone, periods=periods)

    @staticmethod
    def service(network: SchoolFeed, dispatcher, day: date) -> None:
        today = clock.today()
        service = day_service(network, TRANSPORT, day)
        when = format_date_fr(day, today=today)
        if service.running:
            response = (
                "utter_transport_running_wednesday" if day.weekday() == 2 else "utter_transport_running"
            )
            dispatcher.utter_message(response=response, day=when, routes=join_fr(service.routes))
            return
        following = next_service_day(network, day + timedelta(days=1))
        if following is None:
            dispatcher.utter_message(
                response="utter_transport_not_running", day=when, reason=why_no_bus(service, today)
            )
            return
        dispatcher.utter_message(
            response="utter_transport_not_running_until",
            day=when,
            reason=why_no_bus(service, today),
            next_day=format_date_fr(following, today=today),
        )

    @staticmethod
    def stop_times(network: SchoolFeed, dispatcher, stop_id: str, day: date | None) -> None:
        today, now = clock.today(), clock.now()
        stop = network.stops[stop_id].name
        asked = day or today
        after = now.time().replace(second=0, microsecond=0) if asked == today else None
        found = passages_at(network, stop_id, asked, after)
        if found:
            dispatcher.utter_message(
                response="utter_transport_stop_times",
                stop=stop,
                day=format_date_fr(asked, today=today),
                passages=describe_passages_fr(network, found),
            )
            return
        following = next_service_day(network, asked + timedelta(days=1), stop_id)
        if following is None:
            dispatcher.utter_message(
                response="utter_transport_stop_no_more", stop=stop, service=SERVICE_CONTACT.name,
                phone=SERVICE_CONTACT.phone,
            )  # fmt: skip
            return
        values = dict(
            stop=stop,
            day=format_date_fr(asked, today=today),
            next_day=format_date_fr(following, today=today),
            passages=describe_passages_fr(network, passages_at(network, stop_id, following)),
        )
        service = day_service(network, TRANSPORT, asked)
        if after is not None and service.running:  # the day's last bus has gone
            dispatcher.utter_message(response="utter_transport_stop_none_left", **values)
        else:
            dispatcher.utter_message(
                response="utter_transport_stop_no_service", reason=why_no_bus(service, today), **values
            )

    @staticmethod
    def school_lines(network: SchoolFeed, dispatcher, school, day: date | None) -> None:
        today = clock.today()
        routes = routes_of_school(network, school)
        stop_id = school.stop_ids[0]
        asked = day or next_service_day(network, today, stop_id)
        if not routes or asked is None:
            dispatcher.utter_message(
                response="utter_transport_school_no_line", school=school.name, service=SERVICE_CONTACT.name,
                phone=SERVICE_CONTACT.phone,
            )  # fmt: skip
            return
        values = dict(school=school.name, routes=join_fr(routes), day=format_date_fr(asked, today=today))
        trips = school_trips(network, school, asked)
        if trips:
            trips_text = describe_school_trips_fr(school, trips)
            dispatcher.utter_message(response="utter_transport_school_lines", trips=trips_text, **values)
            return
        reason = why_no_bus(day_service(network, TRANSPORT, asked), today)
        following = next_service_day(network, asked + timedelta(days=1), stop_id)
        if following is None:
            dispatcher.utter_message(response="utter_transport_not_running", day=values["day"], reason=reason)
            return
        dispatcher.utter_message(
            response="utter_transport_school_no_service",
            reason=reason,
            next_day=format_date_fr(following, today=today),
            trips=describe_school_trips_fr(school, school_trips(network, school, following)),
            **values,
        )

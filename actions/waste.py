"""Waste in the chat: collection days by address, bulky-waste pick-ups, recycling centre,
sorting guide, and the citizen's remembered address (only with consent).

The content lives in territory/demo/{waste,recycling_center,sorting_guide,
bulky_waste_booking}.yml; the logic in waste/ (plain Python); this module reads the
messages and speaks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from datetime import timedelta
from typing import Any, Dict, List
from urllib.parse import urlencode

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import delete

from actions import booking_texts as texts
from actions.booking import (
    _KeepsWorkingSlots,
    channel_of,
    entity_values,
    fold,
    guarded,
    intent_of,
    is_digression,
    now_paris,
    pick_offered,
    surname_answer,
    text_of,
)
from actions.core import TERRITORY, pseudonym
from booking import engine
from booking.config import load_bulky_booking_config
from booking.models import RememberedAddress
from core.db import session_scope
from waste.calendar import describe_collections_fr, next_collections
from waste.config import load_waste_config
from waste.geocoder import GeocoderUnavailable, extract_address, geocoder_from_env
from waste.recycling import (
    access_fr,
    bulky_waste_fr,
    describe_center_fr,
    load_recycling_config,
    materials_fr,
    week_hours_fr,
)
from waste.sectors import sector_for
from waste.sorting import answer_fr, find_item, load_sorting_guide

logger = logging.getLogger(__name__)

WASTE = load_waste_config()
RECYCLING = load_recycling_config()
SORTING = load_sorting_guide()
BULKY = load_bulky_booking_config()
BULKY_SITES = [site.id for site in BULKY.sites]
WASTE_SERVICE = TERRITORY.services[TERRITORY.service_for(topic="waste")]
MAX_FAILURES = 3
MESSAGE_LIMIT = 900  # Messenger refuses longer texts with buttons

WASTE_SLOTS = (
    "waste_street",
    "waste_number",
    "waste_sector",
    "waste_stream",
    "waste_candidates",
    "waste_failures",
)
BULKY_SLOTS = (
    "bulky_street",
    "bulky_number",
    "bulky_items",
    "bulky_slot",
    "bulky_offered",
    "bulky_surname",
    "bulky_confirmed",
    "bulky_reference",
    "bulky_failures",
)


_GEOCODER = None


def geocoder():
    """One geocoder per process (the national one keeps an HTTP connection pool)."""
    global _GEOCODER
    if _GEOCODER is None:
        _GEOCODER = geocoder_from_env(
            [s.name for s in WASTE.streets],
            WASTE.postcode,
            WASTE.city,
            WASTE.citycode,
            aliases={s.name: s.aliases for s in WASTE.streets if s.aliases},
        )
    return _GEOCODER


def address_label(street: str, number: int | None) -> str:
    return f"{number} {street}" if number else street


def ics_url(sector: str, street: str) -> str:
    base = os.environ.get("GRU_PUBLIC_URL", "http://localhost:5005").rstrip("/")
    return f"{base}/webhooks/calendar/ics?{urlencode({'sector': sector, 'street': street})}"


def unknown_address_text() -> str:
    return (
        f"Je ne trouve pas cette adresse à {WASTE.city}. Vérifiez le nom de la rue (par exemple "
        f"« 12 avenue Jean Jaurès »). Le service environnement peut aussi vous renseigner : "
        f"{WASTE_SERVICE.phone}, {WASTE_SERVICE.email}."
    )


class _AddressReading:
    """Reads an address answer for a form whose slots are <prefix>_street and <prefix>_number."""

    prefix = "waste"
    needs_number_always = False

    def _fail(self, dispatcher, tracker, slot: str, message: str, buttons=None) -> Dict[str, Any]:
        failures = int(tracker.get_slot(f"{self.prefix}_failures") or 0) + 1
        dispatcher.utter_message(text=message, buttons=buttons or [])
        if failures >= MAX_FAILURES:
            dispatcher.utter_message(
                text=f"Vous pouvez aussi appeler le service environnement au {WASTE_SERVICE.phone}.",
                buttons=[texts.button("Parler à un agent", "human_handoff"), texts.button("Arrêter", "stop")],
            )
            failures = 0
        return {slot: None, f"{self.prefix}_failures": failures}

    async def _read_address(self, dispatcher, tracker, first_message: bool) -> Dict[str, Any]:
        choice = next(iter(entity_values(tracker, "choice")), None)
        if choice and choice.startswith("street:"):
            return self._street_found(
                dispatcher, tracker, choice[len("street:") :], tracker.get_slot(f"{self.prefix}_number")
            )
        words = entity_values(tracker, "address") if first_message else []
        text = " ".join(words) if first_message else text_of(tracker)
        if not text.strip():
            return {}
        try:
            candidates = await geocoder().search(extract_address(text), limit=5)
        except GeocoderUnavailable:
            logger.warning("geocoder unavailable (conversation %s)", pseudonym(tracker.sender_id))
            dispatcher.utter_message(
                text="Le service de recherche d'adresse ne répond pas pour le moment. "
                "Réessayez dans quelques "
                f"minutes, ou appelez le service environnement au {WASTE_SERVICE.phone}."
            )
            return {f"{self.prefix}_street": None}
        if not candidates:
            if first_message:
                return {}
            return self._fail(dispatcher, tracker, f"{self.prefix}_street", unknown_address_text())
        best = candidates[0]
        close = [c for c in candidates if best.score - c.score < 0.08 and c.street != best.street]
        if close:
            options = [best] + close[:3]
            dispatcher.utter_message(
                text="Plusieurs rues correspondent. Laquelle est la vôtre ?",
                buttons=[texts.button(c.street, "inform", choice=f"street:{c.street}") for c in options],
            )
            return {f"{self.prefix}_street": None, f"{self.prefix}_number": best.housenumber}
        return self._street_found(dispatcher, tracker, best.street, best.housenumber)

    def _street_found(self, dispatcher, tracker, street: str, number: int | None) -> Dict[str, Any]:
        if WASTE.street(street) is None:
            return self._fail(dispatcher, tracker, f"{self.prefix}_street", unknown_address_text())
        events: Dict[str, Any] = {
            f"{self.prefix}_street": street,
            f"{self.prefix}_number": number,
            f"{self.prefix}_failures": 0,
        }
        if self.prefix == "waste":
            match = sector_for(WASTE, street, number)
            events["waste_sector"] = match.sector
        return events

    def _read_number(self, dispatcher, tracker) -> Dict[str, Any]:
        text = fold(text_of(tracker))
        match = re.search(r"\b(\d{1,4})\s*(bis|ter|[a-d])?\b", text)
        slot = f"{self.prefix}_number"
        if not match:
            if re.search(r"pas de num|sans num", text) and not self.needs_number_always:
                return self._fail(
                    dispatcher,
                    tracker,
                    slot,
                    "Votre rue est partagée entre deux secteurs : "
                    "j'ai besoin du numéro pour vous répondre. Quel est votre numéro ?",
                )
            return self._fail(
                dispatcher,
                tracker,
                slot,
                "Indiquez le numéro de votre maison ou de votre immeuble, par exemple 12.",
            )
        number = int(match.group(1))
        events: Dict[str, Any] = {slot: number, f"{self.prefix}_failures": 0}
        if self.prefix == "waste":
            events["waste_sector"] = sector_for(WASTE, tracker.get_slot("waste_street"), number).sector
        return events


# ---- collection days -----------------------------------------------------------------------


def remembered(tracker: Tracker) -> RememberedAddress | None:
    with session_scope() as session:
        return session.get(RememberedAddress, (channel_of(tracker), tracker.sender_id))


class ValidateWasteForm(_AddressReading, _KeepsWorkingSlots, FormValidationAction):
    def name(self) -> str:
        return "validate_waste_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        street = tracker.get_slot("waste_street")
        if street and tracker.get_slot("waste_number") is None:
            if not sector_for(WASTE, street, None).needs_number:
                return ["waste_street"]
        return domain_slots

    async def extract_waste_street(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None and intent_of(tracker) == "waste_collection_day":
            events: Dict[str, Any] = {}
            streams = [v for v in entity_values(tracker, "waste_type") if v in WASTE.streams]
            events["waste_stream"] = streams[0] if streams else None
            if entity_values(tracker, "address"):
                return {**events, **await self._read_address(dispatcher, tracker, first_message=True)}
            saved = await asyncio.to_thread(remembered, tracker)
            if saved and not tracker.get_slot("waste_street"):
                dispatcher.utter_message(
                    text="J'utilise votre adresse enregistrée : "
                    + address_label(saved.street, saved.housenumber)
                    + "."
                )
                return {
                    **events,
                    "waste_street": saved.street,
                    "waste_number": saved.housenumber,
                    "waste_sector": saved.sector,
                }
            return events
        if requested != "waste_street" or is_digression(tracker):
            return {}
        return await self._read_address(dispatcher, tracker, first_message=False)

    async def extract_waste_number(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "waste_number" or is_digression(tracker):
            return {}
        return self._read_number(dispatcher, tracker)


class ActionWasteCollectionDays(Action):
    def name(self) -> str:
        return "action_waste_collection_days"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        street, number, sector = (
            tracker.get_slot(s) for s in ("waste_street", "waste_number", "waste_sector")
        )
        if not street or not sector:
            return []
        stream = tracker.get_slot("waste_stream")
        today = now_paris().date()
        found = next_collections(WASTE, sector, today, count=2, streams=[stream] if stream else None)
        label = address_label(street, number)
        heading = f"Au {label} :" if number else f"{street} :"  # « Au 3 rue… », « Rue Pasteur : »
        text = heading + "\n" + describe_collections_fr(WASTE, found, today, sector=sector)
        dispatcher.utter_message(text=text)
        saved = await asyncio.to_thread(remembered, tracker)
        link = {"title": "Calendrier (.ics)", "type": "web_url", "url": ics_url(sector, street)}
        if channel_of(tracker) == "facebook":  # Messenger: the calendar as a card, not a second link
            card = {
                "title": "Calendrier des collectes",
                "subtitle": f"Au {label}"[:80],
                "buttons": [{"type": "web_url", "title": "Ajouter à l'agenda", "url": link["url"]}],
            }
            dispatcher.utter_message(elements=[card])
            link = None
        if saved and saved.street == street and saved.housenumber == number:
            if link:
                dispatcher.utter_message(
                    text="Le calendrier des prochains mois pour votre agenda :", buttons=[link]
                )
            return [SlotSet("waste_failures", None)]
        dispatcher.utter_message(
            text=("Le calendrier des prochains mois pour votre agenda est en lien. " if link else "")
            + "Voulez-vous que je retienne votre adresse pour vos prochaines questions ?",
            buttons=([link] if link else [])
            + [texts.button("Oui, retenez-la", "affirm"), texts.button("Non merci", "deny")],
        )
        return [SlotSet("waste_failures", None)]


class ActionRememberAddress(Action):
    def name(self) -> str:
        return "action_remember_address"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        street, number, sector = (
            tracker.get_slot(s) for s in ("waste_street", "waste_number", "waste_sector")
        )
        if not street or not sector:
            dispatcher.utter_message(text="Je n'ai pas d'adresse à retenir pour l'instant.")
            return []

        def store():
            with session_scope(write=True) as session:
                session.merge(
                    RememberedAddress(
                        channel=channel_of(tracker),
                        sender_id=tracker.sender_id,
                        street=street,
                        housenumber=number,
                        sector=sector,
                        consented_at=engine.local_now(),
                    )
                )

        await asyncio.to_thread(store)
        dispatcher.utter_message(
            text="C'est noté, je retiendrai votre adresse. "
            "Pour que je l'oublie, écrivez « oubliez mes données »."
        )
        return []


class ActionForgetAddressChoice(Action):
    """The citizen declined: the address stays for this conversation only."""

    def name(self) -> str:
        return "action_address_not_kept"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(text="D'accord, je ne la garde que pour cette conversation.")
        return []


class ActionDeleteMyData(Action):
    """RGPD: forget what the assistant keeps about this citizen beyond the conversation."""

    def name(self) -> str:
        return "action_delete_my_data"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        def forget() -> int:
            with session_scope(write=True) as session:
                result = session.execute(
                    delete(RememberedAddress).where(
                        RememberedAddress.channel == channel_of(tracker),
                        RememberedAddress.sender_id == tracker.sender_id,
                    )
                )
                return result.rowcount or 0

        removed = await asyncio.to_thread(forget)
        mine = await asyncio.to_thread(engine.appointments_of, channel_of(tracker), tracker.sender_id)
        lines = [
            "C'est fait : votre adresse enregistrée est effacée."
            if removed
            else "Je n'avais aucune adresse enregistrée pour vous."
        ]
        if mine:
            lines.append(
                f"Vos {len(mine)} rendez-vous à venir restent réservés : "
                "écrivez « annuler mon rendez-vous » pour "
                "les annuler."
            )
        accueil = TERRITORY.services[TERRITORY.default_service]
        lines.append(
            f"Pour toute autre demande sur vos données personnelles (RGPD), écrivez à {accueil.email}."
        )
        dispatcher.utter_message(text="\n".join(lines))
        logger.info(
            "personal data deletion (conversation %s, address removed: %s)",
            pseudonym(tracker.sender_id),
            bool(removed),
        )
        return [SlotSet(slot, None) for slot in WASTE_SLOTS]


class ActionAbandonWaste(Action):
    def name(self) -> str:
        return "action_abandon_waste"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if intent_of(tracker) != "human_handoff":
            dispatcher.utter_message(
                text="D'accord, j'arrête. Que puis-je faire d'autre pour vous ?",
                buttons=[
                    texts.button("Déchets et collecte", "waste_collection_day"),
                    texts.button("Autre chose", "help"),
                ],
            )
        return [SlotSet(slot, None) for slot in WASTE_SLOTS + BULKY_SLOTS]


# ---- recycling centre and sorting guide ----------------------------------------------------------


class ActionRecyclingCenter(Action):
    def name(self) -> str:
        return "action_recycling_center"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        center = RECYCLING.centers[0]
        choice = next(iter(entity_values(tracker, "choice")), None)
        now = now_paris()
        if choice == "materials":
            text = materials_fr(center)
        elif choice == "access":
            text = access_fr(center)
        else:
            status = describe_center_fr(center, now)
            text = status + "\n" + week_hours_fr(center, now.date(), limit=MESSAGE_LIMIT - len(status) - 1)
        buttons = [
            texts.button("Ce qui est accepté", "recycling_center", choice="materials"),
            texts.button("Conditions d'accès", "recycling_center", choice="access"),
            texts.button("Encombrants", "bulky_waste"),
        ]
        dispatcher.utter_message(
            text=text, buttons=[b for b in buttons if not choice or choice not in b["payload"]]
        )
        return []


class ActionSortingRules(Action):
    def name(self) -> str:
        return "action_sorting_rules"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        choice = next(iter(entity_values(tracker, "choice")), None)
        asked = choice or text_of(tracker)
        matches = find_item(SORTING, asked)
        text = answer_fr(SORTING, matches, asked)
        buttons = []
        if len(matches) > 1 and not choice:
            buttons = [
                texts.button(m.item.name[:20], "sorting_rules", choice=m.item.name) for m in matches[:3]
            ]
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


# ---- bulky waste --------------------------------------------------------------------------------


class ActionBulkyWasteInfo(Action):
    def name(self) -> str:
        return "action_bulky_waste_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(
            text=bulky_waste_fr(RECYCLING),
            buttons=[
                texts.button("Réserver un enlèvement", "inform", choice="bulky_book"),
                texts.button("La déchetterie", "recycling_center"),
            ],
        )
        return []


def bulky_slots(offset: int = 0) -> List[engine.Slot]:
    today = engine.local_now().date()
    return engine.available_slots(
        BULKY_SITES,
        today,
        today + timedelta(days=BULKY.booking_window_days),
        BULKY.minutes_per_document,
        limit=4,
        offset=offset,
        config=BULKY,
        service="bulky_waste",
    )


class ActionAskBulkySlot(Action):
    def name(self) -> str:
        return "action_ask_bulky_slot"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        offered = await asyncio.to_thread(bulky_slots)
        if not offered:
            dispatcher.utter_message(
                text=f"Il n'y a plus de date libre pour le moment. Appelez le {BULKY.sites[0].phone}.",
                buttons=[texts.button("Parler à un agent", "human_handoff"), texts.button("Arrêter", "stop")],
            )
            return []
        buttons = [
            texts.button(texts.short_slot_fr(s).rsplit(" ", 2)[0] + " (matin)", "inform", choice=s.key)
            for s in offered
        ]
        dispatcher.utter_message(
            text="Quel matin vous convient ? L'équipe passe entre 8 h et 12 h ; "
            "sortez vos objets la veille au soir.",
            buttons=buttons,
        )
        return [SlotSet("bulky_offered", [s.key for s in offered])]


class ActionAskBulkyConfirmed(Action):
    def name(self) -> str:
        return "action_ask_bulky_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        slot = engine.Slot.from_key(tracker.get_slot("bulky_slot"), BULKY.minutes_per_document)
        address = address_label(tracker.get_slot("bulky_street"), tracker.get_slot("bulky_number"))
        dispatcher.utter_message(
            text="Je récapitule :\n"
            f"• Enlèvement d'encombrants le {texts.format_date_fr(slot.start.date())} au matin\n"
            f"• Au {address}, {WASTE.postcode} {WASTE.city}\n"
            f"• Objets : {tracker.get_slot('bulky_items')}\n"
            f"• Au nom de {tracker.get_slot('bulky_surname')}\n"
            "Je confirme la réservation ?",
            buttons=[texts.button("Oui, je confirme", "affirm"), texts.button("Non", "deny")],
        )
        return []


REFUSED_BULKY = re.compile(
    r"gravat|ciment|beton|terre|dechets? verts?|branch|tonte|pneu|peinture|solvant"
    r"|produits? (toxique|chimique)"
    r"|amiante|bouteilles? de gaz|batterie|ordures|sacs? poubelle|huile"
)


class ValidateBulkyForm(_AddressReading, _KeepsWorkingSlots, FormValidationAction):
    prefix = "bulky"
    needs_number_always = True

    def name(self) -> str:
        return "validate_bulky_form"

    async def extract_bulky_street(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None:
            if entity_values(tracker, "address"):
                return await self._read_address(dispatcher, tracker, first_message=True)
            saved = await asyncio.to_thread(remembered, tracker)
            if saved and saved.housenumber:
                dispatcher.utter_message(
                    text="J'utilise votre adresse enregistrée : "
                    + address_label(saved.street, saved.housenumber)
                    + "."
                )
                return {"bulky_street": saved.street, "bulky_number": saved.housenumber}
            return {}
        if requested != "bulky_street" or is_digression(tracker):
            return {}
        return await self._read_address(dispatcher, tracker, first_message=False)

    async def extract_bulky_number(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_number" or is_digression(tracker):
            return {}
        return self._read_number(dispatcher, tracker)

    async def extract_bulky_items(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_items" or is_digression(tracker):
            return {}
        text = " ".join(text_of(tracker).split())[:300]
        if len(text) < 3:
            return self._fail(
                dispatcher,
                tracker,
                "bulky_items",
                "Quels objets faut-il enlever ? Par exemple : « un canapé et un matelas ».",
            )
        refused = REFUSED_BULKY.search(fold(text))
        if refused:
            return self._fail(
                dispatcher,
                tracker,
                "bulky_items",
                f"« {refused.group(0)} » n'est pas pris par la collecte des encombrants : apportez-le à la "
                "déchetterie. Quels autres objets faut-il enlever ?",
            )
        return {"bulky_items": text, "bulky_failures": 0}

    async def extract_bulky_slot(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_slot" or is_digression(tracker):
            return {}
        choice = next(iter(entity_values(tracker, "choice")), None)
        if choice and choice.startswith("encombrants") or choice and "@" in choice:
            return {"bulky_slot": choice, "bulky_failures": 0}
        picked = pick_offered(fold(text_of(tracker)), tracker.get_slot("bulky_offered") or [])
        if picked:
            return {"bulky_slot": picked, "bulky_failures": 0}
        return self._fail(dispatcher, tracker, "bulky_slot", "Choisissez une des dates proposées.")

    async def extract_bulky_surname(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return surname_answer(self, dispatcher, tracker, "bulky_surname", "bulky_failures")

    async def extract_bulky_confirmed(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_confirmed":
            return {}
        intent = intent_of(tracker)
        if intent == "deny":
            return {"bulky_confirmed": False}
        if intent != "affirm":
            if is_digression(tracker):
                return {}
            return self._fail(
                dispatcher, tracker, "bulky_confirmed", "Répondez « oui » pour réserver, ou « non »."
            )
        slot = engine.Slot.from_key(tracker.get_slot("bulky_slot"), BULKY.minutes_per_document)
        address = f"{address_label(tracker.get_slot('bulky_street'), tracker.get_slot('bulky_number'))}"
        try:
            appt = await asyncio.to_thread(
                engine.book,
                slot,
                reason="ENCOMBRANTS",
                people=1,
                surname=tracker.get_slot("bulky_surname"),
                channel=channel_of(tracker),
                sender_id=tracker.sender_id,
                address=address,
                config=BULKY,
            )
        except (engine.SlotTaken, engine.SlotNotOffered):
            dispatcher.utter_message(
                text="Désolé, cette date vient d'être complète. Voici les autres dates libres."
            )
            return {"bulky_slot": None, "bulky_confirmed": None}
        logger.info("bulky-waste pick-up booked (conversation %s)", pseudonym(tracker.sender_id))
        return {"bulky_confirmed": True, "bulky_reference": appt.reference}


class ActionBulkyDone(Action):
    def name(self) -> str:
        return "action_bulky_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reference = tracker.get_slot("bulky_reference")
        if reference:
            slot = engine.Slot.from_key(tracker.get_slot("bulky_slot"), BULKY.minutes_per_document)
            dispatcher.utter_message(
                text=f"C'est réservé ! Votre référence : {reference}\n"
                f"Enlèvement le {texts.format_date_fr(slot.start.date())}, entre 8 h et 12 h.\n"
                "Sortez vos objets la veille au soir, devant chez vous, sans gêner le passage. "
                "Seuls les objets annoncés seront enlevés.\n"
                f"Pour annuler, écrivez « annuler mon rendez-vous » et donnez la référence {reference}."
            )
        else:
            dispatcher.utter_message(
                text="D'accord, je n'ai rien réservé.",
                buttons=[
                    texts.button("La déchetterie", "recycling_center"),
                    texts.button("Autre chose", "help"),
                ],
            )
        return [SlotSet(slot, None) for slot in BULKY_SLOTS]

"""One address reader for the two waste forms: collection days (waste_form) and the
bulky-waste pick-up (bulky_form). A form mixes it in and names its slots' prefix
(<prefix>_street, <prefix>_number)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict

from actions.common import MAX_CHOICE_CHARS, button, entity_values, text_of
from actions.core import pseudonym
from core.text import fold
from waste.geocoder import GeocoderUnavailable, LocalGeocoder, extract_address
from waste.sectors import sector_for

from .content import WASTE, WASTE_SERVICE, geocoder

logger = logging.getLogger(__name__)

CLOSE_SCORE = 0.08  # candidates this close to the best one are offered as buttons
_NUMBER = re.compile(r"\b(\d{1,4})\s*(bis|ter|[a-d])?\b")
_NO_NUMBER = re.compile(r"pas de num|sans num")


async def _search(query: str) -> list:
    """The geocoder's candidates; the local one (fuzzy matching: CPU work) runs in a thread so
    that it never holds the event loop, the national one is a network call on the loop."""
    found = geocoder()
    if isinstance(found, LocalGeocoder):
        return await asyncio.to_thread(found.search_now, query, 5)
    return await found.search(query, limit=5)


class AddressQuestions:
    """Mixed into a FormValidation: reads the street (geocoder, close streets as buttons)
    and the house number, with the form's failure counting (`self.fail`, `self.filled`)."""

    prefix = "waste"
    with_sector = True  # waste_form: the sector of the address is kept (waste_sector)

    async def read_address(self, dispatcher, tracker, first_message: bool) -> Dict[str, Any]:
        """The street (and number) in the message. On the form's first message only the
        address entity is read, and an address not found just lets the form ask."""
        street_slot, number_slot = f"{self.prefix}_street", f"{self.prefix}_number"
        choice = next(iter(entity_values(tracker, "choice")), None)
        if choice and choice.startswith("street:") and len(choice) <= MAX_CHOICE_CHARS:
            return self._street_found(
                dispatcher, tracker, choice[len("street:") :], tracker.get_slot(number_slot)
            )
        text = " ".join(entity_values(tracker, "address")) if first_message else text_of(tracker)
        if not text.strip():
            return {} if first_message else self._unknown(dispatcher, tracker)
        try:
            candidates = await _search(extract_address(text))
        except GeocoderUnavailable:
            logger.warning("geocoder unavailable (conversation %s)", pseudonym(tracker.sender_id))
            dispatcher.utter_message(response="utter_waste_geocoder_down", phone=WASTE_SERVICE.phone)
            return {street_slot: None}
        if not candidates:
            return {} if first_message else self._unknown(dispatcher, tracker)
        best = candidates[0]
        close = [c for c in candidates if best.score - c.score < CLOSE_SCORE and c.street != best.street]
        if close:
            dispatcher.utter_message(
                response="utter_waste_which_street",
                buttons=[button(c.street, "inform", choice=f"street:{c.street}") for c in [best] + close[:3]],
            )
            return {street_slot: None, number_slot: best.housenumber}
        return self._street_found(dispatcher, tracker, best.street, best.housenumber)

    def _unknown(self, dispatcher, tracker) -> Dict[str, Any]:
        return self.fail(
            dispatcher,
            tracker,
            f"{self.prefix}_street",
            "utter_waste_address_unknown",
            city=WASTE.city,
            phone=WASTE_SERVICE.phone,
            email=WASTE_SERVICE.email,
        )

    def _street_found(self, dispatcher, tracker, street: str, number: int | None) -> Dict[str, Any]:
        if WASTE.street(street) is None:
            return self._unknown(dispatcher, tracker)
        slots: Dict[str, Any] = {f"{self.prefix}_street": street, f"{self.prefix}_number": number}
        if self.with_sector:
            slots["waste_sector"] = sector_for(WASTE, street, number).sector
        return self.filled(**slots)

    def read_number(self, dispatcher, tracker) -> Dict[str, Any]:
        slot = f"{self.prefix}_number"
        text = fold(text_of(tracker))
        match = _NUMBER.search(text)
        if not match:
            if self.with_sector and _NO_NUMBER.search(text):
                return self.fail(dispatcher, tracker, slot, "utter_waste_number_needed")
            return self.fail(dispatcher, tracker, slot, "utter_waste_number_invalid")
        number = int(match.group(1))
        slots: Dict[str, Any] = {slot: number}
        if self.with_sector:
            slots["waste_sector"] = sector_for(WASTE, tracker.get_slot("waste_street"), number).sector
        return self.filled(**slots)

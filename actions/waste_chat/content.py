"""What the waste actions share: the territory's content files, loaded once per process,
the geocoder, and small value formatters (no sentence: those are responses)."""

from __future__ import annotations

from urllib.parse import urlencode

from rasa_sdk import Tracker

from actions.common import channel_of
from actions.core import TERRITORY
from booking import memory
from booking.config import load_bulky_booking_config
from core.http import public_url
from waste.config import load_waste_config
from waste.geocoder import geocoder_from_env
from waste.recycling import load_recycling_config
from waste.sorting import load_sorting_guide

WASTE = load_waste_config()
RECYCLING = load_recycling_config()
SORTING = load_sorting_guide()
BULKY = load_bulky_booking_config()
WASTE_SERVICE = TERRITORY.services[TERRITORY.service_for(topic="waste")]
MESSAGE_LIMIT = 900  # Messenger refuses longer texts with buttons

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
    """« 12 Avenue Jean Jaurès », or the street alone."""
    return f"{number} {street}" if number else street


def ics_url(sector: str, street: str) -> str:
    base = public_url()
    return f"{base}/webhooks/calendar/ics?{urlencode({'sector': sector, 'street': street})}"


def remembered(tracker: Tracker) -> memory.Remembered | None:
    """The address this citizen asked to be remembered (blocking: run it in a thread)."""
    return memory.recall(channel_of(tracker), tracker.sender_id)

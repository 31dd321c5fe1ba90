"""Events as cards (the generic template of Messenger, cards in the website's widget; the
elements also reach REST clients): title, when in French, where, price, an image when there
is one, « Plus d'infos » and « S'inscrire » links. Messenger cuts titles and subtitles at 80
characters: they are clipped here, with an ellipsis."""

from __future__ import annotations

from datetime import date
from typing import Dict, List

from core.text import format_date_fr, format_time_fr
from events.connector import Event

MAX_CARD_TEXT = 80
MORE_INFO = "Plus d'infos"
REGISTER = "S'inscrire"


def _clip(text: str, limit: int = MAX_CARD_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def when_fr(event: Event, today: date) -> str:
    """« samedi 5 décembre, 8 h – 13 h »; the year when it is not this year's."""
    day = format_date_fr(event.begin.date(), today=today)
    hours = format_time_fr(event.begin.time())
    if event.end is not None and event.end.date() == event.begin.date() and event.end > event.begin:
        hours += f" – {format_time_fr(event.end.time())}"
    return f"{day}, {hours}"


def card(event: Event, today: date, fallback_link: str | None = None) -> Dict[str, object]:
    where = event.place or event.city
    subtitle = " · ".join(part for part in (when_fr(event, today), where, event.price) if part)
    element: Dict[str, object] = {"title": _clip(event.title), "subtitle": _clip(subtitle)}
    link = event.link or fallback_link
    buttons: List[Dict[str, str]] = []
    if link:
        buttons.append({"type": "web_url", "url": link, "title": MORE_INFO})
        element["default_action"] = {"type": "web_url", "url": link}
    if event.registration and event.registration != link:
        buttons.append({"type": "web_url", "url": event.registration, "title": REGISTER})
    if event.image_url:
        element["image_url"] = event.image_url
    element["buttons"] = buttons
    return element


def cards(events: List[Event], today: date, fallback_link: str | None = None) -> List[Dict[str, object]]:
    return [card(event, today, fallback_link) for event in events]

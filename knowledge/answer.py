"""The answer to an everyday question: the entry's text, who to contact, the official page.

The entry's answer is the content team's text; this module adds, at answer time, what the
territory file knows: the service that handles it (name, phone, today's hours, open or closed
now — the same sentence as the opening-hours answers, core/territory.py), or, for a démarche
of another administration, which administration does it. The official page is a « Plus
d'infos » link button (a web_url button: a link card on Messenger, a link in the widget).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.territory import Territory, describe_status_fr, format_intervals_fr
from knowledge.content import Entry, Where

MORE_INFO = "Plus d'infos"
OFFICIAL_PAGE_BELOW = "La page officielle est en lien ci-dessous."


@dataclass(frozen=True)
class Answer:
    answer: str  # the entry's text
    contact: str  # who handles it: a service's contact and hours, or the other administration
    url: str  # the official page

    @property
    def link(self) -> dict:
        return {"title": MORE_INFO, "type": "web_url", "url": self.url}


def service_line(territory: Territory, service_key: str, at: datetime | None = None) -> str:
    """« Service : Accueil de la mairie, 01 23 45 67 89, aujourd'hui de 8 h 30 à 12 h. C'est
    ouvert en ce moment, jusqu'à 12 h. »"""
    service = territory.services[service_key]
    now = (at or territory.now()).astimezone(territory.tz)
    today = territory.day_schedule(service_key, now.date())
    hours = f"aujourd'hui {format_intervals_fr(today.intervals)}" if today.intervals else "fermé aujourd'hui"
    status = describe_status_fr(territory, service_key, now)
    return f"Service : {service.name}, {service.phone}, {hours}. {status}"


def build_answer(entry: Entry, territory: Territory, at: datetime | None = None) -> Answer:
    lines = []
    if entry.where is Where.autre_administration:
        lines.append(f"Cette démarche relève de : {entry.administration}. {OFFICIAL_PAGE_BELOW}")
        if entry.service:
            lines.append("La mairie peut vous orienter. " + service_line(territory, entry.service, at))
    elif entry.service:
        lines.append(service_line(territory, entry.service, at))
    else:
        lines.append(f"Cette démarche se fait en ligne. {OFFICIAL_PAGE_BELOW}")
    return Answer(entry.answer, "\n".join(lines), entry.official_url)

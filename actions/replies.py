"""The values the core conversation's responses (domain/core.yml) are filled with, taken
from the territory file: a service's contact, its week of opening hours, its coming
closures, the topics a message may be about. The sentences are in the domain; these
functions only pick and format values, so they are unit-tested without a tracker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Dict, List, Sequence, Tuple

from actions.common import Button, button
from core.territory import (
    Territory,
    describe_status_fr,
    format_date_fr,
    format_intervals_fr,
    format_week_fr,
)
from core.topics import INTENT_LABELS, INTENT_TOPICS

OTHER_TOPIC = "Autre chose"  # the last button of the suggestions


# Procedures the chat cannot complete (yet): the subject, a value of utter_topic_contact
# (« Pour {subject}, … »), and the link key in the territory file, if any. School transport,
# events and alerts have their own flows (actions/transport.py, events.py, alerts.py): never
# this routing-only answer again.
TOPIC_SUBJECTS: Dict[str, Tuple[str, str | None]] = {
    "book_appointment": ("la prise de rendez-vous pour une carte d'identité ou un passeport", "id_documents"),
    "cancel_appointment": ("l'annulation d'un rendez-vous", None),
    "reschedule_appointment": ("le changement de date d'un rendez-vous", None),
    "list_appointments": ("la consultation de vos rendez-vous", None),
    "waste_collection_day": ("les jours de collecte des déchets", "waste"),
    "bulky_waste": ("l'enlèvement des encombrants", "waste"),
    "recycling_center": ("la déchetterie", "waste"),
    "sorting_rules": ("le tri des déchets", "waste"),
    "welfare_guidance": ("les aides sociales", "welfare"),
    "request_status": ("le suivi de vos démarches", None),
    "subsidy_status": ("le suivi des demandes de subvention", None),
    "delete_my_data": ("l'effacement de vos données personnelles", "personal_data"),
}

# Intents never offered as "did you mean" suggestions: they are answers, not topics.
NOT_SUGGESTED = {
    "nlu_fallback",
    "out_of_scope",
    "inform",
    "affirm",
    "deny",
    "greet",
    "goodbye",
    "thank",
    "stop",
}

SERVICE_BUTTON_ORDER = ("accueil", "etat_civil", "ccas", "urbanisme", "services_techniques", "scolaire")
CLOSURE_DAYS = 14


def contact_values(territory: Territory, service_key: str, at: datetime | None = None) -> Dict[str, str]:
    """A service's name, phone, e-mail, address and open/closed sentence, for a response."""
    service = territory.services[service_key]
    return {
        "service_name": service.name,
        "phone": service.phone,
        "email": service.email,
        "address": service.address,
        "status": describe_status_fr(territory, service_key, at),
    }


def topic_contact_values(territory: Territory, intent: str, at: datetime | None = None) -> Dict[str, str]:
    """For a procedure not available in the chat: the subject, who handles it, the link."""
    subject = TOPIC_SUBJECTS[intent][0]
    service_key = territory.service_for(topic=INTENT_TOPICS.get(intent))
    return {"subject": subject, **contact_values(territory, service_key, at)}


def topic_link(territory: Territory, intent: str) -> str | None:
    """The page of the territory about a topic, if the territory file has one."""
    link_key = TOPIC_SUBJECTS[intent][1]
    return territory.links.get(link_key) if link_key else None


def opening_hours_values(territory: Territory, service_key: str, at: datetime) -> Dict[str, str]:
    """The week of a service, one line per open weekday, and its contact."""
    week = "\n".join(f"• {line}" for line in format_week_fr(territory.services[service_key]))
    return {**contact_values(territory, service_key, at), "week": week}


@dataclass(frozen=True)
class Closure:
    day: str  # « jeudi 24 décembre »
    hours: str  # « de 8 h 30 à 12 h », or "" when closed all day
    reason: str


def coming_closures(territory: Territory, service_key: str, today: date) -> List[Closure]:
    """The days of the coming two weeks when the service departs from its usual week."""
    return [
        Closure(
            day=format_date_fr(day.day),
            hours="" if not day.intervals else format_intervals_fr(day.intervals),
            reason=day.reason,
        )
        for day in territory.upcoming_closures(service_key, today, days=CLOSURE_DAYS)
    ]


def other_service_buttons(territory: Territory, current: str, limit: int = 4) -> List[Button]:
    keys = [k for k in SERVICE_BUTTON_ORDER if k in territory.services and k != current]
    keys += [k for k in territory.services if k not in keys and k != current]
    return [button(territory.services[k].name, "opening_hours", service=k) for k in keys[:limit]]


def fallback_suggestions(
    ranking: Sequence[dict], limit: int = 3, min_confidence: float = 0.05
) -> List[Button]:
    """Buttons for the most likely topics of a message the NLU was unsure about."""
    buttons = []
    for item in ranking:
        name = item.get("name")
        if name in NOT_SUGGESTED or name not in INTENT_LABELS:
            continue
        if (item.get("confidence") or 0.0) < min_confidence:
            continue
        buttons.append(button(INTENT_LABELS[name], name))
        if len(buttons) == limit:
            break
    return buttons


def fallback_reply(ranking: Sequence[dict], consecutive: int) -> Tuple[str, List[Button]]:
    """First miss: the likely topics (response and buttons). Second miss and after: a human
    contact (utter_fallback_human, whose buttons are fixed)."""
    if consecutive >= 2:
        return "utter_fallback_human", []
    suggestions = fallback_suggestions(ranking)
    response = "utter_fallback_suggest" if suggestions else "utter_fallback_rephrase"
    # « Autre chose » closes the list of suggestions, so it is passed with them.
    return response, suggestions + [button(OTHER_TOPIC, "help")]

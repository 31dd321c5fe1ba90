"""French texts built from the territory configuration (plain Python, no Rasa).

Actions call these and only pass the result to the dispatcher, so the wording is
unit-tested without a tracker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, List, Sequence, Tuple

from core.territory import (
    Territory,
    describe_status_fr,
    format_date_fr,
    format_intervals_fr,
    format_week_fr,
)

Button = Dict[str, str]

# Short French labels of the intents a citizen may be offered as a choice.
INTENT_LABELS: Dict[str, str] = {
    "book_appointment": "Prendre rendez-vous (CNI / passeport)",
    "cancel_appointment": "Annuler un rendez-vous",
    "reschedule_appointment": "Déplacer un rendez-vous",
    "list_appointments": "Voir mes rendez-vous",
    "id_documents_info": "Papiers d'identité",
    "waste_collection_day": "Jours de collecte",
    "bulky_waste": "Encombrants",
    "recycling_center": "Déchetterie",
    "sorting_rules": "Où jeter un déchet",
    "welfare_guidance": "Aides sociales",
    "request_status": "Suivre une démarche",
    "subsidy_status": "Suivre une subvention",
    "opening_hours": "Horaires d'ouverture",
    "school_transport": "Transport scolaire",
    "events": "Agenda des événements",
    "alerts_subscribe": "Recevoir les alertes",
    "alerts_unsubscribe": "Ne plus recevoir les alertes",
    "delete_my_data": "Effacer mes données",
    "human_handoff": "Parler à un agent",
    "help": "Voir ce que je sais faire",
}

# Which territory topic (and so which service) answers each intent.
INTENT_TOPICS: Dict[str, str] = {
    "book_appointment": "appointments",
    "cancel_appointment": "appointments",
    "reschedule_appointment": "appointments",
    "list_appointments": "appointments",
    "id_documents_info": "id_documents",
    "waste_collection_day": "waste",
    "bulky_waste": "waste",
    "recycling_center": "waste",
    "sorting_rules": "waste",
    "welfare_guidance": "welfare",
    "request_status": "tracking",
    "subsidy_status": "subsidies",
    "school_transport": "school_transport",
    "events": "events",
    "alerts_subscribe": "alerts",
    "alerts_unsubscribe": "alerts",
    "delete_my_data": "personal_data",
}

# What the citizen is told when a procedure cannot be completed in the chat (yet):
# the subject in French, and the link key in the territory file, if any.
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
    "school_transport": ("le transport scolaire", "school_transport"),
    "events": ("l'agenda des événements", "events"),
    "alerts_subscribe": ("l'inscription aux alertes", None),
    "alerts_unsubscribe": ("la désinscription des alertes", None),
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


def button(title: str, payload: str) -> Button:
    return {"title": title, "payload": payload}


def contact_lines(territory: Territory, service_key: str, at: datetime | None = None) -> List[str]:
    """Phone, e-mail, address and the open/closed sentence of one service."""
    service = territory.services[service_key]
    return [
        f"{service.name} : {service.phone}, {service.email}.",
        f"Adresse : {service.address}.",
        describe_status_fr(territory, service_key, at),
    ]


def handoff_text(territory: Territory, service_key: str, at: datetime | None = None) -> str:
    lines = [
        "Je ne peux pas encore vous passer un agent dans cette discussion. Voici qui contacter directement :",
        *contact_lines(territory, service_key, at),
    ]
    return "\n".join(lines)


def topic_contact_text(territory: Territory, intent: str, at: datetime | None = None) -> str:
    """For procedures not available in the chat: who handles it, how to reach them."""
    subject, link_key = TOPIC_SUBJECTS[intent]
    service_key = territory.service_for(topic=INTENT_TOPICS.get(intent))
    lines = [f"Pour {subject}, je ne peux pas encore vous répondre en détail ici. Le bon interlocuteur :"]
    lines += contact_lines(territory, service_key, at)
    link = territory.links.get(link_key) if link_key else None
    if link:
        lines.append(f"Plus d'informations : {link}")
    return "\n".join(lines)


def opening_hours_text(territory: Territory, service_key: str, at: datetime | None = None) -> str:
    service = territory.services[service_key]
    at = at or territory.now()
    lines = [f"{service.name} — horaires d'ouverture :"]
    lines += [f"• {line}" for line in format_week_fr(service)]
    lines.append(describe_status_fr(territory, service_key, at))
    for day in territory.upcoming_closures(service_key, at.date(), days=14):
        change = format_intervals_fr(day.intervals)
        change = "fermé" if change == "fermé" else f"ouvert seulement {change}"
        lines.append(f"Attention, {format_date_fr(day.day)} : {change} ({day.reason}).")
    lines.append(f"Adresse : {service.address}. Téléphone : {service.phone}.")
    return "\n".join(lines)


def other_service_buttons(territory: Territory, current: str, limit: int = 4) -> List[Button]:
    keys = [k for k in SERVICE_BUTTON_ORDER if k in territory.services and k != current]
    keys += [k for k in territory.services if k not in keys and k != current]
    return [button(territory.services[k].name, f'/opening_hours{{"service":"{k}"}}') for k in keys[:limit]]


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
        buttons.append(button(INTENT_LABELS[name], f"/{name}"))
        if len(buttons) == limit:
            break
    return buttons


def fallback_reply(
    territory: Territory, ranking: Sequence[dict], consecutive: int, at: datetime | None = None
) -> Tuple[str, List[Button]]:
    """First miss: suggest likely topics. Second miss and after: offer a human contact."""
    if consecutive >= 2:
        service_key = territory.default_service
        text = "\n".join(
            [
                "Je n'arrive pas à comprendre votre demande, désolé. Un agent pourra vous répondre :",
                *contact_lines(territory, service_key, at),
                "Vous pouvez aussi choisir un sujet ci-dessous.",
            ]
        )
        return text, [
            button("Voir les sujets", "/help"),
            button(INTENT_LABELS["human_handoff"], "/human_handoff"),
        ]
    suggestions = fallback_suggestions(ranking)
    if suggestions:
        text = "Je ne suis pas sûr d'avoir compris. Votre question concerne-t-elle l'un de ces sujets ?"
    else:
        text = "Je ne suis pas sûr d'avoir compris. Pouvez-vous reformuler en quelques mots ?"
    return text, suggestions + [button("Autre chose", "/help")]

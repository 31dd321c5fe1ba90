"""The subjects of a conversation, in one place: which topic of the territory file an intent
is about (and so which service answers it), and the French words agents, the statistics and
the buttons use for intents and topics. Plain data: the actions (replies, fallback), the agent
console and the statistics read it.
"""

from __future__ import annotations

from typing import Dict

# Short French labels of the intents a citizen may be offered as a choice (button titles).
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

# The topics of the conversation (INTENT_TOPICS, territory `topics`) in the agents' words.
TOPIC_LABELS: Dict[str, str] = {
    "appointments": "Rendez-vous CNI / passeport",
    "id_documents": "Pièces d'identité",
    "waste": "Déchets",
    "welfare": "Aide sociale",
    "tracking": "Suivi de démarche",
    "subsidies": "Suivi de subvention",
    "school_transport": "Transport scolaire",
    "events": "Événements",
    "alerts": "Alertes",
    "personal_data": "Données personnelles",
    "reports": "Signalement",
}


def topic_label(topic: str | None) -> str:
    return TOPIC_LABELS.get(topic or "", "Non précisé")

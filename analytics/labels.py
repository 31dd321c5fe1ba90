"""What the statistics call things, in the words of the people who read them: topics of the
messages, forms (démarches) and their questions, channels, how a form ended.

The topics extend core/topics.py (the topics of the territory file, which choose a service)
with the subjects that no service answers: everyday questions of the knowledge base,
conversation (bonjour, merci…), not understood. Unknown keys are shown as they are, so a new
form or slot appears in the dashboard before it has a label here.
"""

from __future__ import annotations

from typing import Dict

from core.topics import INTENT_TOPICS, TOPIC_LABELS

FALLBACK_INTENT = "nlu_fallback"
SMALL_TALK = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help", "stop", "inform", "out_of_scope"}
)
SATISFACTION_INTENTS = frozenset({"rate_helpful", "rate_unhelpful"})

ANALYTICS_TOPICS: Dict[str, str] = {
    **INTENT_TOPICS,
    "faq": "knowledge",
    "opening_hours": "opening_hours",
    "report_problem": "reports",
    "share_photo": "reports",
    "share_location": "reports",
    "reminder_request": "appointments",
    "human_handoff": "handoff",
    "rate_helpful": "satisfaction",
    "rate_unhelpful": "satisfaction",
    FALLBACK_INTENT: "not_understood",
    **{intent: "conversation" for intent in SMALL_TALK},
}

ANALYTICS_TOPIC_LABELS: Dict[str, str] = {
    **TOPIC_LABELS,
    "knowledge": "Questions de la vie quotidienne",
    "opening_hours": "Horaires d'ouverture",
    "handoff": "Demande d'un agent",
    "satisfaction": "Avis sur une réponse",
    "conversation": "Échanges courants (bonjour, merci…)",
    "not_understood": "Non compris",
    "other": "Autre",
}

FORM_LABELS: Dict[str, str] = {
    "booking_form": "Rendez-vous CNI / passeport",
    "cancel_form": "Annulation de rendez-vous",
    "reschedule_form": "Déplacement de rendez-vous",
    "reminder_form": "Rappel de rendez-vous",
    "waste_form": "Jours de collecte",
    "bulky_form": "Enlèvement d'encombrants",
    "welfare_form": "Orientation aides sociales",
    "tracking_form": "Suivi de dossier",
    "report_form": "Signalement",
    "alerts_form": "Inscription aux alertes",
    "transport_form": "Transport scolaire",
    "callback_form": "Demande de rappel par un agent",
    "satisfaction_form": "Avis sur une réponse",
}

QUESTION_LABELS: Dict[str, str] = {
    "document_type": "Type de document",
    "person_count": "Nombre de personnes",
    "application_ids": "Numéros de pré-demande",
    "booking_site": "Lieu du rendez-vous",
    "booking_when": "Date souhaitée",
    "booking_slot": "Choix du créneau",
    "booking_surname": "Nom de famille",
    "booking_confirmed": "Confirmation",
    "appointment_ref": "Référence du rendez-vous",
    "appointment_surname": "Nom de famille",
    "manage_confirmed": "Confirmation",
    "reminder_channel": "Moyen de rappel",
    "reminder_contact": "Adresse ou numéro du rappel",
    "waste_street": "Rue",
    "waste_number": "Numéro dans la rue",
    "bulky_street": "Rue",
    "bulky_number": "Numéro dans la rue",
    "bulky_items": "Objets à enlever",
    "bulky_slot": "Date d'enlèvement",
    "bulky_surname": "Nom de famille",
    "bulky_confirmed": "Confirmation",
    "welfare_for_whom": "Pour qui",
    "welfare_need": "Besoin",
    "welfare_age": "Âge",
    "welfare_place": "Lieu de vie",
    "tracking_ref": "Numéro de dossier",
    "tracking_factor": "E-mail ou nom du dossier",
    "report_category": "Type de problème",
    "report_place": "Lieu",
    "report_description": "Description",
    "report_photo": "Photo",
    "report_contact": "Coordonnées",
    "report_confirm": "Confirmation",
    "alerts_topics": "Sujets d'alerte",
    "alerts_sector": "Secteur",
    "alerts_channel": "Moyen de réception",
    "alerts_contact": "Adresse ou numéro",
    "alerts_consent": "Consentement",
    "transport_place": "Arrêt ou école",
    "callback_contact": "Téléphone ou e-mail",
    "callback_moment": "Moment du rappel",
    "callback_consent": "Consentement",
    "satisfaction_comment": "Commentaire",
}

CHANNEL_LABELS: Dict[str, str] = {
    "socketio": "Site web",
    "facebook": "Messenger",
    "rest": "API (REST)",
    "cmdline": "Terminal",
    "unknown": "Inconnu",
}

OUTCOME_LABELS: Dict[str, str] = {
    "completed": "Terminées",
    "stopped": "Arrêtées par l'usager",
    "handoff": "Passées à un agent",
    "failed": "Réponses non comprises (3 essais)",
    "switched": "Autre sujet demandé",
    "blocked": "Service indisponible",
    "abandoned": "Abandonnées (sans réponse)",
    "open": "En cours",
}

KIND_LABELS: Dict[str, str] = {
    "fallback": "Non comprise",
    "unhelpful": "Réponse jugée inutile",
    "comment": "Commentaire",
}


def topic_of(intent: str | None) -> str:
    """The analytics topic of an intent (« other » for an intent no table knows)."""
    return ANALYTICS_TOPICS.get(intent or "", "other")


def label(table: Dict[str, str], key: str | None) -> str:
    return table.get(key or "", key or "—")

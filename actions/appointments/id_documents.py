"""Carte nationale d'identité (CNI) and passport: what to bring, price, delays, minors, loss, theft.

Plain Python first (topic detection, the responses and buttons of an answer), then one thin
action. The texts are responses of domain/appointments.yml (one per sub-topic and document);
the facts they state (fees, delays, official links) come from territory/national_facts.yml.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, Iterable, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from booking.facts import load_national_facts
from core.text import fold_words

logger = logging.getLogger(__name__)

Button = Dict[str, str]

TOPIC_ENTITY = "id_topic"
DOCUMENT_ENTITY = "document_type"
INTENT = "id_documents_info"

# Canonical order: answers and buttons always follow it.
TOPICS: Tuple[str, ...] = (
    "pieces",
    "price",
    "delay",
    "minor",
    "loss_theft",
    "pre_application",
    "validity",
)

TOPIC_LABELS: Dict[str, str] = {
    "pieces": "Pièces à fournir",
    "price": "Prix",
    "delay": "Délais et retrait",
    "minor": "Pour un mineur",
    "loss_theft": "Perte ou vol",
    "pre_application": "Pré-demande en ligne",
    "validity": "Durée de validité",
}

# Offered as buttons after an answer, in this order, when not already answered.
RELATED: Dict[str, Tuple[str, ...]] = {
    "pieces": ("price", "pre_application"),
    "price": ("pieces", "minor"),
    "delay": ("pieces", "pre_application"),
    "minor": ("pieces", "price"),
    "loss_theft": ("pieces", "price"),
    "pre_application": ("pieces", "delay"),
    "validity": ("pieces", "delay"),
}

# Sub-topics whose answer does not depend on the document.
SAME_FOR_BOTH = ("pre_application",)

# Answers per message: more would not fit the ~900-character budget of one message.
MAX_TOPICS_PER_ANSWER = 2
MAX_RELATED_BUTTONS = 2


# --------------------------------------------------------------------------- detection


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces ("Pré-demande ?" -> "pre demande")."""
    return fold_words(text, keep="€")


# Patterns run on normalize(text). Word boundaries keep "vol" from matching "volontaire", etc.
_PATTERNS: Dict[str, Tuple[str, ...]] = {
    "pieces": (
        r"\bpieces?\b(?! d ?identite)",  # "pièces à fournir", not "pièce d'identité" (the subject)
        r"\bjustificatifs?\b",
        r"\b(quels?|quelles?|comme) papiers?\b(?! d ?identite)",
        r"\bpapiers? (a|pour) (fournir|apporter|amener|ramener|presenter)\b",
        r"\b(fournir|apporter|amener|ramener)\b",
        r"\bquoi (apporter|amener|prendre|ramener)\b",
        r"\b(il faut|faut il|faut) quoi\b",
        r"\bque faut il\b(?! (payer|attendre))",
        r"\b(quels?|quelles?) documents?\b",
        r"\bdocuments? (a|necessaires?|demandes?|obligatoires?)\b",
        r"\bphotos?\b",
        r"\bdomicile\b",
        r"\bheberge",
        r"\bancien(ne)? (carte|passeport|titre|cni|document)\b",  # the old document is handed in
    ),
    "price": (
        r"\bprix\b",
        r"\btarifs?\b",
        r"(?<!dure )(?<!valable )(?<!prend )(?<!attendre )\b(combien|cb|cbien|cmb|comb1)\b"
        r"(?! (de |d )?(temps|jours?|semaines?|mois|ans|annees?))",
        r"\b[ck]out(e|es|ent|er|ait|erait)?\b",  # coût, coûte, "ca coute", "sa koute"
        r"\btimbres?\b",
        r"\bgratuite?s?\b",
        r"\bpayante?s?\b",
        r"\bpay(er|e|es|ez)\b",
        r"\bfrais\b",
        r"\bmontant\b",
        r"\beuros?\b",
        r"€",
    ),
    "delay": (
        r"\bdelais?\b",
        r"\bdelay\b",
        r"(?<!moins de )(?<!valable )(?<!valide )\bcombien de temps\b"
        r"(?! (est |reste |sont )?(valable|valide))"
        r"(?! dure (un |une |mon |ma |le |la )?(passeport|carte|cni))",
        r"\b(prend|attendre|faut attendre) combien\b",
        r"\b(en|au bout de) combien de (jours|semaines|mois)\b",
        r"\b(quand|kan|qd)\b.*"
        r"\b(recevoir|recois|recoi|recoit|recevrai|aurai|avoir|recuper(er|e)|prete?|disponible|arrive)\b",
        r"\b(recevoir|recevrai|recois|recoi|recoit)\b",
        r"\bretra(it|its)\b",
        r"\bretirer\b",
        r"\brecuper(er|e|es|ez)\b",
        r"\bfabri(cation|que|quee)\b",
        r"\bsuivi\b",
        r"\bsuivre (ma|mon|la|le) (demande|dossier|carte|passeport|cni)\b",
        r"\b(urgent|urgente|urgence|vite|rapidement|accelere|acceleree)\b",
        r"\b(rendez vous|rdv) dure\b",
        r"\bdure(e)? (du|de mon|de la) (rendez vous|rdv)\b",
        r"\bsms\b",
    ),
    "minor": (
        r"\bmineure?s?\b",
        r"\benfants?\b",
        r"\bfils\b",
        r"\bfilles?\b",
        r"\b(bebe|bebes|bb|nourrisson)\b",
        r"\b(ado|ados|adolescente?s?)\b",
        r"\bautorite parentale\b",
        r"(?<!chez mes )(?<!chez ses )(?<!chez les )(?<!chez )\bparents?\b",
        r"\b(du|mon|notre|ma|la|au) petite?\b(?! (question|souci|probleme|doute|erreur))",
        r"\bmoins de 18 ans\b",
    ),
    "loss_theft": (
        # "j'ai perdu mon numéro de pré-demande" is about the pré-demande, not a lost document
        r"\bperdu(e|s|es)?\b"
        r"(?! (mon |ma |le |la )?(numero|code|qr|identifiant|mot de passe|convocation|rdv|rendez))",
        r"\bperte\b",
        r"\bvol(e|ee|es|ees|er)\b",
        # "vol" is also a flight: "mon vol pour Rome" is not a theft
        r"(?<!mon )(?<!notre )(?<!son )(?<!ton )\bvol\b"
        r"(?! (pour|le|en|a|vers|demain|dans|direct|retour|aller|part))",
        r"\bplus (la |le |les )?(re)?trouver\b",
        r"\b(la |le |les )?(re)?trouves? plus\b",
        r"\bintrouvable\b",
        r"\begare(e|s|es)?\b",
        r"\bpaume(e|s|es)?\b",
        r"\bplainte\b",
        r"\bcambriol",
    ),
    "pre_application": (
        r"\bpre ?demandes?\b",
        r"\bpredemmandes?\b",
        r"\bants\b",
        r"\bformulaires?\b",
        r"\bcerfa\b",
        r"\bqr ?code\b",
    ),
    "validity": (
        r"\bvalidite\b",
        r"\bcombien de temps dure (un |une |mon |ma |le |la )?(passeport|carte|cni)\b",
        r"\bvalables?\b",
        r"\bvalides?\b",
        r"\bexpir(e|ee|es|ees|er|ation|ent)\b",
        r"\bperime(e|s|es)?\b",
        r"\bduree\b(?! (du|de mon|de la) (rendez vous|rdv))",
        r"(?<!rdv )(?<!rendez vous )\bdure combien\b",
        r"\bfin de validite\b",
        r"\b(nouveau|ancien) (format|modele)\b",
        r"\bformat carte\b",
    ),
}

_COMPILED: Dict[str, Tuple[re.Pattern[str], ...]] = {
    topic: tuple(re.compile(p) for p in patterns) for topic, patterns in _PATTERNS.items()
}


MAX_QUESTION_CHARS = 500


def detect_topics(text: str) -> List[str]:
    """Sub-topics asked about, in canonical order; [] when nothing specific is asked."""
    if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("/"):
        return []  # a button payload carries its topic in the entity, not in words
    clean = normalize(text[:MAX_QUESTION_CHARS])  # a question is short; a longer text is cut
    return [topic for topic in TOPICS if any(p.search(clean) for p in _COMPILED[topic])]


def _strings(value: Any) -> List[str]:
    """The strings in an entity or slot value: "a", ["a", "b"] or [["a"], "b"]; anything else dropped."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set)):
        return [s for item in value for s in _strings(item)]
    return []


def normalize_document_type(value: Any) -> str | None:
    """Returns "cni" or "passeport" from an entity or slot value (any case or spelling), else None."""
    found = set()
    for item in _strings(value):
        clean = normalize(item)
        if re.search(r"\b(passeports?|passports?|passe port)\b", clean):
            found.add("passeport")
        if re.search(r"\b(cni|carte|identite)\b", clean):
            found.add("cni")
    return found.pop() if len(found) == 1 else None  # both named: answer for both


def normalize_topics(value: Any) -> List[str]:
    """Known sub-topics from an entity value (a string, "a,b", or a list), canonical order."""
    wanted = set()
    for item in _strings(value):
        wanted.update(part.strip().lower() for part in re.split(r"[,;\s]+", item))
    return [topic for topic in TOPICS if topic in wanted]


# --------------------------------------------------------------------------- texts


def button(title: str, payload: str) -> Button:
    return {"title": title, "payload": payload}


def intent_payload(intent: str, entities: Dict[str, str] | None = None) -> str:
    """A Rasa payload: "/intent" or "/intent{"entity":"value"}" with valid JSON."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def appointment_button(document_type: str | None) -> Button:
    entities = {DOCUMENT_ENTITY: document_type} if document_type else None
    return button("Prendre rendez-vous", intent_payload("book_appointment", entities))


def topic_button(topic: str, document_type: str | None) -> Button:
    entities = {TOPIC_ENTITY: topic}
    if document_type:
        entities[DOCUMENT_ENTITY] = document_type
    return button(TOPIC_LABELS[topic], intent_payload(INTENT, entities))


def _key(document_type: str | None) -> str:
    return document_type or "any"


def topic_response(topic: str, document_type: str | None) -> str:
    """The response answering one sub-topic: at most two short paragraphs."""
    return f"utter_id_{topic}" if topic in SAME_FOR_BOTH else f"utter_id_{topic}_{_key(document_type)}"


def id_documents_messages(topics: Iterable[str] | None, document_type: str | None) -> List[Dict[str, Any]]:
    """The messages answering the sub-topics asked (the overview when none is known): each a
    response of domain/appointments.yml with the national facts as values; the buttons go
    with the last one."""
    document_type = document_type if document_type in ("cni", "passeport") else None
    values = load_national_facts().values()
    asked = [t for t in TOPICS if t in set(topics or ())]
    if not asked:
        buttons = [topic_button(t, document_type) for t in TOPICS] + [appointment_button(document_type)]
        return [{"response": f"utter_id_overview_{_key(document_type)}", "buttons": buttons, **values}]

    answered = asked[:MAX_TOPICS_PER_ANSWER]
    messages: List[Dict[str, Any]] = [
        {"response": topic_response(t, document_type), **values} for t in answered
    ]
    links = f"utter_id_links_{_key(document_type)}" + ("_ants" if "pre_application" in answered else "")

    # Topics asked but left for later come first, then the usual follow-ups.
    follow_ups: List[str] = asked[MAX_TOPICS_PER_ANSWER:]
    for topic in answered:
        follow_ups += [t for t in RELATED[topic] if t not in answered]
    follow_ups = list(dict.fromkeys(follow_ups))[:MAX_RELATED_BUTTONS]
    buttons = [appointment_button(document_type)] + [topic_button(t, document_type) for t in follow_ups]
    messages.append({"response": links, "buttons": buttons, **values})
    return messages


# --------------------------------------------------------------------------- action


def _entity_values(tracker: Tracker, entity: str) -> List[Any]:
    """All values of one entity in the latest user message (an empty list if none or malformed)."""
    entities = (tracker.latest_message or {}).get("entities") or []
    return [e.get("value") for e in entities if isinstance(e, dict) and e.get("entity") == entity]


def document_type_of(tracker: Tracker) -> str | None:
    """The document named in the latest message, else the one kept in the slot (if any)."""
    from_message = normalize_document_type(_entity_values(tracker, DOCUMENT_ENTITY))
    if from_message or _entity_values(tracker, DOCUMENT_ENTITY):
        return from_message  # named in this message: an ambiguous "both" wins over an older slot
    return normalize_document_type(tracker.get_slot(DOCUMENT_ENTITY))


def topics_of(tracker: Tracker) -> List[str]:
    """The sub-topics from the id_topic entity (buttons), else from the words of the message."""
    from_entity = normalize_topics(_entity_values(tracker, TOPIC_ENTITY))
    if from_entity:
        return from_entity
    return detect_topics((tracker.latest_message or {}).get("text") or "")


class ActionIdDocumentsInfo(Action):
    """Answers questions about the carte d'identité and the passport, topic by topic."""

    def name(self) -> str:
        return "action_id_documents_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        try:
            messages = id_documents_messages(topics_of(tracker), document_type_of(tracker))
        except Exception:  # never leave the citizen without an answer
            logger.exception("id_documents answer failed, sending the overview")
            messages = id_documents_messages([], None)
        for message in messages:
            dispatcher.utter_message(**message)
        return []

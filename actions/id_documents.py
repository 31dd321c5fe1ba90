"""Carte nationale d'identité (CNI) and passport: what to bring, price, delays, minors, loss, theft.

Plain Python first (topic detection and French texts, unit-tested without Rasa), then one thin
action. Facts follow service-public.fr; anything not covered here is left to the official link.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, Iterable, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

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

LINK_CNI = "https://www.service-public.fr/particuliers/vosdroits/N358"
LINK_PASSPORT = "https://www.service-public.fr/particuliers/vosdroits/N360"
LINK_ANTS = "https://ants.gouv.fr"

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


def detect_topics(text: str) -> List[str]:
    """Sub-topics asked about, in canonical order; [] when nothing specific is asked."""
    if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("/"):
        return []  # a button payload carries its topic in the entity, not in words
    clean = normalize(text)
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


def _doc(document_type: str | None) -> Dict[str, str]:
    """French words for the document, so each text reads naturally for CNI, passport or both."""
    if document_type == "cni":
        return {"your": "votre carte d'identité", "old": "votre ancienne carte"}
    if document_type == "passeport":
        return {"your": "votre passeport", "old": "votre ancien passeport"}
    return {"your": "votre document", "old": "votre ancien document"}


PRICE_PASSPORT = "Passeport : timbre fiscal de 86 € pour un adulte, 42 € de 15 à 17 ans, 17 € avant 15 ans."
PRICE_CNI = (
    "Carte d'identité : gratuite. Elle coûte 25 € (timbre fiscal) si vous ne présentez pas "
    "l'ancienne carte, en cas de perte ou de vol."
)
STAMP = (
    "Le timbre fiscal est une taxe payée à l'avance. "
    "Il s'achète en ligne sur timbres.impots.gouv.fr ou dans un bureau de tabac."
)


def _pieces(document_type: str | None) -> List[str]:
    doc = _doc(document_type)
    first = (
        "À apporter au rendez-vous : votre numéro de pré-demande (ou le formulaire papier rempli à la "
        "mairie), une photo d'identité de moins de 6 mois, conforme aux normes, et un justificatif de "
        f"domicile de moins de 1 an. Pour un renouvellement, apportez aussi {doc['old']}."
    )
    if document_type == "cni":
        second = "Carte perdue ou volée : ajoutez un timbre fiscal de 25 €."
    elif document_type == "passeport":
        second = "Ajoutez le timbre fiscal du passeport (86 € pour un adulte)."
    else:
        second = "Pour un passeport, ajoutez le timbre fiscal (86 € pour un adulte)."
    return [first, f"{second} Cas particulier : voir le lien ci-dessous."]


def _price(document_type: str | None) -> List[str]:
    if document_type == "cni":
        return [PRICE_CNI, STAMP]
    if document_type == "passeport":
        return [PRICE_PASSPORT, STAMP]
    return [f"{PRICE_CNI}\n{PRICE_PASSPORT}", STAMP]


def _delay(document_type: str | None) -> List[str]:
    doc = _doc(document_type)
    if document_type == "cni":
        keep = "Vous avez 3 mois pour la retirer. Sinon, elle est détruite."
    else:
        keep = "Vous avez 3 mois pour le retirer. Sinon, il est détruit."
    return [
        "Le rendez-vous en mairie dure environ 15 minutes par document. Ensuite, le délai de fabrication "
        "varie : comptez plusieurs semaines. Vous pouvez suivre l'avancement sur ants.gouv.fr.",
        f"Un SMS vous dit quand venir chercher {doc['your']}, dans la mairie où vous avez déposé la "
        f"demande. {keep}",
    ]


def _minor(document_type: str | None) -> List[str]:
    first = (
        "L'enfant doit être présent au rendez-vous. Ses empreintes digitales sont relevées à partir de "
        "12 ans. Il vient avec un parent qui exerce l'autorité parentale (le droit de décider pour "
        "l'enfant). Ce parent apporte sa propre pièce d'identité."
    )
    if document_type == "cni":
        second = "La carte d'identité est gratuite (25 € en cas de perte ou de vol)."
    elif document_type == "passeport":
        second = (
            "Timbre fiscal du passeport : 42 € de 15 à 17 ans, 17 € avant 15 ans. "
            "Le passeport d'un mineur est valable 5 ans."
        )
    else:
        second = (
            "La carte d'identité est gratuite. Le passeport coûte 42 € de 15 à 17 ans et 17 € avant 15 ans."
        )
    return [first, second]


def _loss_theft(document_type: str | None) -> List[str]:
    first = (
        "Perte : vous déclarez la perte pendant le rendez-vous, à la mairie. "
        "Vol : déclarez d'abord le vol à la police ou à la gendarmerie. Apportez au rendez-vous le "
        "récépissé de déclaration de vol (le papier remis lors de la déclaration)."
    )
    if document_type == "cni":
        second = "Refaire une carte d'identité perdue ou volée coûte 25 € (timbre fiscal)."
    elif document_type == "passeport":
        second = PRICE_PASSPORT
    else:
        second = (
            "Une carte d'identité perdue ou volée coûte 25 € (timbre fiscal). "
            "Un passeport coûte 86 € pour un adulte."
        )
    return [first, second]


def _pre_application(document_type: str | None) -> List[str]:
    return [
        "La pré-demande se fait en ligne sur ants.gouv.fr, avant le rendez-vous. Vous obtenez un numéro "
        "de pré-demande (10 lettres et chiffres) et un QR code. Gardez-les pour le rendez-vous.",
        "Vous n'avez pas internet ? Vous pouvez remplir le formulaire papier officiel (appelé cerfa) "
        "à la mairie.",
    ]


def _validity(document_type: str | None) -> List[str]:
    cni = "Une carte d'identité délivrée depuis mars 2021 (format carte bancaire) est valable 10 ans."
    passport = "Un passeport est valable 10 ans pour un adulte et 5 ans pour un mineur."
    older = "Carte plus ancienne ou date dépassée : vérifiez votre cas sur le lien ci-dessous."
    if document_type == "cni":
        return [cni, older]
    if document_type == "passeport":
        return [passport, "Date dépassée ou doute : vérifiez votre cas sur le lien ci-dessous."]
    return [f"{cni}\n{passport}", older]


_WRITERS = {
    "pieces": _pieces,
    "price": _price,
    "delay": _delay,
    "minor": _minor,
    "loss_theft": _loss_theft,
    "pre_application": _pre_application,
    "validity": _validity,
}


def topic_paragraphs(topic: str, document_type: str | None) -> List[str]:
    """The answer to one sub-topic: at most two short paragraphs."""
    return _WRITERS[topic](document_type)


def links_text(document_type: str | None, with_ants: bool = False) -> str:
    if document_type == "cni":
        lines = [f"Plus d'informations : {LINK_CNI}"]
    elif document_type == "passeport":
        lines = [f"Plus d'informations : {LINK_PASSPORT}"]
    else:
        lines = [f"Carte d'identité : {LINK_CNI}", f"Passeport : {LINK_PASSPORT}"]
    if with_ants:
        lines.append(f"Pré-demande : {LINK_ANTS}")
    return "\n".join(lines)


def overview_text(document_type: str | None) -> str:
    if document_type == "cni":
        subject = "La carte d'identité se demande"
    elif document_type == "passeport":
        subject = "Le passeport se demande"
    else:
        subject = "La carte d'identité et le passeport se demandent"
    return "\n\n".join(
        [
            f"{subject} en personne, sur rendez-vous, dans une mairie équipée d'une station biométrique "
            "(l'appareil qui relève les empreintes digitales). Ce n'est pas forcément la mairie où vous "
            "habitez. Le rendez-vous dure environ 15 minutes par document.",
            "Avant, faites si possible la pré-demande en ligne sur ants.gouv.fr. Sinon, vous remplirez "
            "le formulaire papier à la mairie.",
            "Je peux vous en dire plus sur : les pièces à fournir, le prix, les délais, les mineurs, la "
            "perte ou le vol, la pré-demande, la durée de validité. Que voulez-vous savoir ?",
            links_text(document_type, with_ants=True),
        ]
    )


def id_documents_answer(topics: Iterable[str] | None, document_type: str | None) -> Tuple[str, List[Button]]:
    """The French text and buttons for the sub-topics asked (overview when none is known)."""
    document_type = document_type if document_type in ("cni", "passeport") else None
    asked = [t for t in TOPICS if t in set(topics or ())]
    if not asked:
        buttons = [topic_button(t, document_type) for t in TOPICS]
        return overview_text(document_type), buttons + [appointment_button(document_type)]

    answered = asked[:MAX_TOPICS_PER_ANSWER]
    paragraphs: List[str] = []
    for topic in answered:
        paragraphs += topic_paragraphs(topic, document_type)
    paragraphs.append(links_text(document_type, with_ants="pre_application" in answered))

    # Topics asked but left for later come first, then the usual follow-ups.
    follow_ups: List[str] = asked[MAX_TOPICS_PER_ANSWER:]
    for topic in answered:
        follow_ups += [t for t in RELATED[topic] if t not in answered]
    follow_ups = list(dict.fromkeys(follow_ups))[:MAX_RELATED_BUTTONS]
    buttons = [appointment_button(document_type)] + [topic_button(t, document_type) for t in follow_ups]
    return "\n\n".join(paragraphs), buttons


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
            text, buttons = id_documents_answer(topics_of(tracker), document_type_of(tracker))
        except Exception:  # never leave the citizen without an answer
            logger.exception("id_documents answer failed, sending the overview")
            text, buttons = id_documents_answer([], None)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []

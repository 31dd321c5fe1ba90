"""What a citizen's message says, for the appointment forms: plain parsers over the
latest message (no database, no French answers)."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date, time
from typing import Any, Dict, List

from rasa_sdk import Tracker

from actions.common import entity_values, intent_of, text_of
from core.dates import NUMBER_WORDS, When
from core.text import ORDINALS_FR, clip, fold

# Longest answer the booking readers read: a few pre-application numbers with words around
# them fit in 300 characters; the rest of a longer message is not read.
MAX_ANSWER_CHARS = 300
MAX_ENTITY_CHARS = 40  # an entity value (a button's or the NLU's) longer than this is not a value


def _answer(tracker: Tracker) -> str:
    """What the citizen typed, clipped to MAX_ANSWER_CHARS, folded."""
    return fold(clip(text_of(tracker), MAX_ANSWER_CHARS))


def _values(tracker: Tracker, entity: str) -> List[str]:
    """The entity's values of a sensible length (a forged payload may carry anything)."""
    return [v for v in entity_values(tracker, entity) if len(v) <= MAX_ENTITY_CHARS]


APPLICATION_ID = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{10}(?![A-Za-z0-9])")
ALMOST_ID = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{7,13}(?![A-Za-z0-9])")
_REFERENCE = re.compile(r"\bRDV[\s-]?([A-Za-z0-9]{6})\b", re.IGNORECASE)
ALONE = (
    "moi seul",
    "moi seule",
    "juste moi",
    "que moi",
    "seulement moi",
    "uniquement moi",
    "moi uniquement",
    "pour moi",
    "juste pour moi",
    "je suis seul",
    "je suis seule",
    "seul",
    "seule",
    "moi",
)
_HEAD_COUNT = re.compile(
    r"\b(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")\s*(personnes?|pers\b|adultes?|enfants?)"
)


def document_type_in(tracker: Tracker, requested: bool) -> str | None:
    """cni | passeport | les_deux from the message, if it names one."""
    values = {fold(v) for v in _values(tracker, "document_type")}
    values = {
        "passeport" if v.startswith("pass") else "cni" if v in ("cni", "carte", "ci") else v for v in values
    }
    text = _answer(tracker)
    if "les_deux" in values or {"cni", "passeport"} <= values:
        return "les_deux"
    if requested and re.search(r"\bles (deux|2)\b|\bd?es deux\b|\bcni et passeport\b", text):
        return "les_deux"
    for value in ("cni", "passeport"):
        if value in values:
            return value
    if requested:
        if re.search(r"\bpass?(e?port)?\b", text):
            return "passeport"
        if re.search(r"\b(cni|carte|identite)\b", text):
            return "cni"
    return None


def parse_person_count(tracker: Tracker, requested: bool) -> int | None:
    for value in _values(tracker, "person_count"):
        digits = value.isascii() and value.isdigit()
        number = NUMBER_WORDS.get(fold(value)) or (int(value) if digits else None)
        if number:
            return number
    text = _answer(tracker)
    explicit = _HEAD_COUNT.search(text)  # « pour 2 personnes », even when the NLU missed the entity
    if explicit:
        word = explicit.group(1)
        return int(word) if word.isdigit() else NUMBER_WORDS[word]
    if not requested:
        return None
    match = re.search(r"\b(\d{1,2})\b", text)
    if match:
        return int(match.group(1))
    for word, number in NUMBER_WORDS.items():
        if word in ("un", "une"):
            # « un passeport » is not a head count; « une », « une personne » are.
            if re.fullmatch(r"(juste |seulement )?(un|une)( seule)?( personne| pers)?", text):
                return 1
        elif re.search(rf"\b{word}\b", text):
            return number
    if re.search(r"\b(nous|on)\s+(deux|2)\b|\ba deux\b|\bmoi et (mon|ma)\b", text):
        return 2
    if any(re.search(rf"\b{phrase}\b", text) for phrase in ALONE):
        return 1
    return None


def application_ids_in(text: str) -> List[str]:
    """10-character pre-application numbers: letters and digits mixed, or all capitals."""
    found = []
    for token in APPLICATION_ID.findall(clip(text, MAX_ANSWER_CHARS)):
        mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if mixed or token.isupper() or token.isdigit():
            found.append(token.upper())
    return list(dict.fromkeys(found))


def application_ids_of(tracker: Tracker) -> List[str]:
    """The pre-application numbers of the message: typed, or found by the NLU."""
    found = application_ids_in(text_of(tracker)) + [a.upper() for a in _values(tracker, "application_id")]
    return [a for a in dict.fromkeys(found) if APPLICATION_ID.fullmatch(a)]


def says_no_pre_application(tracker: Tracker) -> bool:
    text = _answer(tracker)
    if re.search(
        r"papier|formulaire|cerfa|pas (de|fait|eu)|aucun|n'ai pas|j'en ai pas|jen ai pas|sur place", text
    ):
        return True
    return intent_of(tracker) == "deny"


def references_in(tracker: Tracker) -> List[str]:
    """Booking references (RDV-XXXXXX) of the message, from the NLU or the words."""
    typed = _REFERENCE.findall(clip(text_of(tracker), MAX_ANSWER_CHARS))
    values = _values(tracker, "reference") + [f"RDV-{m}" for m in typed]
    return [
        v.upper().replace(" ", "-")
        for v in values
        if re.fullmatch(r"RDV-[A-Za-z0-9]{6}", v.replace(" ", "-"))
    ]


def pick_offered(text: str, offered: List[str]) -> str | None:
    """The offered slot a typed answer points at: « le premier », « 10h15 », « le 2e »."""
    if not text or not offered:
        return None
    text = clip(text, MAX_ANSWER_CHARS)
    ordinals = {**ORDINALS_FR, "dernier": len(offered) - 1}
    match = re.fullmatch(r"(le |la )?(\w+)( creneau)?", text)
    if match and match.group(2) in ordinals and ordinals[match.group(2)] < len(offered):
        return offered[ordinals[match.group(2)]]
    hour = re.search(r"\b(\d{1,2})\s*(?:h|:)\s*(\d{2})?\b", text)
    if hour:
        wanted = f"T{int(hour.group(1)):02d}:{int(hour.group(2) or 0):02d}"
        matches = [key for key in offered if key.endswith(wanted)]
        if len(matches) == 1:
            return matches[0]
    return None


def when_to_dict(when: When) -> Dict[str, Any]:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in asdict(when).items()
    }


def when_from_dict(data: Dict[str, Any]) -> When:
    def t(v):
        return time.fromisoformat(v) if v else None

    return When(
        start=date.fromisoformat(data["start"]),
        end=date.fromisoformat(data["end"]),
        time_from=t(data.get("time_from")),
        time_to=t(data.get("time_to")),
        preferred_time=t(data.get("preferred_time")),
        specific_day=bool(data.get("specific_day")),
    )

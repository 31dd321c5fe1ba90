"""Reading a citizen's message and building buttons: shared by every action module.

Plain helpers over rasa-sdk's Tracker. The French texts a citizen reads are domain
responses (domain/*.yml); these helpers only read and pass values.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List

from rasa_sdk import Tracker

from core.text import fold, plain

Button = Dict[str, str]


# ---- reading the latest message -------------------------------------------------------------


def intent_of(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def confidence_of(tracker: Tracker) -> float:
    return float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)


def text_of(tracker: Tracker) -> str:
    """What the citizen typed; "" for a button payload (it carries entities, not words)."""
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text


def entity_values(tracker: Tracker, name: str) -> List[str]:
    return [
        str(e.get("value")) for e in tracker.latest_message.get("entities") or [] if e.get("entity") == name
    ]


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "inconnu"


MAX_CHOICE_CHARS = 80  # a button value (« <site>@2026-12-19T10:00 », « street:… ») is shorter


def offered_choice(value: Any, offered: Any) -> str | None:
    """A button's value if it is one of the values offered (a `*_offered` list slot), else None:
    a forged payload (made-up key, another service's, a huge string, not a string) is no answer."""
    if not isinstance(value, str) or not value or len(value) > MAX_CHOICE_CHARS:
        return None
    if not isinstance(offered, list) or value not in offered:
        return None
    return value


# ---- yes / no -------------------------------------------------------------------------------------

_YES = {
    "oui",
    "ouais",
    "ouai",
    "oue",
    "yes",
    "ok",
    "okay",
    "d'accord",
    "dacc",
    "dac",
    "daccord",
    "bien sur",
    "tout a fait",
    "exactement",
    "c'est ca",
    "c'est bon",
    "je confirme",
    "confirme",
    "confirmer",
    "parfait",
    "volontiers",
    "oui merci",
    "oui svp",
    "oui s'il vous plait",
    "absolument",
    "exact",
    "valider",
    "je valide",
}
_NO = {
    "non",
    "nan",
    "no",
    "non merci",
    "pas du tout",
    "surtout pas",
    "je ne confirme pas",
    "ne pas confirmer",
    "annuler",
    "non pas ca",
    "pas ca",
    "jamais",
}


def read_yes_no(tracker: Tracker) -> bool | None:
    """True for yes, False for no, None when the answer is neither (then the question counts
    a failure). The intent decides when the NLU is sure; short words otherwise."""
    words = fold(text_of(tracker)).strip(" .!")
    if words in _YES:
        return True
    if words in _NO:
        return False
    intent = intent_of(tracker)
    if intent in ("affirm", "deny") and (confidence_of(tracker) >= 0.6 or not words):
        return intent == "affirm"
    return None


# ---- surnames -----------------------------------------------------------------------------------

# What French citizens' names contain once folded: letters, spaces, hyphens, apostrophes
# (N'Diaye, Lœuillet → Loeuillet, de La Fontaine, Le Gall, Müller, Nguyễn → Nguyen).
_SURNAME = re.compile(r"^[A-Za-z][A-Za-z' -]{0,59}$")
# Every leading prefix at once (« c'est au nom de Mme … »): one anchored pass, not a loop
# that rescans the text after each prefix.
_NAME_PREFIX = re.compile(
    r"^(?:(?:c'?est|je m'appelle|mon nom(?: de famille)?(?: est| c'?est| c)?|le nom(?: est| c'?est| c)?|"
    r"au nom de|nom ?:|"
    r"m\.|mr|mme|mlle|madame|monsieur|mademoiselle)\s+)+",
    re.IGNORECASE,
)
MAX_NAME_INPUT = 200  # longer texts are not names: refused before any regular expression runs


def clean_surname(text: str) -> str | None:
    """The surname in « c'est au nom de Mme N’Diaye » → « N'DIAYE »; None if it is not a name.

    Accents and ligatures are kept for display (« LŒUILLET »); comparisons fold them
    (core.text.fold_key), so « Loeuillet » finds « Lœuillet ».
    """
    if not text or len(text) > MAX_NAME_INPUT:
        return None
    text = " ".join(text.replace("’", "'").replace("ʼ", "'").split()).strip(" .!")
    text = _NAME_PREFIX.sub("", text, count=1).strip()
    text = text.strip(" -'")
    if not text or len(text.split()) > 4 or not _SURNAME.match(plain(text)):
        return None
    return text.upper()


def is_name_answer(
    tracker: Tracker, question_intents=("stop", "human_handoff", "cancel_appointment")
) -> bool:
    """A name asked for and given: the NLU may read « Marchand » as a question (help, 0.58),
    but a short answer without a question mark and without a confident intent is the name;
    « stop » and « annuler » always stop."""
    text = text_of(tracker)
    if intent_of(tracker) in question_intents or "?" in text or confidence_of(tracker) >= 0.9:
        return False
    return len(text.split()) <= 3 and (clean_surname(text) is not None or "@" in text)


# ---- buttons --------------------------------------------------------------------------------------


def payload(intent: str, **entities: Any) -> str:
    """« /inform{"choice":"any"} »: a button's payload, read by the NLU without guessing."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def button(title: str, intent: str, **entities: Any) -> Button:
    return {"title": title, "payload": payload(intent, **entities)}

"""What a school transport question asks, from its words: registration (« comment inscrire
mon enfant », « combien ça coûte »), whether the buses run on a day (« le car passe-t-il
demain ? », « pendant les vacances »), or times (« à quelle heure… », the default, which
needs a stop or a school). The NLU recognises the topic (intent school_transport); this
tells its three kinds apart on folded words, as the recycling centre's answer does.
"""

from __future__ import annotations

import re

from core.text import clip, fold_words

MAX_TEXT_CHARS = 400
REGISTRATION = "registration"
SERVICE = "service"
HOLIDAYS = "holidays"  # « pendant les vacances » without a day: the coming holidays
TIMES = "times"
KINDS = (REGISTRATION, SERVICE, HOLIDAYS, TIMES)

_REGISTRATION = re.compile(
    r"\b(inscri\w*|reinscri\w*|tarifs?|prix|cout\w*|combien|gratuit\w*|abonnement\w*|payer|paie|"
    r"dossier|pieces?|papiers?|documents?|carte|pass|formulaire|derogation)\b"
)
_SERVICE = re.compile(
    r"\b(passe t il|passe t'il|circule\w*|roule\w*|maintenu\w*|annule\w*|supprime\w*|greve\w*|neige\w*|"
    r"verglas|intemperies?|vacances|ferie|pont|y a t il (?:un |le )?(?:car|bus)|"
    r"est ce que (?:le|les) (?:car|bus|cars) (?:passe|passent|circule|circulent|roule|roulent))\b"
)
_TIMES = re.compile(r"\b(heure|heures|horaires?|quelle heure|a quelle|quand passe|ligne|lignes|arret)\b")


def kind_of(text: str) -> str:
    """registration | service | holidays | times."""
    words = fold_words(clip(text, MAX_TEXT_CHARS).replace("-", " "))
    if _REGISTRATION.search(words):
        return REGISTRATION
    if _SERVICE.search(words) and not _TIMES.search(words):
        return HOLIDAYS if re.search(r"\bvacances\b", words) else SERVICE
    return TIMES

"""Welfare triage: which aid a person could ask for, and where — an orientation, never a decision.

Plain Python (no Rasa). The rules follow service-public.fr (APA F10009, AAH F12242, PCH F14202,
RSA F19778, PMI, CCAS); only the office that instructs a request can decide, so every text says
"vous pourriez", never "vous avez droit". Amounts and resource ceilings are not stated: they
change every year and depend on the household; the answers point to the official simulator.

- `Situation` is what the conversation knows; `parse_situation_text` fills it from free text.
- `missing_questions` says what to ask next (short triage), `assess` ranks the aids,
  `answer_fr` writes the French messages, `detect_danger` finds emergencies to answer first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List

from core.territory import Service
from core.text import clip, fold_words
from welfare.config import EmergencyLine, WelfareConfig, load_welfare_config

FOR_WHOM = ("self", "parent", "child", "spouse", "other")
NEEDS = ("autonomy", "disability", "pregnancy_child", "low_resources")
PLACES = ("home", "establishment")
LIKELIHOODS = ("likely", "possible", "unlikely")

APA_MIN_AGE = 60
GIR_APA_MAX = 4
AAH_MIN_AGE = 20
AAH_MIN_AGE_NOT_DEPENDENT = 16
AAH_FULL_RATE = 80
AAH_PARTIAL_RATE = 50
PCH_AGE_LIMIT = 60
PMI_CHILD_MAX_AGE = 5  # children under 6: 0 to 5 included
RSA_MIN_AGE = 25
ADULT_AGE = 18
MAX_QUESTIONS = 4
MESSAGE_MAX = 900


@dataclass(frozen=True)
class Situation:
    for_whom: str | None = None  # "self" | "parent" | "child" | "spouse" | "other"
    age: int | None = None  # age of the person concerned
    need: str | None = None  # "autonomy" | "disability" | "pregnancy_child" | "low_resources"
    place: str | None = None  # "home" | "establishment" (autonomy)
    gir: int | None = None  # 1..6 if known
    incapacity: int | None = None  # percentage if known (MDPH)
    disability_before_60: bool | None = None
    pregnant: bool | None = None
    child_age: int | None = None
    has_child: bool | None = None


@dataclass(frozen=True)
class Suggestion:
    aid: str  # apa | aah | pch | pmi | rsa | ccas
    likelihood: str  # "likely" | "possible" | "unlikely"
    why_fr: str  # "vous pourriez être éligible car…" — never a promise


# How texts name each aid after "éligible" (the config's `name` is the full title).
ELIGIBLE_TO = {
    "apa": "être éligible à l'APA",
    "aah": "être éligible à l'AAH",
    "pch": "être éligible à la PCH",
    "pmi": "bénéficier du suivi gratuit de la PMI",
    "rsa": "être éligible au RSA",
    "ccas": "être aidé par le CCAS",
}


def _subject(s: Situation) -> tuple[str, str]:
    """("Vous pourriez", "vous") or ("Votre parent pourrait", "la personne")."""
    who = {
        "parent": "Votre parent",
        "child": "Votre enfant",
        "spouse": "Votre conjoint ou conjointe",
        "other": "Votre proche",
    }.get(s.for_whom or "self")
    return ("Vous pourriez", "vous") if who is None else (f"{who} pourrait", "la personne")


def _could(s: Situation, aid: str) -> str:
    return f"{_subject(s)[0]} {ELIGIBLE_TO[aid]}"


def _years(age: int) -> str:
    return f"{age} an" if age <= 1 else f"{age} ans"


# ---- assessment --------------------------------------------------------------------------------


def _apa(s: Situation) -> Suggestion:
    if s.age is not None and s.age < APA_MIN_AGE:
        return Suggestion(
            "apa",
            "unlikely",
            f"L'APA est réservée aux personnes de {APA_MIN_AGE} ans ou plus ({_years(s.age)} indiqués). "
            "Avant 60 ans, c'est la MDPH (PCH) qui peut aider ; le CCAS ou la caisse de retraite "
            "peuvent aussi proposer une aide à domicile.",
        )
    if s.gir is not None and s.gir > GIR_APA_MAX:
        return Suggestion(
            "apa",
            "unlikely",
            f"Avec un GIR {s.gir}, l'APA n'est en principe pas accordée (elle concerne les GIR 1 à 4). "
            "La caisse de retraite ou le CCAS peuvent aider pour l'aide à domicile ou le ménage.",
        )
    where = {"home": " (APA à domicile)", "establishment": " (APA en établissement)"}.get(s.place or "", "")
    if s.age is not None and s.gir is not None:
        return Suggestion(
            "apa",
            "likely",
            f"{_could(s, 'apa')}{where} : {_years(s.age)} et un GIR {s.gir} correspondent aux "
            "conditions (60 ans ou plus, GIR 1 à 4, résidence stable en France). "
            "Le Département décide après son évaluation.",
        )
    known_age = f"l'âge indiqué ({_years(s.age)}) correspond, et " if s.age is not None else ""
    return Suggestion(
        "apa",
        "possible",
        f"{_could(s, 'apa')}{where} : {known_age}l'APA s'adresse aux personnes de 60 ans ou plus en "
        "perte d'autonomie (GIR 1 à 4) ; une équipe du Département évalue le GIR à domicile.",
    )


def _aah(s: Situation) -> Suggestion:
    notes, level = [], "possible"
    if s.age is not None and s.age < AAH_MIN_AGE:
        level = "unlikely"
        notes.append(
            f"L'AAH est versée à partir de {AAH_MIN_AGE} ans ({_years(s.age)} indiqués), ou dès "
            f"{AAH_MIN_AGE_NOT_DEPENDENT} ans si la personne n'est plus à la charge de ses parents pour "
            "les prestations familiales."
        )
    rate = s.incapacity
    if rate is not None and rate < AAH_PARTIAL_RATE:
        level = "unlikely"
        notes.append(f"Un taux d'incapacité de {rate} % est en dessous du minimum de 50 % pour l'AAH.")
    elif rate is not None and rate < AAH_FULL_RATE:
        notes.append(
            f"Avec un taux de {rate} % (entre 50 et 79 %), l'AAH dépend de l'évaluation de la MDPH : "
            "il faut une restriction substantielle et durable d'accès à l'emploi (RSDAE)."
        )
    elif rate is not None:
        level = "likely" if level != "unlikely" else level
        notes.append(f"Un taux d'incapacité de {rate} % atteint le seuil de 80 %.")
    else:
        notes.append(
            "L'AAH demande un taux d'incapacité d'au moins 80 %, ou de 50 à 79 % avec une restriction "
            "durable d'accès à l'emploi, fixé par la MDPH."
        )
    notes.append("Les ressources doivent aussi rester sous un plafond.")
    head = f"{_could(s, 'aah')}. " if level != "unlikely" else "L'AAH semble peu probable pour l'instant. "
    return Suggestion("aah", level, head + " ".join(notes))


def _pch(s: Situation) -> Suggestion:
    rule = (
        "La PCH concerne une difficulté absolue pour une activité essentielle (se laver, se déplacer…) "
        "ou grave pour deux."
    )
    if s.age is None or s.age < PCH_AGE_LIMIT:
        known = f" ({_years(s.age)}, avant 60 ans)" if s.age is not None else ""
        return Suggestion("pch", "possible", f"{_could(s, 'pch')}{known}. {rule} La MDPH évalue le besoin.")
    if s.disability_before_60 is False:
        return Suggestion(
            "pch",
            "unlikely",
            f"Après 60 ans ({_years(s.age)} indiqués), la PCH n'est possible que si le handicap remplissait "
            "déjà les critères avant 60 ans, ou si la personne travaille encore. L'APA est l'aide prévue "
            "après 60 ans.",
        )
    why = (
        "le handicap remplissait les critères avant 60 ans"
        if s.disability_before_60
        else "le handicap remplissait déjà les critères avant 60 ans (ou si la personne travaille encore)"
    )
    lead = "car" if s.disability_before_60 else "si"
    return Suggestion(
        "pch", "possible", f"{_could(s, 'pch')} après 60 ans {lead} {why}. {rule} La MDPH évalue le besoin."
    )


def _child_age(s: Situation) -> int | None:
    if s.child_age is not None:
        return s.child_age
    return s.age if s.for_whom == "child" else None


def _pmi(s: Situation) -> Suggestion:
    child_age = _child_age(s)
    if s.pregnant:
        return Suggestion(
            "pmi",
            "likely",
            f"{_could(s, 'pmi')} : la PMI suit gratuitement les femmes enceintes, "
            "sans condition de ressources.",
        )
    if child_age is not None and child_age <= PMI_CHILD_MAX_AGE:
        return Suggestion(
            "pmi",
            "likely",
            f"{_subject(s)[0] if s.for_whom == 'child' else 'Vous pourriez'} {ELIGIBLE_TO['pmi']} : "
            f"la PMI suit gratuitement les enfants de moins de 6 ans ({_years(child_age)}), sans condition "
            "de ressources.",
        )
    if child_age is not None:
        return Suggestion(
            "pmi",
            "unlikely",
            f"La PMI suit les enfants de moins de 6 ans ({_years(child_age)} indiqués). Pour un enfant plus "
            "grand, voyez le médecin traitant ou la médecine scolaire ; le CCAS peut aider si les "
            "ressources manquent.",
        )
    return Suggestion(
        "pmi",
        "possible",
        f"{_could(s, 'pmi')} : la PMI suit gratuitement les femmes enceintes et les enfants de moins "
        "de 6 ans, sans condition de ressources.",
    )


def _rsa(s: Situation) -> Suggestion:
    ceiling = (
        "à condition que les ressources du foyer soient sous un plafond qui dépend de la composition du "
        "foyer (simulateur sur mesdroitssociaux.gouv.fr)."
    )
    family = bool(s.pregnant or s.has_child)
    if s.age is not None and s.age < ADULT_AGE:
        return Suggestion(
            "rsa", "unlikely", f"Le RSA n'est pas versé avant 18 ans ({_years(s.age)} indiqués)."
        )
    if s.age is not None and s.age < RSA_MIN_AGE and not family:
        return Suggestion(
            "rsa",
            "unlikely",
            f"Le RSA est en principe réservé aux 25 ans ou plus ({_years(s.age)} indiqués). Exceptions "
            "entre 18 et 24 ans : être enceinte, avoir un enfant à charge (ou en attendre un), ou le "
            "« RSA jeune actif » si vous avez beaucoup travaillé ces dernières années.",
        )
    if s.age is not None and s.age < RSA_MIN_AGE:
        reason = "une grossesse" if s.pregnant else "un enfant à charge"
        return Suggestion(
            "rsa",
            "possible",
            f"{_could(s, 'rsa')} : entre 18 et 24 ans, le RSA est possible avec {reason}, {ceiling}",
        )
    known = f" ({_years(s.age)}, 25 ans ou plus)" if s.age is not None else ""
    return Suggestion("rsa", "possible", f"{_could(s, 'rsa')}{known}, {ceiling}")


def _ccas(s: Situation) -> Suggestion:
    if s.need == "autonomy":
        extra = " Il peut aussi orienter vers l'aide à domicile de la caisse de retraite."
    elif s.need == "low_resources":
        extra = " Il peut aussi vous aider à faire la demande de RSA."
    else:
        extra = ""
    subject = _subject(s)[0]
    return Suggestion(
        "ccas",
        "possible",
        f"{subject} {ELIGIBLE_TO['ccas']} : aides d'urgence (alimentation, factures), domiciliation et "
        f"aide pour remplir les dossiers.{extra}",
    )


_RANK = {level: index for index, level in enumerate(LIKELIHOODS)}


def assess(s: Situation) -> List[Suggestion]:
    """The aids worth mentioning, best first; the CCAS closes the list whenever nothing is likely
    (and always for low resources or autonomy, where it is a real help)."""
    found: List[Suggestion] = []
    if s.need == "autonomy":
        found.append(_apa(s))
        if s.age is not None and (s.age < PCH_AGE_LIMIT or s.disability_before_60):
            found.append(_pch(s))
    elif s.need == "disability":
        child = s.age is not None and s.age < AAH_MIN_AGE_NOT_DEPENDENT
        if not child:
            found.append(_aah(s))
        found.append(_pch(s))
        if s.age is not None and s.age >= APA_MIN_AGE and s.disability_before_60 is not True:
            found.append(_apa(s))
    elif s.need == "pregnancy_child":
        found.append(_pmi(s))
    elif s.need == "low_resources":
        found.append(_rsa(s))
        if s.pregnant or (s.child_age is not None and s.child_age <= PMI_CHILD_MAX_AGE):
            found.append(_pmi(s))
    found.sort(key=lambda suggestion: _RANK[suggestion.likelihood])
    if s.need in (None, "autonomy", "low_resources") or not any(x.likelihood == "likely" for x in found):
        found.append(_ccas(s))
    return found


# ---- triage questions ----------------------------------------------------------------------------


def _aid_for(s: Situation) -> str | None:
    return {
        "autonomy": "apa",
        "disability": "aah",
        "pregnancy_child": "pmi",
        "low_resources": "rsa",
    }.get(s.need or "")


def missing_questions(s: Situation, aid: str | None = None) -> List[str]:
    """The Situation fields to ask next, in order, known ones skipped (at most 4)."""
    aid = aid or _aid_for(s)
    wanted: List[str] = ["for_whom"]
    older = s.age is not None and s.age >= PCH_AGE_LIMIT
    if aid is None or aid == "ccas":
        wanted += ["need", "age"]
    elif aid == "apa":
        wanted.append("age")
        apa_ruled_out = (s.age is not None and s.age < APA_MIN_AGE) or (s.gir or 0) > GIR_APA_MAX
        if not apa_ruled_out:
            wanted += ["place", "gir"]
    elif aid in ("aah", "pch"):
        wanted.append("age")
        if aid == "aah" and not (s.age is not None and s.age < AAH_MIN_AGE_NOT_DEPENDENT):
            wanted.append("incapacity")
        if older:
            wanted.append("disability_before_60")
    elif aid == "pmi":
        if not s.pregnant and _child_age(s) is None:
            if s.for_whom in (None, "self", "spouse"):
                wanted.append("pregnant")
            wanted.append("child_age")
    elif aid == "rsa":
        wanted.append("age")
        young = s.age is not None and ADULT_AGE <= s.age < RSA_MIN_AGE
        if young and not s.has_child and not s.pregnant:
            wanted += ["has_child", "pregnant"]
    missing = [field for field in wanted if getattr(s, field) is None]
    return missing[:MAX_QUESTIONS]


# ---- free text ---------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower case, no accents, apostrophes and punctuation as spaces: "J'ai 82 ans !" → "j ai 82 ans"."""
    return fold_words(text, keep="%*")


def _keyword_regex(keyword: str) -> str:
    parts = []
    for word in normalize(keyword).split():
        stem = word.rstrip("*")
        parts.append(re.escape(stem) + (r"[a-z]*" if word.endswith("*") else ""))
    return r" ".join(parts)


def _keyword_pattern(keyword: str) -> re.Pattern:
    return re.compile(r"\b" + _keyword_regex(keyword) + r"\b")


@lru_cache(maxsize=64)
def _keywords_pattern(keywords: tuple) -> re.Pattern:
    """One pattern for all the keywords of an emergency line: one pass over the message."""
    return re.compile(r"\b(?:" + "|".join(_keyword_regex(k) for k in keywords) + r")\b")


def detect_danger(text: str, config: WelfareConfig | None = None) -> List[EmergencyLine]:
    """The emergency lines whose keywords appear in `text` (accents and case ignored), in file order."""
    config = config or load_welfare_config()
    clean = normalize(text)
    if not clean:
        return []
    return [
        line
        for line in config.emergency
        if line.keywords and _keywords_pattern(tuple(line.keywords)).search(clean)
    ]


_REL = {
    "parent": r"(?:mere|pere|parents|maman|papa|belle mere|beau pere)",
    "child": r"(?:fils|fille|filles|enfant|enfants|bebe|petit|petite|garcon|ado|adolescent|adolescente)",
    "spouse": r"(?:mari|femme|epoux|epouse|conjoint|conjointe|compagnon|compagne|concubin|concubine)",
    "other": (
        r"(?:grand mere|grand pere|grands parents|mamie|mamy|papi|papy|tante|oncle|frere|soeur|voisin|"
        r"voisine|ami|amie|cousin|cousine|neveu|niece)"
    ),
}
_POSSESSIVE = r"\b(?:ma|mon|mes|notre|nos)\s+"
_NEEDS = {
    "autonomy": (
        r"vivre seule?s?\b|perte d autonomie|perd (?:son|de son|leur) autonomie|\bautonomie\b|dependan|"
        r"\behpad\b|maison de retraite|aide a domicile|aide menagere|auxiliaire de vie|\bapa\b|"
        r"maintien a domicile|rester chez (?:elle|lui|eux|soi)\b|alzheimer|"
        r"ne peut plus (?:se laver|s habiller|marcher|sortir|faire)|"
        r"\bgir\b|personne agee|tombe souvent|chutes?\b|vieilli"
    ),
    "disability": (
        r"handicap|invalid|\bmdph\b|\baah\b|\bpch\b|taux d incapacite|\bautis|trisomi|fauteuil roulant|"
        r"paralys|malvoyant|aveugle|sourde?\b|\brqth\b"
    ),
    "pregnancy_child": (
        r"enceinte|grossesse|\bpmi\b|nourrisson|nouveau ne|accouch|attend(?:s|ons)? un (?:bebe|enfant)|"
        r"\bbebe\b|vaccin|pediatr|puericult|suivi (?:de|du) mon (?:bebe|enfant|fils)"
    ),
    "low_resources": (
        r"(?:plus|pas|aucun|sans|peu) d?e? ?(?:revenus?|ressources?|argent|salaire)|plus un sou|"
        r"fin de droits|chomage|\brsa\b|sans emploi|perdu mon (?:travail|emploi|boulot)|"
        r"(?:payer|paye) (?:mon|le|ma|mes|les) (?:loyer|factures?|electricite|courses)|factures|"
        r"\bmanger\b|colis|aide alimentaire|banque alimentaire|restos du coeur|expulsion|dettes|"
        r"difficultes? financiere|galere|fins? de mois|precarite|sans domicile|\bsdf\b|domiciliation|"
        r"minima sociaux|pauvre|fauche|\bccas\b|aide d urgence"
    ),
}
_SELF_NEED = re.compile(
    r"\bje (?:suis|me suis) (?:enceinte|handicape|au chomage|sans|en fin de droits|en situation de handicap)|"
    r"\bj ?(?:ai|n ai) (?:plus|pas|aucun)|\bje (?:ne )?touche|\bje n arrive plus|\bj attends un"
)
_AGE_BLOCKERS = ("depuis", "pendant", "durant", "dans", "il y a", "y a", "ya", "plus de", "moins de")


def _first(pattern: str, text: str) -> re.Match | None:
    return re.search(pattern, text)


def _relative(text: str) -> tuple[str | None, int, bool]:
    """(who, position, lives_with) for the first relative named with a possessive."""
    best: tuple[str | None, int, bool] = (None, len(text) + 1, False)
    for who, words in _REL.items():
        for match in re.finditer(_POSSESSIVE + words + r"\b", text):
            before = text[max(0, match.start() - 12) : match.start()]
            with_me = bool(re.search(r"\b(?:avec|seule? avec|eleve|j ai)\s*$", before))
            if who == "child" and with_me:
                continue  # "je vis seule avec mon fils": the person is the parent
            if match.start() < best[1]:
                best = (who, match.start(), with_me)
    return best


def _ages(text: str) -> List[tuple[int, int, int]]:
    """(value, start, end) for each "N ans" / "N mois" that is an age (not "depuis 3 ans")."""
    found = []
    for match in re.finditer(r"\b(\d{1,3}) ?(ans?|mois)\b", text):
        before = text[max(0, match.start() - 10) : match.start()].strip()
        if any(before.endswith(blocker) for blocker in _AGE_BLOCKERS):
            continue
        value = int(match.group(1))
        value = value // 12 if match.group(2) == "mois" else value
        if value <= 120:
            found.append((value, match.start(), match.end()))
    return found


_CHILD_AGE = re.compile(
    r"\b(?:enfants?|fils|filles?|bebe|petite?|garcon|ado)\s+(?:de|d|qui a|a|age de|agee de)\s+"
    r"(\d{1,2}) ?(ans?|mois)\b"
)
_SELF_AGE = re.compile(
    r"\bj ?ai (\d{1,3}) ?ans?\b|\bje viens d avoir (\d{1,3}) ?ans?\b|\bmoi (\d{1,3}) ?ans?\b"
)


# Longest description read: a citizen's situation in a few sentences fits in 500 characters; the
# rest of a longer text is not read (danger detection, below, reads the whole message).
MAX_SITUATION_CHARS = 500


def parse_situation_text(text: str) -> Dict[str, object]:
    """Best-effort extraction of Situation fields from a citizen's message; only what is found.

    "ma mère ne peut plus vivre seule, elle a 82 ans" → {"for_whom": "parent", "need": "autonomy", "age": 82}
    """
    clean = normalize(clip(text, MAX_SITUATION_CHARS))
    found: Dict[str, object] = {}
    if not clean:
        return found

    needs = [need for need, pattern in _NEEDS.items() if re.search(pattern, clean)]
    # "pas enceinte" is not a pregnancy; "pas de handicap" not a disability
    if re.search(r"\bpas enceinte\b", clean) and "pregnancy_child" in needs:
        if not re.search(r"\bbebe|nourrisson|pmi|vaccin|pediatr", clean):
            needs.remove("pregnancy_child")
    if re.search(r"\bpas (?:de |d )?handicap", clean) and "disability" in needs:
        needs.remove("disability")

    who, position, _ = _relative(clean)
    self_need = _SELF_NEED.search(clean)
    beneficiary = re.search(r"\bpour " + _POSSESSIVE.removeprefix(r"\b") + r"(\w+(?: \w+)?)", clean)
    if beneficiary:
        for key, words in _REL.items():
            if re.match(words + r"\b", beneficiary.group(1)):
                who, position = key, beneficiary.start()
                break
    if who and (not self_need or position < self_need.start() or beneficiary):
        found["for_whom"] = who
    elif self_need or re.search(r"\b(?:je|j|moi|me|m|jai)\b", clean):
        found["for_whom"] = "self"

    # ages: the child's age, the speaker's ("j'ai 23 ans"), or the person concerned's
    child_match = _CHILD_AGE.search(clean)
    if child_match:
        value = int(child_match.group(1))
        found["child_age"] = value // 12 if child_match.group(2) == "mois" else value
    self_age = _SELF_AGE.search(clean)
    if self_age:
        found["age"] = int(next(g for g in self_age.groups() if g))
    for value, start, _end in _ages(clean):
        inside_child = child_match and child_match.start() <= start < child_match.end()
        if inside_child:
            if found.get("for_whom") == "child" and "age" not in found:
                found["age"] = value
            continue
        if "age" not in found and not (self_age and self_age.start() <= start < self_age.end()):
            found["age"] = value
    if found.get("for_whom") == "child" and "age" in found and "child_age" not in found:
        found["child_age"] = found["age"]

    gir = re.search(r"\bgir (?:de |est de |est |classe |niveau )?([1-6])\b", clean)
    if gir:
        found["gir"] = int(gir.group(1))
    rate = re.search(r"\b(\d{1,3}) ?(?:%|pour ?cent|pourcent)", clean) or re.search(
        r"\btaux (?:d incapacite )?(?:de |a |est de )?(\d{1,3})\b", clean
    )
    if rate and int(rate.group(1)) <= 100:
        found["incapacity"] = int(rate.group(1))
        if "disability" not in needs:
            needs.append("disability")

    if re.search(r"\bpas enceinte\b", clean):
        found["pregnant"] = False
    elif re.search(r"enceinte|grossesse|attend(?:s|ons)? un (?:bebe|enfant)", clean):
        found["pregnant"] = True
    if re.search(r"\b(?:sans|pas d|aucun) enfants?\b", clean):
        found["has_child"] = False
    elif re.search(
        r"\bj ?ai (?:un|une|deux|trois|quatre|\d+) (?:enfants?|bebe|fils|filles?)\b|"
        r"\bavec (?:mon|ma|mes) (?:fils|filles?|enfants?|bebe)\b|\b(?:mere|pere|maman|papa|parent) "
        r"(?:celibataire|solo|isolee?)\b|\bmes enfants\b|\bparent isole",
        clean,
    ):
        found["has_child"] = True

    if re.search(r"\behpad\b|maison de retraite|\betablissement\b|residence autonomie|\busld\b", clean):
        found["place"] = "establishment"
    elif re.search(
        r"a domicile|chez (?:elle|lui|eux|moi|nous|soi)|a la maison|rester chez|maintien a domicile", clean
    ):
        found["place"] = "home"

    if re.search(
        r"depuis (?:sa |la |ma )?naissance|depuis (?:l |son |mon )?enfance|depuis toujours|depuis tout petit|"
        r"de naissance|avant (?:ses |mes |l age de )?60 ans|handicap(?:e|ee)? depuis (?:sa|son) jeune",
        clean,
    ):
        found["disability_before_60"] = True
    elif re.search(r"apres (?:ses |mes |l age de )?60 ans|depuis (?:sa|ma) retraite", clean):
        found["disability_before_60"] = False

    need = _pick_need(needs, found)
    if need:
        found["need"] = need
    return found


def _pick_need(needs: List[str], found: Dict[str, object]) -> str | None:
    if not needs:
        return None
    age = found.get("age")
    if "autonomy" in needs and "disability" in needs:
        older = isinstance(age, int) and age >= APA_MIN_AGE and found.get("for_whom") != "child"
        return "autonomy" if older else "disability"
    if "low_resources" in needs and "pregnancy_child" in needs:
        return "low_resources" if found.get("for_whom") in (None, "self") else "pregnancy_child"
    for need in ("disability", "autonomy", "pregnancy_child", "low_resources"):
        if need in needs:
            return need
    return None


# ---- the French answer ---------------------------------------------------------------------------------


def _office_line(service: Service) -> str:
    line = f"{service.name}, {service.address}, tél. {service.phone}"
    return line + (f" ({service.url})" if service.url else "")


def _pack(lines: List[str], limit: int = MESSAGE_MAX) -> List[str]:
    """Join lines into messages of at most `limit` characters (a longer line is cut at a space)."""
    messages: List[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit - 1)
            cut = cut if cut > 0 else limit - 1
            head, line = line[:cut] + "…", line[cut:].strip()
            if current:
                messages.append(current)
                current = ""
            messages.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            messages.append(current)
            current = line
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


def _aid_message(config: WelfareConfig, suggestion: Suggestion, situation: Situation) -> List[str]:
    aid = config.aids[suggestion.aid]
    offices = config.offices_for(suggestion.aid)
    where = "Où faire la demande" if suggestion.aid not in ("pmi", "ccas") else "Où vous adresser"
    lines = [f"{aid.name}", suggestion.why_fr, f"À préparer : {', '.join(aid.prepare)}."]
    if len(offices) == 1:
        lines.append(f"{where} : {_office_line(offices[0])}.")
    else:
        lines.append(f"{where} :")
        lines += [f"- {_office_line(office)}" for office in offices]
    if suggestion.aid == "rsa":
        lines.append(f"Demande en ligne sur caf.fr ; simulateur : {config.simulator}")
    lines.append(f"Plus d'infos : {aid.link}")
    return lines


def answer_fr(
    config: WelfareConfig, suggestions: List[Suggestion], situation: Situation, limit: int = MESSAGE_MAX
) -> List[str]:
    """The French answer, as messages of at most `limit` characters: each likely or possible aid
    (why, documents, office, official link), then the unlikely ones briefly, then a reminder that
    this is only an orientation. Short blocks share a message."""
    hopeful = [s for s in suggestions if s.likelihood != "unlikely"]
    unlikely = [s for s in suggestions if s.likelihood == "unlikely"]
    if not hopeful:
        hopeful = [_ccas(situation)]
    blocks = [_aid_message(config, suggestion, situation) for suggestion in hopeful]
    if unlikely:
        lines = ["Moins adapté à votre situation :"]
        lines += [f"- {config.aids[s.aid].name} : {s.why_fr}" for s in unlikely]
        blocks.append(lines)
    blocks.append(
        [
            "Ce n'est qu'une orientation : seul l'organisme qui étudie la demande peut dire si elle est "
            "acceptée. Le CCAS peut vous aider à constituer le dossier."
        ]
    )
    messages: List[str] = []
    for block in blocks:
        for text in _pack(block, limit):
            if messages and len(messages[-1]) + 2 + len(text) <= limit:
                messages[-1] = f"{messages[-1]}\n\n{text}"
            else:
                messages.append(text)
    return messages

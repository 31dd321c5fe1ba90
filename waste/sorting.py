"""Sorting guide: "où jeter X ?" answered from territory/demo/sorting_guide.yml.

The guide is a YAML file that content teams edit (GRU_SORTING_FILE to use another one),
validated at load with French messages: unknown stream, the same name or alias in two
items (compared once normalised), empty advice. Format documented in the file's header.

    guide = load_sorting_guide()
    matches = find_item(guide, "où jeter mes piles usagées ?")   # ≤ 3 SortingMatch, best first
    text = answer_fr(guide, matches, "où jeter mes piles usagées ?")

Matching: the question is normalised (lowercase, no accents, singular, question words and
filler removed: "où jeter", "dans quelle poubelle", "les", "mes", "usagées"…), words
unknown to the guide are corrected when close to a known word (difflib) or dropped, then
each item's name and aliases are scored: same words (1.0) > the item's words all in the
question > the question's words all in the item's > partial overlap > whole-string fuzzy.
`python -m waste.sorting` checks the file; `python -m waste.sorting "où jeter …"` answers.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Tuple

from pydantic import PrivateAttr, root_validator, validator

from core.content import ContentError, StrippedContentModel, content_path, load_content_file
from core.text import clip, fold

DEFAULT_SORTING_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "sorting_guide.yml"

MAX_MATCHES = 3
MIN_SCORE = 0.55  # below: not a match
CLOSE_GAP = 0.05  # matches within this gap of the best one are "as good"
SURE_SCORE = 0.75  # below: the answer says which item it understood
FUZZY_WORD_CUTOFF = 0.84  # difflib ratio to correct a misspelt word into a known one
FUZZY_WORD_MIN_LENGTH = 4
FUZZY_PHRASE_CUTOFF = 0.8  # whole-string fallback
MAX_FUZZY_WORDS = 4  # unknown words of one question compared with the guide's (a real one has 1-3)
MAX_ECHO_LENGTH = 60  # longest object name repeated back in the generic answer
# Longest question read: « où est-ce que je peux jeter mes vieux pots de peinture à moitié vides
# s'il vous plaît ? » is about 100 characters; a longer text (or button payload) is clipped.
MAX_QUESTION_CHARS = 200

_STREAM_KEY = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

# Words that never identify an object: question words, verbs of the question, articles,
# pronouns, bins, politeness, SMS spellings, and the states of the object ("usagé", "vide").
# Compared after lowercasing and removing accents, before and after singularisation.
FILLER: FrozenSet[str] = frozenset(
    """
    le la les l un une des de du d au aux a en et ou y ce cet cette ces ca cela ceci
    sa son ses mon ma mes ton ta tes notre nos votre vos leur leurs
    je j tu il elle on nous vous ils elles me m te t se s lui moi toi qui que qu quoi dont
    pour par sur avec dans chez vers ds pr ac avc
    comment quel quelle quels quelles kel kelle kels koi ke ki
    est es sont suis etre ai as avons avoir va vont vais aller allez
    peut peux peuvent pouvoir puis pourrai pourrais doit dois devez doivent faut faudrait
    faire fais fait faites jeter jete jette jettes jetter jetez jettent
    mettre met mets mettez mette mettent mis deposer depose deposez poser pose posez
    ranger range apporter apporte apportez emmener amener porter
    trier trie triez tri recycler recycle recyclez recyclable recyclage
    debarrasser debarrasse eliminer evacuer savoir sais sait
    svp stp merci mci mrc bonjour bonsoir salut slt bjr bsr cordialement madame monsieur
    hello coucou please plait voudrais voudrai veux veut aimerais souhaite souhaiterais besoin
    jpeux jpeu jpe jmet jme jveux jvoudrais jsais jsp c cest questce estce
    si alors donc bien quand ne n pas plus non oui ok okay ya vraiment bon hein genre
    poubelle poubel poubele bac conteneur container benne jaune gris grise noire marron
    verte vertes compost composteur compostable compostage dechetterie decheterie dechetteri
    pharmacie magasin borne encombrant ordure menagere recyclerie ressourcerie
    pourquoi pk pq combien
    usage usagee usager vieux vieil vieille vielle ancien ancienne vide plein pleine
    perime perimee abime abimee use usee hs mort morte sale
    beaucoup tas quelques plusieurs tout tous toute toutes tt autre autres meme encore deja
    aussi juste seulement certain certaine peu trop tres assez ici villebrune commune
    """.split()
)

# Plurals the generic rule gets wrong ("journaux" → "journau").
_IRREGULAR = {
    "journaux": "journal",
    "metaux": "metal",
    "bocaux": "bocal",
    "animaux": "animal",
    "vegetaux": "vegetal",
    "travaux": "travail",
    "chevaux": "cheval",
}


class SortingGuideError(ContentError):
    """The sorting guide file is missing, unreadable or invalid (French message)."""


# ---- normalisation -------------------------------------------------------------------------


def singular(word: str) -> str:
    """Crude French singular, applied the same way to questions and to the guide."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) >= 4 and word.endswith(("aux", "eux", "oux")):
        word = word[:-1]
    elif len(word) >= 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 4 and word.endswith("ee"):  # cassée → cassé
        word = word[:-1]
    return word


def _useful(word: str) -> str | None:
    """The word's normalised form, or None when it does not identify an object."""
    if word.isdigit() or word in FILLER:
        return None
    word = singular(word)
    if word in FILLER:
        return None
    return word


def normalise_tokens(text: str) -> List[str]:
    """Useful words of a text, normalised, without repeats ("Où jeter mes piles ?" → ["pile"])."""
    words: Dict[str, None] = {}  # ordered, without repeats, in linear time
    for raw in re.findall(r"[a-z0-9]+", fold(text or "")):
        word = _useful(raw)
        if word:
            words[word] = None
    return list(words)


def normalise(text: str) -> str:
    """Normalised key of a name, alias or question ("Pots de Yaourt" → "pot yaourt")."""
    return " ".join(normalise_tokens(text))


def _word_set_key(text: str) -> str:
    """Two keys with the same words match the same questions ("verre plat", "plat en verre")."""
    return " ".join(sorted(normalise_tokens(text)))


def extract_object(text: str) -> str:
    """The object as the citizen wrote it, question words removed ("où jeter un piano ?" → "piano")."""
    kept = [w for w in re.findall(r"[^\W\d_]+", clip(text, MAX_QUESTION_CHARS)) if _useful(fold(w))]
    result = " ".join(kept)
    return result if len(result) <= MAX_ECHO_LENGTH else ""


# ---- configuration -------------------------------------------------------------------------


def _not_empty(value: str, what: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{what} ne peut pas être vide")
    return value


class Stream(StrippedContentModel):
    """Where things go: `destination` completes "Pile : …", `how` is the practical detail."""

    label: str
    destination: str
    how: str

    @validator("label")
    def _label(cls, value: str) -> str:
        return _not_empty(value, "le libellé (label)")

    @validator("destination")
    def _destination(cls, value: str) -> str:
        return _not_empty(value, "la destination")

    @validator("how")
    def _how(cls, value: str) -> str:
        return _not_empty(value, "le mode d'emploi (how)")


class SortingItem(StrippedContentModel):
    name: str
    aliases: List[str] = []
    stream: str
    advice: str

    @validator("name")
    def _name(cls, value: str) -> str:
        return _not_empty(value, "le nom (name)")

    @validator("aliases", each_item=True)
    def _alias(cls, value: str) -> str:
        return _not_empty(value, "un alias")

    @validator("advice")
    def _advice(cls, value: str) -> str:
        return _not_empty(value, "le conseil (advice)")

    @property
    def keys(self) -> List[str]:
        return [self.name, *self.aliases]


@dataclass(frozen=True)
class _Key:
    item: int
    tokens: FrozenSet[str]
    text: str
    is_name: bool


@dataclass
class _Index:
    keys: List[_Key]
    vocabulary: List[str]


class SortingGuide(StrippedContentModel):
    commune: str
    national_guide_url: str
    general_rule: str
    streams: Dict[str, Stream]
    items: List[SortingItem]

    _index: _Index | None = PrivateAttr(default=None)

    @validator("national_guide_url")
    def _url(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"adresse « {value} » invalide (doit commencer par https://)")
        return value

    @validator("general_rule")
    def _rule(cls, value: str) -> str:
        return _not_empty(value, "la règle générale (general_rule)")

    @validator("streams")
    def _streams(cls, value: Dict[str, Stream]) -> Dict[str, Stream]:
        if not value:
            raise ValueError("au moins un flux (stream) est nécessaire")
        for key in value:
            if not _STREAM_KEY.match(key):
                raise ValueError(f"identifiant de flux « {key} » invalide (minuscules, chiffres, _)")
        return value

    @root_validator(skip_on_failure=True)
    def _consistency(cls, values: dict) -> dict:
        streams: Dict[str, Stream] = values["streams"]
        items: List[SortingItem] = values["items"]
        if not items:
            raise ValueError("la liste des articles (items) est vide")
        errors: List[str] = []
        seen: Dict[str, Tuple[int, str]] = {}
        for number, item in enumerate(items):
            if item.stream not in streams:
                errors.append(
                    f"article « {item.name} » : flux « {item.stream} » inconnu "
                    f"(flux définis : {', '.join(streams)})"
                )
            for key in item.keys:
                norm = _word_set_key(key)
                if not norm:
                    errors.append(
                        f"article « {item.name} » : « {key} » ne contient aucun mot significatif "
                        "(uniquement des mots ignorés comme « les », « où », « jeter »)"
                    )
                    continue
                if norm in seen and seen[norm][0] != number:
                    errors.append(
                        f"« {key} » (article « {item.name} ») fait doublon avec "
                        f"« {seen[norm][1]} » (article « {items[seen[norm][0]].name} ») : "
                        "un nom ou un alias ne peut désigner qu'un seul article"
                    )
                seen.setdefault(norm, (number, key))
        if errors:
            raise ValueError("\n".join(errors))
        return values

    def index(self) -> _Index:
        if self._index is None:
            keys: List[_Key] = []
            vocabulary: set = set()
            for number, item in enumerate(self.items):
                for position, key in enumerate(item.keys):
                    tokens = normalise_tokens(key)
                    vocabulary.update(tokens)
                    keys.append(_Key(number, frozenset(tokens), " ".join(tokens), position == 0))
            self._index = _Index(keys, sorted(vocabulary))
        return self._index


# ---- loading -------------------------------------------------------------------------------

SORTING_LABEL = "guide du tri"


def sorting_guide_path() -> Path:
    return content_path("GRU_SORTING_FILE", DEFAULT_SORTING_FILE)


def load_sorting_guide(path: str | Path | None = None) -> SortingGuide:
    """Load and validate the sorting guide (cached per file and modification time)."""
    path = Path(path) if path else sorting_guide_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None  # load_content_file says the file is missing
    return _load(str(path), stamp)


@lru_cache(maxsize=8)
def _load(path_text: str, _stamp: int | None) -> SortingGuide:
    return load_content_file(path_text, SortingGuide, SORTING_LABEL, error=SortingGuideError)


# ---- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortingMatch:
    item: SortingItem
    score: float
    matched: str = ""  # the name or alias that matched, normalised


def _score(key: FrozenSet[str], query: FrozenSet[str], covered: FrozenSet[str]) -> float:
    """Score of one key; `covered` = the question's words found in any key of the same item."""
    if not key or not query:
        return 0.0
    if key == query:
        return 1.0
    if key < query:  # every word of the key is in the question: "carton" in "carton pizza gras"
        return min(0.95, 0.6 + 0.35 * len(covered) / len(query))
    if query < key:  # the question is a part of the key: "ampoule" for "ampoule led"
        return 0.5 + 0.3 * len(query) / len(key)
    common = key & query
    return 0.35 + 0.4 * len(common) / len(key | query) if common else 0.0


def _may_reach(a: str, b: str, cutoff: float) -> bool:
    """Whether difflib's ratio of a and b can reach `cutoff` at all, from their lengths alone
    (the ratio is at most 2·min/(len a + len b)): skips hopeless comparisons cheaply."""
    total = len(a) + len(b)
    return bool(total) and 2 * min(len(a), len(b)) / total >= cutoff


def _known_words(words: List[str], vocabulary: List[str]) -> Tuple[List[str], bool]:
    """Words the guide knows, misspellings corrected, unknown words dropped."""
    known = set(vocabulary)
    kept: Dict[str, None] = {}
    corrected = False
    attempts = 0
    for word in words:
        if word not in known:
            if len(word) < FUZZY_WORD_MIN_LENGTH or attempts >= MAX_FUZZY_WORDS:
                continue
            attempts += 1
            candidates = [v for v in vocabulary if _may_reach(word, v, FUZZY_WORD_CUTOFF)]
            close = difflib.get_close_matches(word, candidates, n=1, cutoff=FUZZY_WORD_CUTOFF)
            if not close:
                continue
            word, corrected = close[0], True
        kept[word] = None
    return list(kept), corrected


def _pick(ranked: List[Tuple[int, float, str]], streams: List[str]) -> List[Tuple[int, float, str]]:
    """The best matches; among those as good as the best, one per stream first, so that a
    clarifying question offers real alternatives ("bouteille": plastique, verre, gaz)."""
    if not ranked:
        return []
    top = ranked[0][1]
    close = [entry for entry in ranked if top - entry[1] <= CLOSE_GAP]
    picked: List[Tuple[int, float, str]] = []
    seen_streams: set = set()
    for entry in close:
        if streams[entry[0]] not in seen_streams:
            picked.append(entry)
            seen_streams.add(streams[entry[0]])
    for entry in ranked:
        if entry not in picked:
            picked.append(entry)
    picked = picked[:MAX_MATCHES]
    return sorted(picked, key=lambda entry: (-entry[1], ranked.index(entry)))


def find_item(guide: SortingGuide, text: str) -> List[SortingMatch]:
    """Items the question is about, best first (at most 3; [] when nothing is close enough).
    Only the first MAX_QUESTION_CHARS characters of the question are read."""
    words = normalise_tokens(clip(text, MAX_QUESTION_CHARS))
    if not words:
        return []
    index = guide.index()
    known, corrected = _known_words(words, index.vocabulary)
    query = frozenset(known)
    covered: Dict[int, FrozenSet[str]] = {}  # item → question words its keys contain
    for key in index.keys:
        if key.tokens and key.tokens < query:
            covered[key.item] = covered.get(key.item, frozenset()) | key.tokens
    best: Dict[int, Tuple[float, bool, str]] = {}  # item → (score, matched by its name, key)
    for key in index.keys:
        score = _score(key.tokens, query, covered.get(key.item, frozenset()))
        if corrected:
            score *= 0.95
        if score >= MIN_SCORE and (score, key.is_name) > best.get(key.item, (0.0, False, ""))[:2]:
            best[key.item] = (score, key.is_name, key.text)
    if not best:  # glued or badly misspelt words: compare whole strings
        phrase = " ".join(words)
        for key in index.keys:
            if not _may_reach(phrase, key.text, FUZZY_PHRASE_CUTOFF):
                continue
            ratio = difflib.SequenceMatcher(None, phrase, key.text).ratio()
            if ratio >= FUZZY_PHRASE_CUTOFF:
                score = MIN_SCORE + (ratio - FUZZY_PHRASE_CUTOFF)
                if score > best.get(key.item, (0.0, False, ""))[0]:
                    best[key.item] = (score, key.is_name, key.text)
    # equal scores: an item whose name matched before one matched by an alias, then file order
    order = sorted(best.items(), key=lambda kv: (-kv[1][0], not kv[1][1], kv[0]))
    ranked = [(number, round(score, 3), matched) for number, (score, _, matched) in order]
    streams = [item.stream for item in guide.items]
    return [
        SortingMatch(guide.items[number], score, matched) for number, score, matched in _pick(ranked, streams)
    ]


# ---- answers -------------------------------------------------------------------------------


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _or_list(names: List[str]) -> str:
    quoted = [f"« {name} »" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} ou {quoted[-1]}"


def item_answer_fr(guide: SortingGuide, item: SortingItem) -> str:
    """ "Piles : à rapporter dans un point de collecte en magasin. <advice> <how>"."""
    stream = guide.streams[item.stream]
    return f"{_capitalise(item.name)} : {stream.destination}. {item.advice} {stream.how}"


def generic_answer_fr(guide: SortingGuide, asked: str = "") -> str:
    """No item found: the general rule and the national guide."""
    thing = extract_object(asked)
    if thing:
        intro = f"Je n'ai pas trouvé « {thing} » dans le guide du tri de {guide.commune}."
    else:
        intro = f"Je n'ai pas trouvé cet objet dans le guide du tri de {guide.commune}."
    return (
        f"{intro} {guide.general_rule} Vous pouvez aussi chercher votre objet dans le guide "
        f"national de l'ADEME « Que faire de mes objets et déchets » : {guide.national_guide_url}"
    )


def answer_fr(guide: SortingGuide, matches: List[SortingMatch], asked: str = "") -> str:
    """French answer: where it goes and how; a question when several items fit; else the rule."""
    if not matches:
        return generic_answer_fr(guide, asked)
    best = matches[0]
    close = [m for m in matches if best.score - m.score <= CLOSE_GAP]
    if len(close) > 1 and len({m.item.stream for m in close}) > 1:
        names = _or_list([m.item.name for m in close])
        return f"Pour bien vous répondre, pouvez-vous préciser ? S'agit-il de {names} ?"
    text = item_answer_fr(guide, best.item)
    if best.score < SURE_SCORE:
        text = f"Si je comprends bien, vous parlez de « {best.item.name} ». {text}"
    return text


def main(argv: List[str] | None = None) -> int:
    """`python -m waste.sorting` checks the guide; with a question, prints the answer."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        guide = load_sorting_guide()
    except SortingGuideError as exc:
        print(exc)
        return 1
    if argv:
        question = " ".join(argv)
        matches = find_item(guide, question)
        for match in matches:
            print(f"  {match.score:.2f}  {match.item.name}  [{match.item.stream}]")
        print(answer_fr(guide, matches, question))
        return 0
    print(f"Guide du tri valide : {len(guide.items)} articles, {len(guide.streams)} flux.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Address -> official street resolution, used to find a citizen's waste-collection sector.

Citizens type addresses in any form: "12 av jean jaures", "j'habite impasse des Lilas", "3 r. du moulin",
"rue victor hugi" (typo), "st martin", "gal de gaulle". Two interchangeable geocoders turn such a text
into :class:`AddressCandidate` objects whose ``street`` is the *official* street name of the territory's
street list (the key the waste sectors are looked up with):

* :class:`LocalGeocoder` (default, no network): fuzzy matching over the territory's street list;
* :class:`GeoplateformeGeocoder`: the national address API (IGN Géoplateforme, addok underneath),
  ``GET {base_url}/search?q=..&limit=..&index=address[&citycode=..]``, answering GeoJSON; the streets it
  returns are mapped back to the territory's official names.

:func:`geocoder_from_env` picks one from ``GRU_GEOCODER`` (``local`` | ``geoplateforme``),
``GRU_GEOCODER_URL`` and ``GRU_GEOCODER_TIMEOUT``.

Privacy: an address is personal data. The operator log line written for each API call carries the HTTP
status, the duration and the number of results only -- never the address text or the URL (which holds
it). Exception messages follow the same rule (the aiohttp exception, whose text may contain the URL, is
not chained).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Protocol, runtime_checkable

import aiohttp

from core.http import JsonClient, Rejected, Unavailable, timeout_from_env
from core.text import clip, plain

logger = logging.getLogger(__name__)

DEFAULT_GEOPLATEFORME_URL = "https://data.geopf.fr/geocodage"
DEFAULT_TIMEOUT_S = 3.0
GEOCODERS = ("local", "geoplateforme")

MIN_SCORE = 0.6  # LocalGeocoder: candidates below this score are not returned
MAP_MIN_SCORE = 0.85  # GeoplateformeGeocoder: an API street maps to an official street at this score or more
MAX_QUERY_CHARS = 200  # the API refuses longer queries (and shorter than 3 characters)
# Longest citizen text read as an address: « Bonjour, j'habite au 12 bis avenue du Général de Gaulle,
# 45990 Villebrune, merci d'avance » is under 100 characters; the rest of a longer text is not read.
MAX_ADDRESS_INPUT = 200

# Weights of the local score (see _StreetIndex._score_form).
_QUERY_COVERAGE_WEIGHT = 0.6  # share of the query's name words found in the street
_STREET_COVERAGE_WEIGHT = 0.4  # share of the street's name words found in the query
_TOKEN_WEIGHT = 0.75  # word overlap vs ...
_CHAR_WEIGHT = 0.25  # ... difflib ratio of the name parts
_SAME_TYPE = 1.0
_UNKNOWN_TYPE = 0.9  # the query (or the street) has no type: "victor hugo"
_OTHER_TYPE = 0.8  # "rue jean jaures" for "Avenue Jean Jaurès": found, below "av jean jaures"
_TYPE_TYPO_WEIGHT = 0.95  # "impase des lilas" read as "impasse des lilas"


@dataclass(frozen=True)
class AddressCandidate:
    label: str  # "12 Avenue Jean Jaurès 45990 Villebrune"
    street: str  # official street name as in the territory's street list
    housenumber: int | None
    score: float  # 0..1
    postcode: str | None
    city: str | None


class GeocoderUnavailable(Exception):
    """The geocoding API cannot be used now: timeout, connection error, HTTP 429/5xx/4xx, malformed answer."""


@runtime_checkable
class Geocoder(Protocol):
    async def search(self, text: str, limit: int = 5) -> list[AddressCandidate]: ...


# --- text normalisation -------------------------------------------------------------------------------

# Abbreviation -> full word, applied to every word of a normalised text.
ABBREVIATIONS: dict[str, str] = {
    "av": "avenue",
    "ave": "avenue",
    "avn": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "blvd": "boulevard",
    "bvd": "boulevard",
    "boul": "boulevard",
    "r": "rue",
    "imp": "impasse",
    "ch": "chemin",
    "chem": "chemin",
    "rte": "route",
    "pl": "place",
    "all": "allee",
    "al": "allee",
    "sq": "square",
    "fg": "faubourg",
    "fbg": "faubourg",
    "crs": "cours",
    "prom": "promenade",
    "res": "residence",
    "lot": "lotissement",
    "ham": "hameau",
    "st": "saint",
    "ste": "sainte",
    "gal": "general",
    "gl": "general",
    "gen": "general",
    "mal": "marechal",
    "pdt": "president",
    "dr": "docteur",
    "pr": "professeur",
    "prof": "professeur",
    "cdt": "commandant",
    "mgr": "monseigneur",
}

# Words that start a French street name (normalised).
STREET_TYPES = frozenset(
    (
        "rue avenue boulevard impasse chemin route place allee square faubourg quai cours passage "
        "sentier sente hameau lotissement residence promenade voie villa cite clos esplanade parvis "
        "mail venelle ruelle chaussee traverse montee carrefour domaine quartier"
    ).split()
) | {"rond point", "lieu dit"}
_TWO_WORD_TYPES = {("rond", "point"): "rond point", ("lieu", "dit"): "lieu dit"}

STOPWORDS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "au", "aux", "a", "et", "en"})

# Words that may follow a complete street name without meaning "in another town".
_NOT_A_PLACE = frozenset(
    (
        "svp stp merci bonjour bat batiment bloc appt apt appart appartement etage escalier esc "
        "porte entree rdc maison residence lotissement quartier centre ville bourg cedex france "
        "prolongee prolonge prolongement nord sud est ouest haut bas cote face pres proche angle "
        "coin numero bis ter chez depuis pour quel quelle quand jour jours collecte ramassage "
        "poubelle poubelles bac ou c pas ici aussi"
    ).split()
)

_HOUSE_SUFFIXES = ("bis", "ter", "quater", "quinquies")
_HOUSE_TOKEN = re.compile(r"^(\d{1,4})(bis|ter|quater|quinquies|[a-z])?$")
_NUMBER_WORDS = frozenset({"n", "no", "num", "numero"})
_POSTCODE_TOKEN = re.compile(r"^\d{5}$")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "′": "'"})


def normalise_street(text: str) -> str:
    """Lower case, no accents, no punctuation, abbreviations expanded ("av." -> "avenue").

    ``"12 Av. Jean-Jaurès"`` -> ``"12 avenue jean jaures"``; ``"3 r. du Moulin"`` -> ``"3 rue du moulin"``;
    ``"Rue de l’Église"`` -> ``"rue de l'eglise"``; ``"gal de gaulle"`` -> ``"general de gaulle"``.
    Elisions (``d'``, ``l'``) and articles (``de la``, ``des``) are kept.
    """
    if not isinstance(text, str):
        return ""
    text = plain(clip(text, MAX_ADDRESS_INPUT)).lower()
    text = re.sub(r"\b([a-z])\s*'\s*(?=[a-z])", r"\1'", text)  # "l ' eglise" -> "l'eglise"
    text = re.sub(r"[^a-z0-9']+", " ", text)
    text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)  # keep the apostrophe of an elision only
    return " ".join(ABBREVIATIONS.get(word, word) for word in text.split())


def _words(normalised: str) -> list[str]:
    return [w for w in re.split(r"[\s']+", normalised) if w]


_GREETING = re.compile(
    r"^(?:bonjour|bonsoir|salut|slt|bjr|hello|coucou|madame|monsieur|euh+|alors|ben|bah|oui|ok|donc|moi)\b[\s,;:.!]*",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"^(?:"
    r"(?:j'?\s*|je\s+|g\s+)habite|nous\s+habitons|on\s+habite|habitant"
    r"|(?:j'?\s*|je\s+)r[ée]side|je\s+vis|nous\s+vivons|je\s+demeure|je\s+loge"
    r"|je\s+suis|j'?\s*suis|chuis|chui|nous\s+sommes|on\s+est"
    r"|(?:mon|notre|ma|l'|l\s)?\s*adresse(?:\s+postale)?(?:\s*(?:c'?\s*est|est|se\s+trouve))?"
    r"|je\s+viens\s+d'?\s*emm[ée]nager|(?:j'?\s*ai|nous\s+avons|on\s+a)\s+emm[ée]nag[ée]"
    r"|chez\s+moi(?:\s+c'?\s*est)?"
    r"|c'?\s*est"
    r"|domicili[ée]e?s?|situ[ée]e?"
    r")(?![\w])[\s,;:=]*",
    re.IGNORECASE,
)
_PREPOSITIONS = re.compile(r"^(?:(?:au|aux|à|a|en|sur|dans|chez|le|la|les)\b|l'|:)[\s,;:]*", re.IGNORECASE)
_LEADING_AT_NUMBER = re.compile(r"^(?:au|à|a)\s+(?=\d)", re.IGNORECASE)
# The politeness words must follow the start or a separator (a lookbehind, not a run of separators
# the engine would retry from every position of « ,,,,,, »: that was quadratic); the separators left
# before them are stripped afterwards.
_TRAILING_POLITENESS = re.compile(
    r"(?<![^\s,;.!?])(?:merci(?:\s+d'avance|\s+beaucoup)?|svp|stp|s'il\s+(?:vous|te)\s+pla[iî]t"
    r"|bonne\s+journ[ée]e|cordialement)[\s.!?]*$",
    re.IGNORECASE,
)


def extract_address(text: str) -> str:
    """The address part of a citizen's sentence, punctuation removed, case and accents kept.

    ``"J'habite au 12, av. Jean Jaurès !"`` -> ``"12 av Jean Jaurès"``; ``"mon adresse c'est impasse des
    Lilas"`` -> ``"impasse des Lilas"``. Leading greetings and "j'habite", "je suis au", "mon adresse c'est",
    "c'est au"... and trailing "merci", "svp" are removed.
    """
    if not isinstance(text, str):
        return ""
    text = " ".join(clip(text, MAX_ADDRESS_INPUT).translate(_APOSTROPHES).split())
    for _ in range(6):
        before = text
        text = _GREETING.sub("", text)
        intro = _INTRO.match(text)
        if intro and intro.end() > 0:
            text = text[intro.end() :]
            while True:
                stripped = _PREPOSITIONS.sub("", text, count=1)
                if stripped == text:
                    break
                text = stripped
        text = _LEADING_AT_NUMBER.sub("", text)
        text = _TRAILING_POLITENESS.sub("", text).rstrip(" ,;.!?").strip()
        if text == before:
            break
    text = re.sub(r"[^\w\s'-]", " ", text)  # punctuation ("12, av." -> "12 av"), "n°" -> "n"
    text = re.sub(r"(?<!\w)['-]|['-](?!\w)", " ", text)  # a quote or dash that is not inside a word
    text = text.replace("_", " ")
    return " ".join(text.split())


# --- fuzzy street matching -----------------------------------------------------------------------------


def _edit_distance(a: str, b: str, cap: int) -> int:
    """Optimal string alignment distance (a transposition counts 1); returns cap + 1 beyond cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > cap:
            return cap + 1
        previous2, previous = previous, current
    return previous[-1]


def _word_similarity(query_word: str, street_word: str) -> float:
    """1 for the same word, 0.9/0.8 for one/two typos, 0.8 for a prefix ("repub"), 0.6 for an initial."""
    if query_word == street_word:
        return 1.0
    if query_word.isdigit() or street_word.isdigit():
        return 0.0
    if len(query_word) == 1:
        return 0.6 if street_word.startswith(query_word) else 0.0
    longest = max(len(query_word), len(street_word))
    allowed = 0 if longest < 4 else 1 if longest < 8 else 2
    if allowed:
        distance = _edit_distance(query_word, street_word, allowed)
        if distance <= allowed:
            return 1.0 - 0.1 * distance
    if len(query_word) >= 4 and street_word.startswith(query_word):
        return 0.8
    return 0.0


@dataclass(frozen=True)
class _Form:
    """A street name (or a query) split into its type ("rue"), its name words and its name text."""

    type: str | None
    words: tuple[str, ...]  # name words without articles: ("general", "gaulle")
    text: str  # name part with articles: "du general de gaulle"


def _form(words: list[str]) -> _Form:
    start = 0
    while start < len(words) and words[start] in STOPWORDS:
        start += 1
    street_type = None
    rest = words[start:]
    pair = tuple(rest[:2])
    if pair in _TWO_WORD_TYPES:
        street_type, rest = _TWO_WORD_TYPES[pair], rest[2:]
    elif rest and rest[0] in STREET_TYPES and any(w not in STOPWORDS for w in rest[1:]):
        street_type, rest = rest[0], rest[1:]
    content = tuple(w for w in rest if w not in STOPWORDS)
    return _Form(type=street_type, words=content, text=" ".join(rest))


def _query_forms(words: list[str]) -> list[tuple[_Form, float]]:
    """The query's form, plus a reading with a misspelt street type ("impase", "avenu") if there is one,
    each with a weight applied to its scores (the typo costs a little)."""
    form = _form(words)
    forms = [(form, 1.0)]
    if form.type is None and len(form.words) > 1 and len(form.words[0]) >= 4:
        first = form.words[0]
        best = max(sorted(STREET_TYPES), key=lambda t: _word_similarity(first, t))
        if _word_similarity(first, best) >= 0.8:
            index = words.index(first)
            forms.append((_form(words[:index] + [best] + words[index + 1 :]), _TYPE_TYPO_WEIGHT))
    return forms


@dataclass(frozen=True)
class _Match:
    score: float
    elsewhere: bool  # the whole street name was found, followed by what looks like another town


class _StreetIndex:
    """The territory's streets (and their aliases), normalised once, scored against queries."""

    def __init__(self, streets: list[str], aliases: Mapping[str, list[str]] | None = None) -> None:
        if isinstance(streets, str) or not isinstance(streets, (list, tuple)):
            raise TypeError("streets must be a list of official street names")
        self.streets: list[str] = []
        for street in streets:
            if not isinstance(street, str) or not street.strip():
                raise ValueError("every street must be a non-empty name")
            name = " ".join(street.split())
            if name not in self.streets:
                self.streets.append(name)
        self._forms: list[tuple[int, _Form]] = [
            (i, _form(_words(normalise_street(name)))) for i, name in enumerate(self.streets)
        ]
        for official, names in (aliases or {}).items():
            key = " ".join(str(official).split())
            if key not in self.streets:
                raise ValueError(f"alias given for {official!r}, which is not in the street list")
            if isinstance(names, str) or not isinstance(names, (list, tuple)):
                raise TypeError(f"the aliases of {official!r} must be a list of names")
            index = self.streets.index(key)
            for alias in names:
                if isinstance(alias, str) and alias.strip():
                    self._forms.append((index, _form(_words(normalise_street(alias)))))
        # Numbers that belong to street names ("Rue du 8 Mai 1945") are not house numbers.
        self.name_numbers = frozenset(w for _, form in self._forms for w in form.words if w.isdigit())

    @staticmethod
    def _score_form(query: _Form, street: _Form) -> _Match:
        if not query.words or not street.words:
            return _Match(0.0, False)
        pairs = sorted(
            (
                (_word_similarity(q, s), qi, si)
                for qi, q in enumerate(query.words)
                for si, s in enumerate(street.words)
            ),
            reverse=True,
        )
        used_q: set[int] = set()
        used_s: set[int] = set()
        matched = 0.0
        for similarity, qi, si in pairs:
            if similarity <= 0:
                break
            if qi in used_q or si in used_s:
                continue
            used_q.add(qi)
            used_s.add(si)
            matched += similarity
        if not used_q:
            return _Match(0.0, False)
        query_coverage = matched / len(query.words)
        street_coverage = matched / len(street.words)
        words = _QUERY_COVERAGE_WEIGHT * query_coverage + _STREET_COVERAGE_WEIGHT * street_coverage
        chars = SequenceMatcher(None, query.text, street.text, autojunk=False).ratio()
        if query.type and street.type:
            factor = _SAME_TYPE if query.type == street.type else _OTHER_TYPE
        elif query.type or street.type:
            factor = _UNKNOWN_TYPE
        else:
            factor = _SAME_TYPE
        score = min(1.0, (_TOKEN_WEIGHT * words + _CHAR_WEIGHT * chars) * factor)
        trailing = query.words[max(used_q) + 1 :]
        elsewhere = (
            len(used_s) == len(street.words)
            and bool(trailing)
            and all(w.isalpha() and w not in _NOT_A_PLACE for w in trailing)
        )
        return _Match(score, elsewhere)

    def score(self, queries: list[tuple[_Form, float]]) -> list[tuple[float, int, bool]]:
        """(best score, street index, elsewhere) for each street, best first."""
        best: dict[int, _Match] = {}
        for index, form in self._forms:
            for query, weight in queries:
                match = self._score_form(query, form)
                match = _Match(match.score * weight, match.elsewhere)
                current = best.get(index)
                if current is None or match.score > current.score:
                    best[index] = match
        ranked = [(m.score, i, m.elsewhere) for i, m in best.items()]
        ranked.sort(key=lambda item: (-item[0], item[1]))
        return ranked

    def official_name(self, name: str, min_score: float = MAP_MIN_SCORE) -> tuple[str, float] | None:
        """The official street closest to another spelling of a street name (e.g. the API's), or None."""
        ranked = self.score([(_form(_words(normalise_street(name))), 1.0)])
        if not ranked or ranked[0][0] < min_score:
            return None
        return self.streets[ranked[0][1]], ranked[0][0]


def _house_label(number: int, suffix: str | None) -> str:
    if not suffix:
        return str(number)
    return f"{number} {suffix}" if suffix in _HOUSE_SUFFIXES else f"{number} {suffix.upper()}"


def _label(
    number: int | None, suffix: str | None, street: str, postcode: str | None, city: str | None
) -> str:
    parts = [] if number is None else [_house_label(number, suffix)]
    parts.append(street)
    parts.extend(p for p in (postcode, city) if p)
    return " ".join(parts)


@dataclass(frozen=True)
class _ParsedQuery:
    housenumber: int | None
    suffix: str | None
    forms: list[tuple[_Form, float]]
    other_postcode: bool


class LocalGeocoder:
    """Embedded geocoder: fuzzy matching of the citizen's text over the territory's street list.

    The score mixes word overlap (typos and prefixes tolerated) with a difflib ratio of the name parts;
    the street type weighs less than the name ("rue jean jaures" finds "Avenue Jean Jaurès", below
    "av jean jaures"). Candidates score at least ``MIN_SCORE`` (0.6), best first; several close ones
    ("jean" alone) let the caller offer buttons. An address elsewhere (another postcode, a complete
    street name followed by another town's name) gives no candidate.
    """

    def __init__(
        self,
        streets: list[str],
        postcode: str,
        city: str,
        aliases: dict[str, list[str]] | None = None,
    ) -> None:
        if not isinstance(postcode, str) or not _POSTCODE_TOKEN.match(postcode.strip()):
            raise ValueError(f"postcode must be 5 digits; got {postcode!r}")
        if not isinstance(city, str) or not city.strip():
            raise ValueError("city must be a non-empty name")
        self.postcode = postcode.strip()
        self.city = " ".join(city.split())
        self._index = _StreetIndex(streets, aliases)
        city_words = _words(normalise_street(self.city))
        content = [w for w in city_words if w not in STOPWORDS]
        # "Saint-Jean-de-Braye" may be typed with or without its articles.
        self._city_variants = [city_words] + ([content] if content and content != city_words else [])

    @property
    def streets(self) -> list[str]:
        return list(self._index.streets)

    async def close(self) -> None:
        """Nothing to release (same interface as :class:`GeoplateformeGeocoder`)."""

    async def search(self, text: str, limit: int = 5) -> list[AddressCandidate]:
        return self.search_now(text, limit)

    def search_now(self, text: str, limit: int = 5) -> list[AddressCandidate]:
        """`search` without the event loop: plain CPU work, that a caller may run in a thread."""
        _check_limit(limit)
        parsed = self._parse(text)
        if parsed is None or parsed.other_postcode or not parsed.forms[0][0].words:
            return []
        ranked = self._index.score(parsed.forms)
        if not ranked or ranked[0][2]:  # the best match is a street of another town
            return []
        candidates = []
        for score, index, elsewhere in ranked:
            if score < MIN_SCORE or len(candidates) >= limit:
                break
            if elsewhere:
                continue
            street = self._index.streets[index]
            candidates.append(
                AddressCandidate(
                    label=_label(parsed.housenumber, parsed.suffix, street, self.postcode, self.city),
                    street=street,
                    housenumber=parsed.housenumber,
                    score=round(score, 3),
                    postcode=self.postcode,
                    city=self.city,
                )
            )
        return candidates

    # -- parsing ------------------------------------------------------------------------------------

    @staticmethod
    def _is_at(words: list[str], start: int, city: list[str]) -> bool:
        if start < 0 or start + len(city) > len(words):
            return False
        window = words[start : start + len(city)]
        return all(_word_similarity(w, c) >= 0.9 for w, c in zip(window, city, strict=True))

    def _strip_city(self, words: list[str]) -> list[str]:
        """Remove our own town's name (and "france") at the end or the start of the address."""
        if words and words[-1] == "france":
            words = words[:-1]
        for city in self._city_variants:
            if self._is_at(words, len(words) - len(city), city):
                remaining = words[: len(words) - len(city)]
                while remaining and remaining[-1] in STOPWORDS:  # "... a villebrune"
                    remaining = remaining[:-1]
                if any(w not in STOPWORDS and w not in STREET_TYPES for w in remaining):
                    words = remaining
                    break
        for city in self._city_variants:
            if self._is_at(words, 0, city):
                remaining = words[len(city) :]
                if any(w not in STOPWORDS and w not in STREET_TYPES for w in remaining):
                    words = remaining
                    break
        return words

    def _parse(self, text: str) -> _ParsedQuery | None:
        if not isinstance(text, str):
            return None
        words = _words(normalise_street(extract_address(text)))
        postcodes = [w for w in words if _POSTCODE_TOKEN.match(w)]
        other_postcode = any(p != self.postcode for p in postcodes)
        words = self._strip_city([w for w in words if not _POSTCODE_TOKEN.match(w)])

        number: int | None = None
        suffix: str | None = None
        position = self._house_number_position(words)
        if position is not None:
            match = _HOUSE_TOKEN.match(words[position])
            assert match is not None
            number, suffix = int(match.group(1)), match.group(2)
            drop = {position}
            if position > 0 and words[position - 1] in _NUMBER_WORDS:
                drop.add(position - 1)
            following = words[position + 1] if position + 1 < len(words) else None
            after = words[position + 2] if position + 2 < len(words) else None
            if suffix is None and following in _HOUSE_SUFFIXES:
                suffix = following
                drop.add(position + 1)
            elif (
                suffix is None
                and following is not None
                and len(following) == 1
                and following.isalpha()
                and after in STREET_TYPES
            ):
                suffix = following  # "12 b rue du moulin"
                drop.add(position + 1)
            words = [w for i, w in enumerate(words) if i not in drop]
        # Other stray numbers ("12-14 rue ...") are not part of a street name unless a street has them.
        words = [w for w in words if not w.isdigit() or w in self._index.name_numbers]
        words = [w for w in words if w not in _NUMBER_WORDS]
        return _ParsedQuery(number, suffix, _query_forms(words), other_postcode)

    def _house_number_position(self, words: list[str]) -> int | None:
        """Index of the house number: the leading number ("12 rue ..."), else a number ending the address
        ("rue Pasteur 12", "rue Pasteur n 12 bis") that is not part of a street name ("rue du 8 Mai 1945")."""
        start = 1 if len(words) > 1 and words[0] in _NUMBER_WORDS else 0
        if start < len(words) and _HOUSE_TOKEN.match(words[start]):
            return start
        last = len(words) - 1
        if last > 0 and words[last] in _HOUSE_SUFFIXES:
            last -= 1
        if last > 0 and _HOUSE_TOKEN.match(words[last]) and words[last] not in self._index.name_numbers:
            return last
        return None


# --- Géoplateforme (national address API) -----------------------------------------------------------


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer; got {limit!r}")


def _leading_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        match = re.match(r"\s*(\d{1,6})", value)
        if match:
            return int(match.group(1))
    return None


def _text(value: Any) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return max(0.0, min(1.0, float(value)))


class GeoplateformeGeocoder:
    """Async client of the Géoplateforme geocoding API (``/search``, addresses index).

    Keeps features of type ``housenumber`` and ``street`` (and of ``citycode`` when set). With
    ``known_streets``, each returned street is mapped to the closest official name of the territory's
    list (or of their ``known_aliases``), so its sector can be looked up, and dropped when none is close
    enough (``MAP_MIN_SCORE``); the candidate's score is then the API score times the mapping score.
    Errors raise :class:`GeocoderUnavailable`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_GEOPLATEFORME_URL,
        citycode: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        session: aiohttp.ClientSession | None = None,
        known_streets: list[str] | None = None,
        known_aliases: dict[str, list[str]] | None = None,
    ) -> None:
        base_url = (base_url or "").strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", base_url):
            raise ValueError(f"geocoder URL must start with http:// or https://; got {base_url!r}")
        citycode = (citycode or "").strip() or None
        if citycode is not None and not re.match(r"^(\d{5}|2[AB]\d{3})$", citycode):
            raise ValueError(f"citycode must be an INSEE code (5 characters); got {citycode!r}")
        self._http = JsonClient(
            "Géoplateforme",
            base_url,
            logger=logger,
            timeout_env="GRU_GEOCODER_TIMEOUT",
            timeout_default=DEFAULT_TIMEOUT_S,
            timeout_s=timeout_s,
            session=session,
        )
        self.base_url = base_url
        self.citycode = citycode
        self.timeout_s = self._http.timeout_s
        self._known = _StreetIndex(known_streets, known_aliases) if known_streets is not None else None

    async def __aenter__(self) -> GeoplateformeGeocoder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Nothing to release: the session is the process's (core.http.close_all) or the caller's."""

    async def search(self, text: str, limit: int = 5) -> list[AddressCandidate]:
        """Candidates for an address, best first; [] when the text cannot be an address (no call made)."""
        _check_limit(limit)
        query = extract_address(text)[:MAX_QUERY_CHARS].strip()
        if len(re.sub(r"\W", "", query)) < 3:
            return []
        params = [("q", query), ("limit", str(limit)), ("index", "address")]
        if self.citycode:
            params.append(("citycode", self.citycode))
        try:
            async with self._http.call("GET", "/search", params=params) as reply:
                data = reply.data
                if not isinstance(data, dict) or not isinstance(data.get("features"), list):
                    raise GeocoderUnavailable("geocoding API: malformed answer (no feature list)")
                candidates = self._candidates(data["features"])[:limit]
                reply.note = f"{len(candidates)} result(s) of {len(data['features'])} feature(s)"
                return candidates
        except Unavailable as exc:
            if exc.kind == "timeout":
                raise GeocoderUnavailable(f"geocoding API: no answer within {self.timeout_s:g} s") from None
            if exc.kind == "rate_limited":
                raise GeocoderUnavailable(
                    "geocoding API: HTTP 429 (rate limit reached: 50 requests/s per IP)"
                ) from None
            if exc.kind == "invalid_json":
                raise GeocoderUnavailable("geocoding API: malformed JSON answer") from None
            raise GeocoderUnavailable(f"geocoding API: {exc}") from None
        except Rejected as exc:
            raise GeocoderUnavailable(f"geocoding API: HTTP {exc.status}") from None

    def _candidates(self, features: list[Any]) -> list[AddressCandidate]:
        candidates: list[AddressCandidate] = []
        seen: set[tuple[str, int | None]] = set()
        for feature in features:
            properties = feature.get("properties") if isinstance(feature, dict) else None
            if not isinstance(properties, dict):
                continue
            kind = properties.get("type")
            if kind not in ("housenumber", "street"):
                continue
            if self.citycode is not None and str(properties.get("citycode") or "").strip() != self.citycode:
                continue
            first, second = ("street", "name") if kind == "housenumber" else ("name", "street")
            street = _text(properties.get(first)) or _text(properties.get(second))
            if street is None:
                continue
            housenumber = _leading_int(properties.get("housenumber")) if kind == "housenumber" else None
            score = _score(properties.get("score"))
            postcode = _text(properties.get("postcode"))
            city = _text(properties.get("city"))
            label = _text(properties.get("label"))
            if self._known is not None:
                mapped = self._known.official_name(street)
                if mapped is None:
                    continue
                official, mapping_score = mapped
                score *= mapping_score
                if official != street:
                    label = (
                        label.replace(street, official)
                        if label and street in label
                        else _label(housenumber, None, official, postcode, city)
                    )
                street = official
            key = (street, housenumber)
            if key in seen:
                continue
            seen.add(key)
            candidates.append(
                AddressCandidate(
                    label=label or _label(housenumber, None, street, postcode, city),
                    street=street,
                    housenumber=housenumber,
                    score=round(score, 3),
                    postcode=postcode,
                    city=city,
                )
            )
        candidates.sort(key=lambda c: -c.score)  # stable: the API order breaks ties
        return candidates


# --- configuration ------------------------------------------------------------------------------------


def geocoder_from_env(
    streets: list[str],
    postcode: str,
    city: str,
    citycode: str | None,
    env: Mapping[str, str] = os.environ,
    *,
    aliases: dict[str, list[str]] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> Geocoder:
    """GRU_GEOCODER=local (default) | geoplateforme; GRU_GEOCODER_URL; GRU_GEOCODER_TIMEOUT (s, default 3)."""
    kind = (env.get("GRU_GEOCODER") or "").strip().lower() or "local"
    if kind not in GEOCODERS:
        raise ValueError(
            "GRU_GEOCODER must be 'local' (street list of the territory, no network) or 'geoplateforme' "
            f"(national address API); got {env.get('GRU_GEOCODER')!r}"
        )
    timeout_s = timeout_from_env("GRU_GEOCODER_TIMEOUT", DEFAULT_TIMEOUT_S, env)
    if kind == "local":
        return LocalGeocoder(streets, postcode, city, aliases=aliases)
    base_url = (env.get("GRU_GEOCODER_URL") or "").strip() or DEFAULT_GEOPLATEFORME_URL
    return GeoplateformeGeocoder(
        base_url=base_url,
        citycode=citycode,
        timeout_s=timeout_s,
        session=session,
        known_streets=list(streets),
        known_aliases=aliases,
    )

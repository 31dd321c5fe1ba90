"""Which stop or which school a citizen means: « l'arret de la gar », « jean moulin »,
« la croix blanche », typed with typos, without accents, in the middle of a sentence.

Both sides are folded (core.text) and compared word by word with difflib: a name matches
when each of its meaningful words is close to a word of the message. The longest names
win (« Collège Jean Moulin » over « Le Moulin-Neuf » for « collège jean moulin »).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, List, Sequence, Tuple

from core.text import clip, fold_words

MAX_TEXT_CHARS = 300  # a question about a stop is shorter; the rest is not read
MAX_WORDS = 60
WORD_CUTOFF = 0.8  # difflib ratio: « esarts » / « essarts » 0.92, « eglise » / « ecole » 0.55
# Words that do not tell one stop from another.
_GENERIC = frozenset(
    "le la les l de du des d a au aux en et sur sous arret arrets car bus ecole hameau place rue".split()
)


@dataclass(frozen=True)
class Candidate:
    key: str  # a stop_id or a school key
    name: str  # as displayed
    words: int  # meaningful words matched
    score: float  # mean closeness of the matched words


def meaningful_words(name: str) -> List[str]:
    words = [w for w in fold_words(name).split() if w not in _GENERIC and len(w) > 1]
    return words or fold_words(name).split()


def _closeness(word: str, message_words: Sequence[str]) -> float:
    if word in message_words:
        return 1.0
    if len(word) <= 3:  # short words (« pre ») only match exactly
        return 0.0
    close = difflib.get_close_matches(word, message_words, n=1, cutoff=WORD_CUTOFF)
    return difflib.SequenceMatcher(None, word, close[0]).ratio() if close else 0.0


def best_matches(text: str, names: Iterable[Tuple[str, str, Sequence[str]]]) -> List[Candidate]:
    """The names every meaningful word of which is in `text` (folded, typos allowed), best
    first; several only when they are as good as each other. `names`: (key, display name,
    the names to try: the display name, aliases)."""
    message = fold_words(clip(text, MAX_TEXT_CHARS)).split()[:MAX_WORDS]
    if not message:
        return []
    found: dict[str, Candidate] = {}
    for key, display, tried in names:
        for name in tried:
            words = meaningful_words(name)
            scores = [_closeness(w, message) for w in words]
            if not scores or min(scores) == 0.0:
                continue
            candidate = Candidate(key, display, len(words), sum(scores) / len(scores))
            if key not in found or (candidate.words, candidate.score) > (found[key].words, found[key].score):
                found[key] = candidate
    if not found:
        return []
    ranked = sorted(found.values(), key=lambda c: (-c.words, -c.score, c.name))
    top = ranked[0]
    return [c for c in ranked if c.words == top.words and c.score >= top.score - 0.05]

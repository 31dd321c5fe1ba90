"""Which entry of the knowledge base a question is about.

The NLU (channels/linear_intents.py) only says that a message is an everyday question
(top-level intent `faq`); this ranker picks the entry. It is a linear classifier over TF-IDF features, from
scikit-learn (installed with Rasa): word 1–2-grams and character 2–5-grams of the text with
accents folded, so that « carte grise », « cartes grises » and « carte grisse » share most of
their features. It learns from every phrasing of territory/demo/knowledge/phrases/*.yml plus each entry's
title and answer (an entry without phrasings can still be found), once per action-server
process (a few seconds).

Why not Rasa's ResponseSelector: measured on the same data, its top-1 was 0.47 on a held-out
split and training took 18 min instead of 7; this ranker reaches 0.82 on a 5-fold split of
the training phrasings and trains in seconds (README, « Base de connaissances »).

The decision uses the margin between the best score and the next one (`decide`):
- clear winner: answer directly;
- close scores: the two or three best entries as buttons;
- nothing scores enough: the honest fallback (the front desk's contact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from core.intent_model import normalise, tfidf_features
from knowledge.content import KnowledgeBase

# Decision thresholds on LinearSVC scores (one-vs-rest margins), set by a 5-fold split of the
# training phrasings (`python -m knowledge.evaluate` prints the table): see README.
ANSWER_MARGIN = 0.25  # best score ahead of the second by this much: answer directly
MIN_SCORE = -0.75  # best score under this: no entry fits
CHOICES = 3  # buttons offered when unsure
CHOICE_GAP = 0.5  # a candidate is offered when within this of the best score

ANSWER, CHOOSE, NOTHING = "answer", "choose", "nothing"


def pipeline(c: float) -> Pipeline:
    return Pipeline([("features", tfidf_features()), ("svm", LinearSVC(C=c, class_weight="balanced"))])


def training_examples(base: KnowledgeBase, phrasings: bool = True) -> Tuple[List[str], List[str]]:
    """(texts, keys): each entry's title and answer, and its phrasings when `phrasings`."""
    texts, keys = [], []
    for key, entry in base.entries.items():
        texts += [entry.title, f"{entry.title} {entry.answer}"]
        keys += [key, key]
        if phrasings:
            examples = base.phrasings.get(key, [])
            texts += examples
            keys += [key] * len(examples)
    return [normalise(text) for text in texts], keys


@dataclass(frozen=True)
class Scored:
    key: str
    score: float


@dataclass(frozen=True)
class Decision:
    kind: str  # ANSWER, CHOOSE or NOTHING
    candidates: Tuple[Scored, ...]  # best first: one for ANSWER, 2–3 for CHOOSE, the best for NOTHING


class Ranker:
    """Trained at construction from a knowledge base (its entries and phrasings)."""

    def __init__(self, base: KnowledgeBase, *, c: float = 1.0, extra: Sequence[Tuple[str, str]] = ()) -> None:
        texts, keys = training_examples(base)
        texts += [normalise(text) for text, _ in extra]
        keys += [key for _, key in extra]
        self.model = pipeline(c).fit(texts, keys)
        self.keys = [str(key) for key in self.model.classes_]

    def rank(self, question: str, limit: int = CHOICES) -> List[Scored]:
        """The `limit` best entries for a question, best first, with their scores."""
        scores = np.atleast_1d(self.model.decision_function([normalise(question)])[0])
        if len(self.keys) == 2:  # two entries: one score, for the second class
            scores = np.array([-scores[0], scores[0]])
        best = np.argsort(scores)[::-1][:limit]
        return [Scored(self.keys[i], float(scores[i])) for i in best]

    def decide(self, question: str) -> Decision:
        ranked = self.rank(question, CHOICES)
        return decide(ranked)


def decide(ranked: Sequence[Scored]) -> Decision:
    """Answer, offer a choice, or admit that nothing fits (see the module's docstring)."""
    best = ranked[0]
    if best.score < MIN_SCORE:
        return Decision(NOTHING, (best,))
    if len(ranked) == 1 or best.score - ranked[1].score >= ANSWER_MARGIN:
        return Decision(ANSWER, (best,))
    close = tuple(s for s in ranked[:CHOICES] if best.score - s.score < CHOICE_GAP)
    return Decision(CHOOSE, close)

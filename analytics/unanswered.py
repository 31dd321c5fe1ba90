"""The unanswered questions for the content team: grouped by similarity, and a group copied as
training phrasings (Rasa NLU YAML) for an intent or an entry of the knowledge base.

Grouping: TF-IDF over character n-grams (3 to 5, within words) of the folded text, then
agglomerative clustering (average linkage) on the cosine distance, cut at a distance
threshold. Why these:
- character n-grams, because citizens write « rdv », « rendez vous », « rendez-vou »,
  « pasport »: word features would split what a reader sees as the same question;
- agglomerative with a threshold, because the number of groups is not known in advance (so
  not k-means) and a question unlike any other must stay alone rather than be forced into a
  group; average linkage keeps a group from chaining unrelated questions through one
  in-between (single linkage would), and unlike a one-pass cosine threshold the groups do
  not depend on the order the questions came in;
- the cost is a distance matrix over the distinct questions: the latest MAX_TEXTS of the
  range are grouped (2,000 distinct questions: 32 MB and about a second), the rest listed as
  not grouped — a month of a commune's unanswered questions is a few hundred.
The placeholders of masking (« [adresse] »…) are left out of the features: two questions are
not alike because both gave an address.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Dict, Iterable, List, Sequence

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import and_, select
from sqlalchemy.orm import Session as DbSession

from analytics.labels import KIND_LABELS
from analytics.models import AnalyticsUnanswered
from core.masking import MASKS
from core.text import fold_words

MAX_TEXTS = 2000
DISTANCE_THRESHOLD = 0.75  # cosine distance; measured on tests/unit/test_analytics_unanswered.py
MAX_EXAMPLES = 50  # phrasings copied from one group
_MASK_PATTERN = re.compile("|".join(re.escape(m) for m in MASKS))
INTENT_NAME = re.compile(r"^(?:[a-z][a-z0-9_]*|faq/[a-z][a-z0-9_]*)$")


@dataclass
class Question:
    text: str
    kind: str
    intent: str | None
    at: datetime


@dataclass
class Group:
    number: int
    count: int  # questions in the group (a text asked twice counts twice)
    examples: List[tuple[str, int]]  # distinct texts with how many times, most frequent first
    kinds: Dict[str, int] = field(default_factory=dict)
    intent_hint: str | None = None  # the intent the NLU hesitated on most often

    def as_dict(self) -> Dict:
        return {
            "numero": self.number,
            "nombre": self.count,
            "exemples": [{"texte": t, "fois": n} for t, n in self.examples],
            "types": {KIND_LABELS.get(k, k): n for k, n in self.kinds.items()},
            "intention_proche": self.intent_hint,
        }


def questions(db: DbSession, start: date, end: date) -> List[Question]:
    rows = db.execute(
        select(
            AnalyticsUnanswered.text,
            AnalyticsUnanswered.kind,
            AnalyticsUnanswered.intent,
            AnalyticsUnanswered.at,
        )
        .where(and_(AnalyticsUnanswered.day >= start, AnalyticsUnanswered.day <= end))
        .order_by(AnalyticsUnanswered.at.desc(), AnalyticsUnanswered.id.desc())
    )
    return [Question(*row) for row in rows]


def features_text(text: str) -> str:
    return fold_words(_MASK_PATTERN.sub(" ", text))


def _clustering(threshold: float) -> AgglomerativeClustering:
    # scikit-learn 1.2 renamed `affinity` to `metric` (Rasa 3.6 pins 1.1).
    name = "metric" if "metric" in inspect.signature(AgglomerativeClustering).parameters else "affinity"
    return AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, linkage="average", **{name: "precomputed"}
    )


def cluster_labels(texts: Sequence[str], threshold: float = DISTANCE_THRESHOLD) -> List[int]:
    """A group number for each text (texts of the same number are alike)."""
    if len(texts) < 2:
        return [0] * len(texts)
    features = [features_text(t) or t for t in texts]
    try:
        matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(
            features
        )
    except ValueError:  # nothing but placeholders and punctuation
        return [0] * len(texts)
    distances = np.clip(1.0 - (matrix @ matrix.T).toarray(), 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    return [int(n) for n in _clustering(threshold).fit_predict(distances)]


def group(found: Iterable[Question], threshold: float = DISTANCE_THRESHOLD) -> tuple[List[Group], int]:
    """The groups, largest first, and how many distinct texts were left out (over MAX_TEXTS)."""
    by_text: Dict[str, List[Question]] = {}
    for question in found:  # newest first: the first MAX_TEXTS distinct texts are the latest
        by_text.setdefault(question.text, []).append(question)
    texts = list(by_text)
    left_out = max(0, len(texts) - MAX_TEXTS)
    texts = texts[:MAX_TEXTS]
    members: Dict[int, List[str]] = {}
    for text, number in zip(texts, cluster_labels(texts, threshold), strict=True):
        members.setdefault(number, []).append(text)
    groups = []
    for same in members.values():
        asked = [q for text in same for q in by_text[text]]
        hints = Counter(q.intent for q in asked if q.intent)
        groups.append(
            Group(
                number=0,
                count=len(asked),
                examples=sorted(((t, len(by_text[t])) for t in same), key=lambda e: (-e[1], e[0])),
                kinds=dict(Counter(q.kind for q in asked)),
                intent_hint=hints.most_common(1)[0][0] if hints else None,
            )
        )
    groups.sort(key=lambda g: (-g.count, g.examples[0][0]))
    for number, item in enumerate(groups, start=1):
        item.number = number
    return groups, left_out


def nlu_yaml(intent: str, texts: Sequence[str]) -> str:
    """Rasa NLU YAML with `texts` as examples of `intent` (« faq/<key> » for the knowledge base).

    Texts that still hold a placeholder of masking come with a comment asking to rewrite
    them; a placeholder is kept apart from its neighbours so that Rasa never reads it as an
    entity annotation.
    """
    if not INTENT_NAME.match(intent):
        raise ValueError("intent name")
    lines, to_review = [], False
    for text in list(dict.fromkeys(" ".join(t.split()) for t in texts if t and t.strip()))[:MAX_EXAMPLES]:
        text = re.sub(r"\](?=[\[(\{])", "] ", text)
        to_review = to_review or bool(_MASK_PATTERN.search(text))
        lines.append(f"      - {text}")
    head = ['version: "3.1"', "nlu:"]
    if to_review:
        head.append(
            "# À relire : remplacez [nom], [adresse], [numéro]… par un exemple réaliste, ou retirez la ligne."
        )
    return "\n".join([*head, f"  - intent: {intent}", "    examples: |", *lines]) + "\n"

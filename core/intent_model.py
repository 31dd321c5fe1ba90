"""A linear intent classifier over TF-IDF features, in plain Python (scikit-learn, installed
with Rasa). The Rasa component that uses it is channels/linear_intents.py; the knowledge
ranker (knowledge/ranker.py) shares its features.

Why beside DIET: measured on this project's data (README, « Base de connaissances »), a
logistic regression over word 1–2-grams and character 2–5-grams, with accents folded, tells
the intents apart better than DIET when DIET is not sure — in particular `faq` (any everyday
question, 2,900 phrasings) from small talk and from the assistant's own topics, which DIET
could not learn without pulling other intents into it. It trains in about 15 s on 2 cores.

    model = LinearIntentModel(texts, labels)
    model.rank("je veux un acte de naissance")[:2]   # [("faq", 0.91), ("id_documents_info", 0.02)]
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from core.text import clip, fold_words

MAX_TEXT_CHARS = 1000  # a real message is far shorter; a huge one costs the same
C = 30.0  # inverse regularisation, from a comparison of 10 and 30 on tests/nlu (README)


def normalise(text: str) -> str:
    """Lower case, no accents, letters and digits only (« Où s'inscrire ? » → « ou s inscrire »)."""
    return fold_words(clip(text, MAX_TEXT_CHARS))


def tfidf_features() -> FeatureUnion:
    """Word 1–2-grams and character 2–5-grams (« carte grise », « cartes grises » and « carte
    grisse » share most of their features)."""
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


class LinearIntentModel:
    """Trained at construction from (text, label) pairs; `rank` gives probabilities."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str], *, c: float = C) -> None:
        if len(set(labels)) < 2:
            raise ValueError("an intent model needs at least two intents")
        self.pipeline = Pipeline(
            [
                ("features", tfidf_features()),
                ("model", LogisticRegression(C=c, class_weight="balanced", max_iter=3000)),
            ]
        ).fit([normalise(text) for text in texts], list(labels))

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> LinearIntentModel:
        model = cls.__new__(cls)
        model.pipeline = pipeline
        return model

    @property
    def labels(self) -> List[str]:
        return [str(label) for label in self.pipeline.classes_]

    def rank(self, text: str) -> List[Tuple[str, float]]:
        """Every intent with its probability, most likely first."""
        probabilities = self.pipeline.predict_proba([normalise(text)])[0]
        order = np.argsort(probabilities)[::-1]
        labels = self.labels
        return [(labels[i], float(probabilities[i])) for i in order]

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

from typing import Any, Dict, List, Mapping, Sequence, Tuple

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


# --- Storage: numbers and vocabularies only -------------------------------------------------
# The fitted model is stored as what it is made of: each TF-IDF vectorizer's vocabulary and
# idf weights, the regression's coefficients, intercepts and classes. Written by hand rather
# than with skops (which Rasa's SklearnIntentClassifier uses) because loading skops imports
# every scikit-learn estimator to list the trusted types: profiled at 3.9 s and about 60 MB of
# the Rasa server's start-up. Loading reads JSON and a NumPy archive without pickle, so a
# tampered model file can hold no code; the vectorizers are rebuilt from `tfidf_features()`,
# the same parameters as at training.


def to_arrays(model: LinearIntentModel) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """(vocabularies and classes as JSON-able data, arrays) of a fitted model."""
    features = dict(model.pipeline.named_steps["features"].transformer_list)
    regression = model.pipeline.named_steps["model"]
    meta = {
        "format": 1,
        "classes": [str(label) for label in regression.classes_],
        "vocabularies": {
            name: {term: int(i) for term, i in vec.vocabulary_.items()} for name, vec in features.items()
        },
    }
    arrays = {f"idf_{name}": vec.idf_ for name, vec in features.items()}
    arrays.update(coef=regression.coef_, intercept=regression.intercept_)
    return meta, arrays


def from_arrays(meta: Dict[str, Any], arrays: Mapping[str, np.ndarray]) -> LinearIntentModel:
    """The model `to_arrays` took apart; ValueError when the parts do not fit together."""
    if meta.get("format") != 1:
        raise ValueError(f"unknown linear model format: {meta.get('format')!r}")
    union = tfidf_features()
    for name, vectorizer in union.transformer_list:
        vocabulary = meta["vocabularies"][name]
        idf = np.asarray(arrays[f"idf_{name}"], dtype=np.float64)
        if idf.shape != (len(vocabulary),):
            raise ValueError(f"{name}: {len(vocabulary)} terms but {idf.shape} idf weights")
        vectorizer.set_params(vocabulary=vocabulary)
        vectorizer.idf_ = idf  # sklearn's setter: checks the vocabulary, builds the idf diagonal
    n_features = sum(len(v) for v in meta["vocabularies"].values())
    coef = np.asarray(arrays["coef"], dtype=np.float64)
    classes = np.asarray(meta["classes"], dtype=object)
    if coef.shape != (len(classes), n_features):
        raise ValueError(f"coefficients {coef.shape} for {len(classes)} intents and {n_features} features")
    regression = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    regression.classes_ = classes
    regression.coef_ = coef
    regression.intercept_ = np.asarray(arrays["intercept"], dtype=np.float64)
    regression.n_features_in_ = n_features
    regression.n_iter_ = np.zeros(1, dtype=np.int32)
    return LinearIntentModel.from_pipeline(Pipeline([("features", union), ("model", regression)]))

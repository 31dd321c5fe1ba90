"""Is a message an everyday question that the knowledge base may answer? A second opinion
for DIET, in plain Python (the Rasa component is channels/knowledge_nlu.py).

Why: DIET sees only a small sample of the knowledge base's phrasings as the intent `faq`
(channels/knowledge_data.py). Given more, it pulled business questions and small talk into
`faq`; given few, démarche questions it had never seen (« extrait de casier judiciaire »,
« abri de jardin ») came out as `out_of_scope` or fell back. This gate learns the
difference from everything: every phrasing and title of the knowledge base on one side,
every example of the other intents on the other. It is a linear classifier over the
ranker's TF-IDF features (knowledge/ranker.py): trained in about a second, so it is trained
again when the model loads rather than unpickled from the model archive (no pickle to trust).

Its score is a signed margin: above the threshold, the message is a démarche question.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from knowledge.ranker import normalise, pipeline

DEMARCHE, OTHER = 1, 0


class TopicGate:
    """Trained at construction: `positives` are démarche questions, `negatives` are not."""

    def __init__(self, positives: Sequence[str], negatives: Sequence[str], *, c: float = 1.0) -> None:
        if not positives or not negatives:
            raise ValueError("the gate needs examples on both sides")
        texts = [normalise(text) for text in [*positives, *negatives]]
        labels = [DEMARCHE] * len(positives) + [OTHER] * len(negatives)
        self.model = pipeline(c).fit(texts, labels)

    def score(self, text: str) -> float:
        """Above 0: more like a démarche question than anything else the assistant knows."""
        return float(np.atleast_1d(self.model.decision_function([normalise(text)]))[0])

    def scores(self, texts: Iterable[str]) -> list[float]:
        return [float(s) for s in np.atleast_1d(self.model.decision_function([normalise(t) for t in texts]))]

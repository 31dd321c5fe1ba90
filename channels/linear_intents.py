"""A Rasa NLU component: a linear intent classifier that decides the intent instead of DIET,
except for the answers to a form's questions (config.yml: after DIETClassifier, before
FallbackClassifier).

DIET extracts the entities and classifies intents; it sees only a sample of the knowledge
base's phrasings as `faq` (channels/knowledge_data.py), since more pulled other intents into
`faq`. This component learns from every training example and every phrasing and title of the
knowledge base (core/intent_model.py: TF-IDF and a logistic regression) and:
- DIET says `inform` (an answer to a form's question: « dimanche », « 8PX3KD72LM »,
  « Martin ») with a confidence of 0.5 or more and at least the linear model's best: DIET's
  decision stands — it reads the entities, the regular expressions and the lookup tables,
  which a bag of n-grams does not;
- otherwise the linear model's ranking replaces DIET's, with its probabilities, and
  FallbackClassifier (next in the pipeline) falls back when that is unsure too.
Measured on tests/nlu and both blind sets (README, « Base de connaissances »): better than
DIET's intents, than DIET with a « démarche or not » gate, and than DIET when sure; and it
does not move when DIET is retrained with another seed or one more example.

Rasa-native: a graph component of the default recipe, so `rasa train`, `rasa test nlu`,
the blind-set check and the running server see the same decision. The fitted model is
stored in the model archive as its vocabularies (JSON) and weights (a NumPy archive read
without pickle): core/intent_model.py, `to_arrays` / `from_arrays`, says why not skops.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.intent_model import LinearIntentModel, from_arrays, to_arrays
from knowledge.content import RETRIEVAL_INTENT, load_knowledge_base

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intents.json"  # vocabularies and intents
WEIGHTS_FILE = "linear_intents.npz"  # idf weights, coefficients, intercepts
RANKING_LENGTH = 10
SOURCE_KEY = "intent_source"  # « diet » or « linear », in the parse result (QA reads it)


def training_pairs(training_data: TrainingData) -> tuple[List[str], List[str]]:
    """(texts, intents): the training data's examples, then every phrasing and title of the
    knowledge base as `faq` (DIET saw only a sample of them)."""
    texts, labels = [], []
    seen = set()
    for example in training_data.intent_examples:
        text, intent = example.get(TEXT), example.get(INTENT)
        if text and intent and text not in seen:
            seen.add(text)
            texts.append(text)
            labels.append(intent)
    base = load_knowledge_base()
    for key, entry in base.entries.items():
        for text in [entry.title, *base.phrasings.get(key, [])]:
            if text not in seen:
                seen.add(text)
                texts.append(text)
                labels.append(RETRIEVAL_INTENT)
    return texts, labels


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(GraphComponent):
    """Replaces DIET's intent ranking by the linear model's, except DIET's sure form answers."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # From the comparison of README « Base de connaissances » (tests/nlu only).
        return {"diet_keeps": ["inform"], "diet_keeps_above": 0.5}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: LinearIntentModel | None = None,
    ) -> None:
        config = {**self.get_default_config(), **config}
        self.diet_keeps = frozenset(config["diet_keeps"] or ())
        self.diet_keeps_above = float(config["diet_keeps_above"])
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        texts, labels = training_pairs(training_data)
        self.model = LinearIntentModel(texts, labels)
        meta, arrays = to_arrays(self.model)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            np.savez_compressed(directory / WEIGHTS_FILE, **arrays)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
                # allow_pickle=False: the archive can only hold plain arrays, never code.
                with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
                    model = from_arrays(meta, arrays)
        except (ValueError, KeyError, TypeError, OSError) as error:
            logger.warning("linear intent model not loaded, DIET alone decides: %s", error)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        for message in messages:
            self._decide(message)
        return messages

    def _decide(self, message: Message) -> None:
        text = message.get(TEXT)
        if not text:
            return
        intent = message.get(INTENT) or {}
        ranking = [
            {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: probability}
            for name, probability in self.model.rank(text)[:RANKING_LENGTH]
        ]
        diet_confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        # « dimanche » mid-booking: DIET inform 0.83, linear events 0.80 → DIET; « je veux l'APA
        # pour mon père »: DIET inform 0.53, linear welfare_guidance 0.93 → linear.
        if (
            intent.get(INTENT_NAME_KEY) in self.diet_keeps
            and diet_confidence >= self.diet_keeps_above
            and diet_confidence >= ranking[0][PREDICTED_CONFIDENCE_KEY]
        ):
            message.set(SOURCE_KEY, "diet", add_to_output=True)
            return
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        message.set(SOURCE_KEY, "linear", add_to_output=True)

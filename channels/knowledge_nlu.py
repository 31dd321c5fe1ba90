"""A Rasa NLU component: the knowledge gate's second opinion after DIET (config.yml, after
FallbackClassifier).

DIET learns `faq` from a small sample of the knowledge base's phrasings
(channels/knowledge_data.py). This component asks the knowledge gate (knowledge/gate.py),
which learned from every phrasing against every other intent's examples, for a score, and:
- DIET says `out_of_scope` or falls back, the gate says « démarche »: `faq`;
- DIET says `faq`, the gate clearly says no: DIET's next intent;
- DIET falls back between `faq` and `out_of_scope` and the gate says no: `out_of_scope`;
- DIET says a business intent without being sure of it, the gate clearly says « démarche »:
  `faq` (« ma voiture a été enlevée par la fourrière » is not a waste question).
A business intent DIET is sure of is never taken from it. The retrieval action
(actions/knowledge.py) then picks the entry.

Rasa-native: a graph component registered with the default recipe, so `rasa train`,
`rasa test nlu` and the running server all see the same decision. What it persists is the
gate's training texts (JSON), not a pickled model: it trains again in about a second when
the model loads.
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.content import RETRIEVAL_INTENT, load_knowledge_base
from knowledge.gate import TopicGate

GATE_FILE = "knowledge_gate.json"
OUT_OF_SCOPE = "out_of_scope"
SCORE_KEY = "knowledge_gate"  # the gate's score, in the parse result (for `make test-nlu`'s reading)


def gate_examples(training_data: TrainingData) -> Dict[str, List[str]]:
    """Démarche questions (every phrasing and title of the knowledge base, and the training
    data's own `faq` examples) against every other intent's examples."""
    base = load_knowledge_base()
    positives = [entry.title for entry in base.entries.values()]
    for phrasings in base.phrasings.values():
        positives += phrasings
    negatives = []
    for example in training_data.intent_examples:
        text = example.get(TEXT)
        if not text:
            continue
        (positives if example.get(INTENT) == RETRIEVAL_INTENT else negatives).append(text)
    return {"positives": sorted(set(positives)), "negatives": sorted(set(negatives))}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class KnowledgeGateClassifier(GraphComponent):
    """Turns `out_of_scope` and `nlu_fallback` into `faq` when the knowledge gate says so."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # Thresholds on the gate's margin, set on tests/nlu (README, « Base de connaissances »).
        return {
            "rescue_above": -0.2,  # `out_of_scope` or a fallback becomes `faq` above this
            "demote_below": -0.3,  # DIET's `faq` gives way to its next intent below this
            "override_above": 0.3,  # an unsure business intent becomes `faq` above this...
            "override_under_confidence": 0.95,  # ...when DIET's confidence is under this
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        examples: Dict[str, List[str]] | None = None,
    ) -> None:
        config = {**self.get_default_config(), **config}
        self.rescue_above = float(config["rescue_above"])
        self.demote_below = float(config["demote_below"])
        self.override_above = float(config["override_above"])
        self.override_under_confidence = float(config["override_under_confidence"])
        self._model_storage = model_storage
        self._resource = resource
        self.examples = examples
        self.gate = TopicGate(examples["positives"], examples["negatives"]) if examples else None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnowledgeGateClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = gate_examples(training_data)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / GATE_FILE).write_text(json.dumps(examples, ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> KnowledgeGateClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                examples = json.loads((directory / GATE_FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError):
            examples = None  # a model trained without the gate: DIET alone decides
        return cls(config, model_storage, resource, examples)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.gate is None:
            return messages
        for message in messages:
            self._second_opinion(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _second_opinion(self, message: Message) -> None:
        text = message.get(TEXT)
        intent = message.get(INTENT) or {}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY)]
        if not text or not ranking:
            return
        fell_back = intent.get(INTENT_NAME_KEY) == DEFAULT_NLU_FALLBACK_INTENT_NAME
        diet = [r for r in ranking if r[INTENT_NAME_KEY] != DEFAULT_NLU_FALLBACK_INTENT_NAME]
        if not diet:
            return
        top = diet[0][INTENT_NAME_KEY]
        confidence = 0.0 if fell_back else float(diet[0].get(PREDICTED_CONFIDENCE_KEY, 0.0))
        score = self.gate.score(text)
        message.set(SCORE_KEY, round(score, 3), add_to_output=True)
        if (top == OUT_OF_SCOPE or fell_back) and score > self.rescue_above:
            self._become_faq(message, diet, score)
        elif fell_back and top in (RETRIEVAL_INTENT, OUT_OF_SCOPE):
            # DIET hesitates between the two answers that are not a business flow, and the gate
            # says « not a démarche »: the polite out-of-scope answer rather than « pas compris ».
            self._become(message, diet, OUT_OF_SCOPE)
        elif top == RETRIEVAL_INTENT and score < self.demote_below:
            self._demote_faq(message, diet)
        elif top not in (RETRIEVAL_INTENT, OUT_OF_SCOPE) and not fell_back:
            if score > self.override_above and confidence < self.override_under_confidence:
                self._become_faq(message, diet, score)

    @staticmethod
    def _become_faq(message: Message, diet: List[Dict[str, Any]], score: float) -> None:
        # DIET's own confidence in `faq`, or the gate's margin read as a probability.
        known = next(
            (r.get(PREDICTED_CONFIDENCE_KEY, 0.0) for r in diet if r[INTENT_NAME_KEY] == RETRIEVAL_INTENT),
            0.0,
        )
        faq = {
            INTENT_NAME_KEY: RETRIEVAL_INTENT,
            PREDICTED_CONFIDENCE_KEY: max(float(known), 1 / (1 + math.exp(-score))),
        }
        rest = [r for r in diet if r[INTENT_NAME_KEY] != RETRIEVAL_INTENT]
        message.set(INTENT, faq, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [faq, *rest], add_to_output=True)

    @staticmethod
    def _become(message: Message, diet: List[Dict[str, Any]], name: str) -> None:
        chosen = next(
            (r for r in diet if r[INTENT_NAME_KEY] == name),
            {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 0.0},
        )
        rest = [r for r in diet if r[INTENT_NAME_KEY] not in (name, RETRIEVAL_INTENT)]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *rest], add_to_output=True)

    @staticmethod
    def _demote_faq(message: Message, diet: List[Dict[str, Any]]) -> None:
        """DIET said `faq` but the gate clearly does not: DIET's next intent (`out_of_scope` if none)."""
        rest = [r for r in diet if r[INTENT_NAME_KEY] != RETRIEVAL_INTENT] or [
            {INTENT_NAME_KEY: OUT_OF_SCOPE, PREDICTED_CONFIDENCE_KEY: 0.0}
        ]
        message.set(INTENT, rest[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, rest, add_to_output=True)

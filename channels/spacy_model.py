"""Rasa's SpacyNLP, with the French model loaded once per process instead of twice.

Rasa 3.6's default recipe turns SpacyNLP into two graph nodes, `provide_SpacyNLP0` (the model
for the tokenizer and the featurizer) and `run_SpacyNLP0` (the message featurizer), and each
node builds its own component with `SpacyNLP.create`, so `spacy.load` runs twice: profiled at
start-up (`python -m ops.profile_startup`), that was 2 × about 4 s and 2 × about 180 MB of the
Rasa process, in training as in serving. This subclass keeps everything of Rasa's component and
only shares the loaded `Language` between the two nodes (spaCy's pipeline is read-only once
loaded: both nodes only call `nlp.pipe` / `nlp(text)` on it).

It also turns off the model's named-entity recogniser, as Rasa already does for the parser:
SpacyTokenizer and SpacyFeaturizer read tokens, lemmas, part-of-speech tags and word vectors,
which the recogniser does not touch (checked: identical on a sample), and it was half of
spaCy's time per message (1.1 → 0.55 ms).

It must keep the class name `SpacyNLP`: the recipe finds the model provider of SpacyTokenizer
and SpacyFeaturizer by that name (`model_from="SpacyNLP"`).
"""

from __future__ import annotations

import threading
from typing import Dict

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.nlu.utils.spacy_utils import SpacyNLP as RasaSpacyNLP

_LOADED: Dict[str, SpacyModel] = {}
_LOCK = threading.Lock()
UNUSED_PIPES = ("ner",)  # what no component of config.yml reads


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(RasaSpacyNLP):
    """SpacyNLP whose `load_model` returns the same loaded model to every node of a process."""

    @staticmethod
    def load_model(spacy_model_name: str) -> SpacyModel:
        with _LOCK:
            if spacy_model_name not in _LOADED:
                loaded = RasaSpacyNLP.load_model(spacy_model_name)
                for unused in UNUSED_PIPES:
                    if unused in loaded.model.pipe_names:
                        loaded.model.disable_pipe(unused)
                _LOADED[spacy_model_name] = loaded
            return _LOADED[spacy_model_name]

"""channels/fast_load.py: DIET loaded the fast way predicts exactly what Rasa's own loading does;
channels/spacy_model.py: one spaCy model per process, without its entity recogniser."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier as RasaDIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from channels.fast_load import DIETClassifier, FastLoadDIET

EXAMPLES = [
    ("bonjour", "greet", []),
    ("bonsoir madame", "greet", []),
    ("salut", "greet", []),
    ("je veux un passeport", "book_appointment", [("passeport", "document_type")]),
    ("un rendez-vous pour une carte d'identité", "book_appointment", [("carte", "document_type")]),
    ("prendre rendez-vous passeport demain", "book_appointment", [("passeport", "document_type")]),
    ("quand passe la poubelle jaune", "waste_collection_day", []),
    ("collecte des déchets rue Victor Hugo", "waste_collection_day", []),
    ("ramassage des ordures ménagères", "waste_collection_day", []),
]


def message(text: str, intent: str | None = None, entities=()) -> Message:
    data = {"text": text}
    if intent:
        data["intent"] = intent
        data["entities"] = [
            {
                "start": text.index(value),
                "end": text.index(value) + len(value),
                "value": value,
                "entity": entity,
            }
            for value, entity in entities
        ]
    return Message(data=data)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("diet"))
    context = ExecutionContext(GraphSchema({}), "test")
    data = TrainingData([message(*example) for example in EXAMPLES])
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    tokenizer.process_training_data(data)
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("cvf"), context
    )
    featurizer.train(data)
    featurizer.process_training_data(data)
    config = {
        **DIETClassifier.get_default_config(),
        "epochs": 1,
        "random_seed": 1,
        "number_of_transformer_layers": 1,
        "transformer_size": 32,
    }
    DIETClassifier.create(config, storage, Resource("diet"), context).train(data)

    def featurized(texts):
        messages = [message(text) for text in texts]
        tokenizer.process(messages)
        featurizer.process(messages)
        return messages

    return storage, context, config, featurized


def predictions(component, messages):
    messages = copy.deepcopy(messages)
    component.process(messages)
    return [
        (
            m.get("intent")["name"],
            [r["confidence"] for r in m.get("intent_ranking")],
            [(e["entity"], e["value"]) for e in m.get("entities", [])],
        )
        for m in messages
    ]


def test_fast_load_predicts_what_rasas_load_predicts(trained):
    storage, context, config, featurized = trained
    fast = DIETClassifier.load(config, storage, Resource("diet"), context)
    assert isinstance(fast.model, FastLoadDIET)
    assert not fast.model.run_eagerly  # predictions go through the traced graph, as with Rasa
    rasa = RasaDIETClassifier.load(config, storage, Resource("diet"), context)
    messages = featurized(["bonjour", "je veux un passeport demain", "poubelle jaune", "xyz"])
    ours, theirs = predictions(fast, messages), predictions(rasa, messages)
    for (intent, confidences, entities), (intent_r, confidences_r, entities_r) in zip(
        ours, theirs, strict=True
    ):
        assert intent == intent_r and entities == entities_r
        np.testing.assert_allclose(confidences, confidences_r, rtol=1e-5, atol=1e-6)


def test_the_spacy_model_is_loaded_once_and_without_its_entity_recogniser():
    from channels.spacy_model import SpacyNLP

    first = SpacyNLP.load_model("fr_core_news_md")
    assert SpacyNLP.load_model("fr_core_news_md") is first
    assert "ner" not in first.model.pipe_names and "parser" not in first.model.pipe_names
    token = first.model("Je voudrais des passeports")[3]
    assert token.lemma_ == "passeport" and token.pos_ == "NOUN" and token.has_vector

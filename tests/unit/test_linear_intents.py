"""The linear intent model (core/intent_model.py) and its Rasa component
(channels/linear_intents.py), and the knowledge phrasings DIET sees (channels/knowledge_data.py)."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from channels.linear_intents import (
    MODEL_FILE,
    SOURCE_KEY,
    WEIGHTS_FILE,
    LinearIntentClassifier,
    training_pairs,
)
from core.intent_model import LinearIntentModel, normalise

EXAMPLES = {
    "faq": [
        "comment obtenir un acte de naissance",
        "inscription sur les listes électorales",
        "demander un permis de construire",
        "louer la salle des fêtes",
        "faire une procuration pour voter",
    ],
    "out_of_scope": [
        "raconte moi une blague",
        "quel temps fait-il",
        "qui a gagné le match hier",
        "recette de la blanquette",
        "tu aimes le foot ?",
    ],
    "greet": ["bonjour", "salut", "bonsoir", "coucou", "hello"],
}


def pairs():
    texts, labels = [], []
    for intent, examples in EXAMPLES.items():
        texts += examples
        labels += [intent] * len(examples)
    return texts, labels


@pytest.fixture(scope="module")
def model():
    return LinearIntentModel(*pairs())


def test_the_model_ranks_every_intent_with_probabilities(model):
    ranking = model.rank("je voudrais un acte de naissance")
    assert ranking[0][0] == "faq"
    assert {name for name, _ in ranking} == {"faq", "out_of_scope", "greet"}
    assert sum(p for _, p in ranking) == pytest.approx(1.0)
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)
    assert model.rank("raconte une blague")[0][0] == "out_of_scope"


def test_the_model_needs_two_intents():
    with pytest.raises(ValueError):
        LinearIntentModel(["a", "b"], ["greet", "greet"])


def test_a_huge_message_is_clipped():
    assert normalise("Où " * 10_000) == normalise("Où " * 10_000)[:1000].strip()
    assert normalise("Où s'inscrire ?") == "ou s inscrire"


def component(model=None) -> LinearIntentClassifier:
    return LinearIntentClassifier(LinearIntentClassifier.get_default_config(), None, None, model)


def parsed(text: str, intent: str, confidence: float) -> Message:
    message = Message(data={"text": text})
    top = {"name": intent, "confidence": confidence}
    message.set("intent", top, add_to_output=True)
    message.set("intent_ranking", [top], add_to_output=True)
    return message


def test_diet_s_answer_to_a_form_is_kept_when_surer_than_the_linear_model(model):
    message = parsed("je voudrais un acte de naissance", "inform", 0.999)
    component(model).process([message])
    assert message.get("intent")["name"] == "inform"
    assert message.get(SOURCE_KEY) == "diet"
    linear_best = model.rank("je voudrais un acte de naissance")[0][1]
    less_sure = parsed("je voudrais un acte de naissance", "inform", max(0.5, linear_best - 0.01))
    component(model).process([less_sure])
    assert less_sure.get("intent")["name"] == "faq"


def test_diet_s_other_intents_and_unsure_form_answers_give_way_to_the_linear_ranking(model):
    unsure = parsed("je voudrais un acte de naissance", "inform", 0.4)
    component(model).process([unsure])
    assert unsure.get("intent")["name"] == "faq"
    message = parsed("je voudrais un acte de naissance", "greet", 0.99)
    component(model).process([message])
    intent, ranking = message.get("intent"), message.get("intent_ranking")
    assert intent["name"] == "faq" and ranking[0] == intent
    assert 0 < intent["confidence"] <= 1 and len(ranking) == 3
    assert message.get(SOURCE_KEY) == "linear"


def test_without_a_model_or_a_text_nothing_changes(model):
    message = parsed("bonjour", "greet", 0.2)
    LinearIntentClassifier({}, None, None, None).process([message])
    assert message.get("intent")["name"] == "greet"
    empty = parsed("", "greet", 0.2)
    component(model).process([empty])
    assert empty.get("intent")["name"] == "greet"


def context():
    return ExecutionContext(GraphSchema({}), "test")


def training_data() -> TrainingData:
    texts, labels = pairs()
    return TrainingData([Message(data={"text": t, "intent": i}) for t, i in zip(texts, labels, strict=True)])


def test_trained_stored_as_arrays_and_loaded_identical(tmp_path):
    import numpy as np

    storage, resource = LocalModelStorage(tmp_path), Resource("linear")
    config = LinearIntentClassifier.get_default_config()
    trained = LinearIntentClassifier.create(config, storage, resource, context())
    trained.train(training_data())
    loaded = LinearIntentClassifier.load(config, storage, resource, context())
    assert loaded.model is not None
    texts = ["comment avoir un extrait d'acte de naissance", "bonjour", "zzz", ""]
    assert np.array_equal(
        trained.model.pipeline.predict_proba(texts), loaded.model.pipeline.predict_proba(texts)
    )
    message = parsed("comment avoir un extrait d'acte de naissance", "out_of_scope", 0.4)
    loaded.process([message])
    assert message.get("intent")["name"] == "faq"


def test_a_model_without_its_file_leaves_diet_alone(tmp_path):
    loaded = LinearIntentClassifier.load({}, LocalModelStorage(tmp_path), Resource("absent"), context())
    assert loaded.model is None


def test_a_stored_model_with_pickled_objects_is_refused(tmp_path):
    import numpy as np

    storage, resource = LocalModelStorage(tmp_path), Resource("linear")
    LinearIntentClassifier.create({}, storage, resource, context()).train(training_data())
    with storage.write_to(resource) as directory:
        with np.load(directory / WEIGHTS_FILE) as stored:
            arrays = dict(stored)
        # An object array can only be stored pickled: loading must refuse it, not run it.
        arrays["coef"] = np.array([object()], dtype=object)
        np.savez(directory / WEIGHTS_FILE, **arrays)
    loaded = LinearIntentClassifier.load({}, storage, resource, context())
    assert loaded.model is None


def test_a_stored_model_whose_parts_do_not_fit_is_refused(tmp_path):
    import json

    storage, resource = LocalModelStorage(tmp_path), Resource("linear")
    LinearIntentClassifier.create({}, storage, resource, context()).train(training_data())
    with storage.write_to(resource) as directory:
        meta = json.loads((directory / MODEL_FILE).read_text())
        meta["classes"] = meta["classes"][:-1]
        (directory / MODEL_FILE).write_text(json.dumps(meta))
    assert LinearIntentClassifier.load({}, storage, resource, context()).model is None


def test_the_model_learns_every_knowledge_phrasing():
    texts, labels = training_pairs(training_data())
    assert "bonjour" in texts and labels[texts.index("bonjour")] == "greet"
    assert labels.count("faq") > 2000  # the demo base's phrasings and titles
    assert len(texts) == len(set(texts))


def test_diet_sees_a_spread_sample_more_of_the_other_administrations():
    from channels.knowledge_data import KnowledgeImporter, faq_sample, spread
    from knowledge.content import Where, load_knowledge_base

    assert spread(["a", "b", "c", "d", "e"], 3) == ["a", "c", "e"]
    assert spread(["a"], 3) == ["a"]
    base = load_knowledge_base()
    elsewhere = sum(1 for e in base.entries.values() if e.where == Where.autre_administration)
    sample = faq_sample(2, 4)
    assert len(sample) == len(set(sample)) <= 2 * (len(base.entries) - elsewhere) + 4 * elsewhere
    assert len(sample) > 2 * len(base.entries)
    data = KnowledgeImporter(per_entry=1, per_entry_elsewhere=1).get_nlu_data()
    assert {m.get("intent") for m in data.intent_examples} == {"faq"}
    assert len(data.intent_examples) <= len(base.entries)

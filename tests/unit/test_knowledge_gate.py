"""The knowledge gate (knowledge/gate.py) and its Rasa component (channels/knowledge_nlu.py)."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from channels.knowledge_nlu import SCORE_KEY, KnowledgeGateClassifier, gate_examples
from knowledge.gate import TopicGate

DEMARCHES = [
    "comment obtenir un acte de naissance",
    "inscription sur les listes électorales",
    "demander un permis de construire",
    "louer la salle des fêtes",
    "faire une procuration pour voter",
    "acte de décès pour le notaire",
]
OTHERS = [
    "raconte moi une blague",
    "bonjour",
    "merci au revoir",
    "quel temps fait-il",
    "tu es un robot ?",
    "qui a gagné le match hier",
]


def test_the_gate_tells_a_demarche_from_small_talk():
    gate = TopicGate(DEMARCHES, OTHERS)
    assert gate.score("je voudrais un acte de naissance") > 0
    assert gate.score("raconte une blague") < 0
    assert gate.scores(["acte de naissance", "bonjour"])[0] > gate.scores(["acte de naissance", "bonjour"])[1]


def test_the_gate_needs_both_sides():
    with pytest.raises(ValueError):
        TopicGate(DEMARCHES, [])


class FixedGate:
    """A gate whose score the test chooses: the component's decisions are what is tested."""

    def __init__(self, score: float) -> None:
        self.value = score

    def score(self, text: str) -> float:
        return self.value


def component(score: float) -> KnowledgeGateClassifier:
    classifier = KnowledgeGateClassifier(KnowledgeGateClassifier.get_default_config(), None, None)
    classifier.gate = FixedGate(score)
    return classifier


def parsed(ranking, fell_back=False) -> Message:
    message = Message(data={"text": "une question"})
    ranking = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    if fell_back:
        fallback = {"name": "nlu_fallback", "confidence": 0.5}
        message.set("intent", fallback, add_to_output=True)
        message.set("intent_ranking", [fallback, *ranking], add_to_output=True)
    else:
        message.set("intent", ranking[0], add_to_output=True)
        message.set("intent_ranking", ranking, add_to_output=True)
    return message


def names(message: Message):
    return message.get("intent")["name"], [r["name"] for r in message.get("intent_ranking")]


def test_out_of_scope_becomes_faq_when_the_gate_says_demarche():
    message = parsed([("out_of_scope", 0.8), ("faq", 0.1), ("events", 0.1)])
    component(1.0).process([message])
    assert names(message) == ("faq", ["faq", "out_of_scope", "events"])
    assert message.get("intent")["confidence"] == pytest.approx(1 / (1 + 2.718281828**-1.0), rel=1e-3)
    assert message.get(SCORE_KEY) == 1.0


def test_out_of_scope_stays_when_the_gate_says_no():
    message = parsed([("out_of_scope", 0.8), ("faq", 0.1)])
    component(-1.0).process([message])
    assert names(message) == ("out_of_scope", ["out_of_scope", "faq"])


def test_a_fallback_becomes_faq_and_no_longer_falls_back():
    message = parsed([("events", 0.4), ("faq", 0.35)], fell_back=True)
    component(0.5).process([message])
    assert names(message) == ("faq", ["faq", "events"])


def test_faq_gives_way_to_diet_s_next_intent_when_the_gate_clearly_says_no():
    message = parsed([("faq", 0.6), ("out_of_scope", 0.3), ("greet", 0.1)])
    component(-1.0).process([message])
    assert names(message) == ("out_of_scope", ["out_of_scope", "greet"])


def test_a_fallback_between_faq_and_out_of_scope_is_out_of_scope_when_the_gate_says_no():
    message = parsed([("faq", 0.45), ("out_of_scope", 0.3), ("events", 0.2)], fell_back=True)
    component(-1.0).process([message])
    assert names(message) == ("out_of_scope", ["out_of_scope", "events"])


def test_a_fallback_on_a_business_intent_still_falls_back_when_the_gate_says_no():
    message = parsed([("events", 0.45), ("faq", 0.4)], fell_back=True)
    component(-1.0).process([message])
    assert names(message) == ("nlu_fallback", ["nlu_fallback", "events", "faq"])


def test_an_unsure_business_intent_becomes_faq_when_the_gate_is_clear():
    message = parsed([("waste_collection_day", 0.7), ("faq", 0.2)])
    component(1.2).process([message])
    assert names(message)[0] == "faq"


def test_a_business_intent_diet_is_sure_of_is_never_taken():
    message = parsed([("book_appointment", 0.97), ("faq", 0.02)])
    component(3.0).process([message])
    assert names(message) == ("book_appointment", ["book_appointment", "faq"])


def test_a_message_without_text_or_ranking_is_left_alone():
    empty = Message(data={"text": ""})
    component(3.0).process([empty])
    assert empty.get("intent") is None


def test_trained_persisted_and_loaded_from_the_model_storage(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("knowledge_gate")
    context = ExecutionContext(GraphSchema({}), "test")
    config = KnowledgeGateClassifier.get_default_config()
    data = TrainingData(
        [Message(data={"text": text, "intent": "out_of_scope"}) for text in OTHERS]
        + [Message(data={"text": "je veux un acte de mariage", "intent": "faq"})]
    )
    KnowledgeGateClassifier.create(config, storage, resource, context).train(data)
    loaded = KnowledgeGateClassifier.load(config, storage, resource, context)
    assert "je veux un acte de mariage" in loaded.examples["positives"]
    assert "raconte moi une blague" in loaded.examples["negatives"]
    message = parsed([("out_of_scope", 0.9), ("faq", 0.1)])
    message.set("text", "comment avoir un extrait d'acte de naissance")
    loaded.process([message])
    assert names(message)[0] == "faq"


def test_a_model_without_the_gate_s_file_leaves_diet_alone(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = KnowledgeGateClassifier.load(
        KnowledgeGateClassifier.get_default_config(), storage, Resource("absent"), context
    )
    message = parsed([("out_of_scope", 0.9)])
    loaded.process([message])
    assert names(message) == ("out_of_scope", ["out_of_scope"])


def test_the_gate_learns_every_phrasing_against_every_other_intent():
    data = TrainingData(
        [
            Message(data={"text": "bonjour", "intent": "greet"}),
            Message(data={"text": "un acte", "intent": "faq"}),
        ]
    )
    examples = gate_examples(data)
    assert "bonjour" in examples["negatives"] and "un acte" in examples["positives"]
    assert len(examples["positives"]) > 2000  # the demo base's phrasings and titles


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

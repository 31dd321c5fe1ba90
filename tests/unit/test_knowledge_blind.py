"""The blind gate's arithmetic (ops/check_blind.py), without a trained Rasa model."""

from __future__ import annotations

from collections import Counter

from ops.check_blind import KNOWLEDGE, REAL_USERS, knowledge_figures, labelled, real_users_figures


class FixedRanker:
    def __init__(self, answers):
        self.answers = answers

    def rank(self, text, limit):
        from knowledge.ranker import Scored

        return [Scored(self.answers[text], 1.0)]


def test_the_blind_sets_are_read_with_their_labels():
    real, known = labelled(REAL_USERS), labelled(KNOWLEDGE)
    assert len(real) >= 300 and len(known) >= 300
    assert {label for _, label in real} >= {"faq", "out_of_scope", "goodbye", "human_handoff"}
    assert all(label.startswith("faq/") for _, label in known)


def test_real_users_accuracy_counts_a_fallback_as_a_miss():
    pairs = [("a", "faq"), ("b", "greet"), ("c", "goodbye"), ("d", "faq")]
    accuracy, misses = real_users_figures(pairs, ["faq", "greet", "thank", "nlu_fallback"])
    assert accuracy == 0.5
    assert misses == Counter({("goodbye", "thank"): 1, ("faq", "nlu_fallback"): 1})


def test_knowledge_end_to_end_needs_faq_then_the_right_key():
    pairs = [("q1", "faq/a"), ("q2", "faq/b"), ("q3", "faq/c"), ("q4", "faq/missing")]
    ranker = FixedRanker({"q1": "a", "q2": "b", "q3": "x", "q4": "a"})
    figures = knowledge_figures(pairs, ["faq", "id_documents_info", "faq", "faq"], ranker)
    assert figures == {"end_to_end": 0.25, "ranker": 0.5, "faq": 0.75}

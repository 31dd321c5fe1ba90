"""Unanswered questions grouped by similarity, a group as Rasa NLU YAML, and the CSV export."""

from datetime import datetime

import pytest
import yaml

from analytics.export import csv_text
from analytics.unanswered import Question, group, nlu_yaml

AT = datetime(2026, 12, 1, 9, 0)

# What citizens typed, in four subjects the knowledge base does not have yet, plus one alone.
ASKED = {
    "cantine": ["comment inscrire mon enfant à la cantine", "inscription cantine scolaire",
                "inscrire mon fils a la cantine svp", "inscription a la cantine"],
    "piscine": ["horaires de la piscine", "piscine municipale horaires", "la piscine est ouverte quand ?"],
    "poubelles": ["quand passe le camion poubelle", "jour de ramassage des poubelles",
                  "poubelle jaune quel jour"],
    "permis": ["je m'appelle [nom] et je veux un permis de construire", "permis de construire dossier"],
    "seul": ["le maire est-il marié ?"],
}  # fmt: skip


def questions(kind="fallback"):
    return [Question(text, kind, "faq", AT) for texts in ASKED.values() for text in texts]


def test_questions_on_the_same_subject_end_in_the_same_group_and_others_apart():
    groups, left_out = group(questions() + [Question("inscription cantine scolaire", "unhelpful", None, AT)])
    assert left_out == 0
    found = [sorted(t for t, _ in g.examples) for g in groups]
    for subject, texts in ASKED.items():
        assert sorted(texts) in found, subject
    assert len(groups) == len(ASKED)
    biggest = groups[0]  # the cantine group: 5 questions (one text asked twice)
    assert biggest.number == 1 and biggest.count == 5
    assert biggest.examples[0] == ("inscription cantine scolaire", 2)
    assert biggest.kinds == {"fallback": 4, "unhelpful": 1} and biggest.intent_hint == "faq"


def test_grouping_does_not_depend_on_the_order_questions_came_in():
    first = {tuple(sorted(t for t, _ in g.examples)) for g in group(questions())[0]}
    second = {tuple(sorted(t for t, _ in g.examples)) for g in group(list(reversed(questions())))[0]}
    assert first == second


def test_one_question_or_only_placeholders():
    assert [g.count for g in group([Question("[nom] [adresse]", "comment", None, AT)])[0]] == [1]
    assert group([])[0] == []


def test_a_group_as_rasa_nlu_yaml_for_an_intent_or_a_knowledge_entry():
    text = nlu_yaml(
        "faq/ecole_cantine", ["inscription cantine scolaire", "inscrire mon fils a la cantine svp"]
    )
    data = yaml.safe_load(text)
    assert data["nlu"] == [
        {
            "intent": "faq/ecole_cantine",
            "examples": "- inscription cantine scolaire\n- inscrire mon fils a la cantine svp\n",
        }
    ]
    assert "À relire" not in text


def test_placeholders_are_flagged_and_never_read_as_entities():
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    text = nlu_yaml(
        "request_status", ["mon dossier [numéro][référence] ?", "mon dossier [numéro] svp", "dup", "dup"]
    )
    assert "# À relire : remplacez" in text
    examples = RasaYAMLReader().reads(text).training_examples
    assert [e.get("text") for e in examples] == [
        "mon dossier [numéro] [référence] ?",
        "mon dossier [numéro] svp",
        "dup",
    ]
    assert all(not e.get("entities") for e in examples)


@pytest.mark.parametrize("intent", ["", "faq/", "Faq/x", "greet\n- intent: x", "../x"])
def test_only_intent_names_are_written(intent):
    with pytest.raises(ValueError):
        nlu_yaml(intent, ["x"])


def test_csv_for_a_french_spreadsheet_without_formulas():
    text = csv_text(
        ["Question", "Nombre", "Taux (%)"],
        [['=HYPERLINK("http://x")', 3, 12.5], ["+33 6", -1, None], ["@SUM(A1)", 0, 100.0], ["-2+3", 1, 0.5]],
    )
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").split("\r\n")
    assert lines[0] == "Question;Nombre;Taux (%)"
    assert lines[1] == '"\'=HYPERLINK(""http://x"")";3;12,5'
    assert lines[2] == "'+33 6;-1;" and lines[3] == "'@SUM(A1);0;100" and lines[4] == "'-2+3;1;0,5"

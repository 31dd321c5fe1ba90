"""Welfare triage: the eligibility boundaries, free-text extraction, next questions, danger, answers."""

import re

import pytest
import yaml

from core.territory import load_territory
from tests.unit.conftest import TERRITORY_FILE
from welfare.config import DEFAULT_WELFARE_FILE, parse_welfare_config
from welfare.eligibility import (
    MESSAGE_MAX,
    Situation,
    Suggestion,
    answer_fr,
    assess,
    detect_danger,
    missing_questions,
    normalize,
    parse_situation_text,
)


@pytest.fixture(scope="module")
def config():
    """The demo welfare file (its aids and offices are what these tests check), with the CCAS
    taken from the tests' own territory file (tests/fixtures/territory.yml)."""
    raw = yaml.safe_load(DEFAULT_WELFARE_FILE.read_text(encoding="utf-8"))
    return parse_welfare_config(raw, DEFAULT_WELFARE_FILE, load_territory(TERRITORY_FILE))


def level(situation: Situation, aid: str) -> str | None:
    """The likelihood given to `aid`, or None when the aid is not suggested."""
    return next((s.likelihood for s in assess(situation) if s.aid == aid), None)


def suggestion(situation: Situation, aid: str) -> Suggestion:
    return next(s for s in assess(situation) if s.aid == aid)


def autonomy(age, **kw) -> Situation:
    return Situation("parent", age, "autonomy", **kw)


def disability(age, **kw) -> Situation:
    return Situation("self", age, "disability", **kw)


def resources(age, **kw) -> Situation:
    return Situation("self", age, "low_resources", **kw)


# ---- APA -----------------------------------------------------------------------------------------


def test_apa_59_is_not_eligible_and_points_to_ccas_and_pension_fund():
    apa = suggestion(autonomy(59), "apa")
    assert apa.likelihood == "unlikely"
    assert "60 ans" in apa.why_fr and "CCAS" in apa.why_fr and "caisse de retraite" in apa.why_fr
    assert assess(autonomy(59))[-1].aid == "ccas"


def test_apa_60_is_possible_then_likely_with_a_gir():
    assert level(autonomy(60), "apa") == "possible"
    assert level(autonomy(60, gir=4), "apa") == "likely"
    assert level(autonomy(None), "apa") == "possible"


@pytest.mark.parametrize("gir", [1, 2, 3, 4])
def test_apa_gir_1_to_4_is_likely(gir):
    assert level(autonomy(80, gir=gir), "apa") == "likely"


@pytest.mark.parametrize("gir", [5, 6])
def test_apa_gir_5_and_6_are_not_apa_but_ccas_and_pension_fund(gir):
    suggestions = assess(autonomy(80, gir=gir))
    apa = next(s for s in suggestions if s.aid == "apa")
    assert apa.likelihood == "unlikely"
    assert "caisse de retraite" in apa.why_fr and "CCAS" in apa.why_fr
    assert suggestions[-1].aid == "ccas" and "caisse de retraite" in suggestions[-1].why_fr


def test_apa_names_home_or_establishment():
    assert "APA à domicile" in suggestion(autonomy(80, place="home"), "apa").why_fr
    assert "APA en établissement" in suggestion(autonomy(80, place="establishment"), "apa").why_fr


def test_autonomy_before_60_suggests_pch():
    assert level(autonomy(45), "pch") == "possible"


# ---- AAH -----------------------------------------------------------------------------------------


def test_aah_80_percent_is_likely():
    assert level(disability(35, incapacity=80), "aah") == "likely"
    assert level(disability(35, incapacity=95), "aah") == "likely"


def test_aah_79_percent_is_only_possible_and_depends_on_the_mdph():
    aah = suggestion(disability(35, incapacity=79), "aah")
    assert aah.likelihood == "possible"
    assert "MDPH" in aah.why_fr and "restriction substantielle et durable" in aah.why_fr


def test_aah_50_percent_is_possible_49_unlikely():
    assert level(disability(35, incapacity=50), "aah") == "possible"
    assert level(disability(35, incapacity=49), "aah") == "unlikely"


def test_aah_unknown_rate_is_possible_and_explains_the_thresholds():
    aah = suggestion(disability(35), "aah")
    assert aah.likelihood == "possible" and "80 %" in aah.why_fr and "50" in aah.why_fr


def test_aah_age_19_is_unlikely_but_mentions_16_when_not_dependent():
    aah = suggestion(disability(19, incapacity=80), "aah")
    assert aah.likelihood == "unlikely"
    assert "20 ans" in aah.why_fr and "16 ans" in aah.why_fr and "à la charge" in aah.why_fr


def test_aah_age_20_is_ok():
    assert level(disability(20, incapacity=80), "aah") == "likely"
    assert level(disability(20), "aah") == "possible"


def test_aah_mentions_the_resources_ceiling():
    assert "plafond" in suggestion(disability(40, incapacity=85), "aah").why_fr


# ---- PCH -----------------------------------------------------------------------------------------


def test_pch_59_is_possible():
    assert level(disability(59), "pch") == "possible"


def test_pch_61_with_disability_before_60_is_possible():
    pch = suggestion(disability(61, disability_before_60=True), "pch")
    assert pch.likelihood == "possible" and "avant 60 ans" in pch.why_fr


def test_pch_61_without_disability_before_60_is_unlikely():
    pch = suggestion(disability(61, disability_before_60=False), "pch")
    assert pch.likelihood == "unlikely"
    assert "avant 60 ans" in pch.why_fr and "travaille encore" in pch.why_fr


def test_pch_61_unknown_onset_is_possible_with_the_condition_stated():
    pch = suggestion(disability(61), "pch")
    assert pch.likelihood == "possible" and "si le handicap" in pch.why_fr


def test_pch_explains_absolute_or_serious_difficulty():
    why = suggestion(disability(40), "pch").why_fr
    assert "absolue pour une activité" in why and "grave pour deux" in why


# ---- PMI -----------------------------------------------------------------------------------------


def test_pmi_child_5_is_likely_child_6_is_not_pmi():
    assert level(Situation("self", 30, "pregnancy_child", child_age=5), "pmi") == "likely"
    pmi = suggestion(Situation("self", 30, "pregnancy_child", child_age=6), "pmi")
    assert pmi.likelihood == "unlikely" and "moins de 6 ans" in pmi.why_fr


def test_pmi_child_age_taken_from_the_child_itself():
    assert level(Situation("child", 0, "pregnancy_child"), "pmi") == "likely"
    assert level(Situation("child", 6, "pregnancy_child"), "pmi") == "unlikely"


def test_pmi_pregnant_is_likely_without_resources_condition():
    pmi = suggestion(Situation("self", 28, "pregnancy_child", pregnant=True), "pmi")
    assert pmi.likelihood == "likely" and "sans condition de ressources" in pmi.why_fr


def test_pmi_unknown_child_age_is_possible():
    assert level(Situation("self", None, "pregnancy_child"), "pmi") == "possible"


# ---- RSA -----------------------------------------------------------------------------------------


def test_rsa_25_is_possible_under_a_ceiling():
    rsa = suggestion(resources(25), "rsa")
    assert rsa.likelihood == "possible"
    assert "sous un plafond qui dépend de la composition du foyer" in rsa.why_fr
    assert "mesdroitssociaux.gouv.fr" in rsa.why_fr
    assert not re.search(r"\d+[ ,.]?\d* ?(€|euros)", rsa.why_fr)  # no amount


def test_rsa_24_without_child_or_pregnancy_is_unlikely_and_mentions_exceptions():
    rsa = suggestion(resources(24, has_child=False, pregnant=False), "rsa")
    assert rsa.likelihood == "unlikely"
    assert "enceinte" in rsa.why_fr and "enfant à charge" in rsa.why_fr and "RSA jeune actif" in rsa.why_fr


def test_rsa_24_with_a_child_or_pregnant_is_possible():
    assert level(resources(24, has_child=True), "rsa") == "possible"
    assert level(resources(24, pregnant=True), "rsa") == "possible"


def test_rsa_under_18_is_unlikely():
    assert level(resources(17, has_child=True), "rsa") == "unlikely"


def test_young_pregnant_with_low_resources_also_gets_pmi():
    aids = [s.aid for s in assess(resources(22, pregnant=True))]
    assert aids[:2] == ["pmi", "rsa"] and aids[-1] == "ccas"


# ---- ordering and CCAS fallback --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "situation",
    [
        Situation(None, None, None),
        autonomy(59),
        autonomy(75, gir=6),
        resources(24),
        disability(61, incapacity=30, disability_before_60=False),
        Situation("self", 30, "pregnancy_child", child_age=8),
    ],
)
def test_ccas_closes_the_list_when_nothing_is_likely(situation):
    suggestions = assess(situation)
    assert not any(s.likelihood == "likely" for s in suggestions[:-1])
    assert suggestions[-1].aid == "ccas" and suggestions[-1].likelihood == "possible"


def test_suggestions_are_ordered_best_first_before_the_ccas():
    suggestions = assess(disability(61, incapacity=85, disability_before_60=False))
    ranks = {"likely": 0, "possible": 1, "unlikely": 2}
    body = [s for s in suggestions if s.aid != "ccas"]
    assert [ranks[s.likelihood] for s in body] == sorted(ranks[s.likelihood] for s in body)
    assert body[0].aid == "aah"


def test_likely_pmi_alone_needs_no_ccas():
    assert [s.aid for s in assess(Situation("self", 30, "pregnancy_child", pregnant=True))] == ["pmi"]


@pytest.mark.parametrize(
    "situation",
    [
        autonomy(80, gir=2),
        autonomy(59),
        disability(30, incapacity=80),
        disability(19),
        resources(30),
        resources(24),
        Situation("self", 25, "pregnancy_child", pregnant=True),
        Situation("child", 3, "pregnancy_child"),
    ],
)
def test_never_a_promise(situation):
    for s in assess(situation):
        text = s.why_fr.lower()
        assert "vous avez droit" not in text and "êtes éligible" not in text and "est éligible" not in text


def test_wording_follows_the_person_concerned():
    assert suggestion(disability(30), "aah").why_fr.startswith("Vous pourriez être éligible")
    assert suggestion(autonomy(80), "apa").why_fr.startswith("Votre parent pourrait être éligible")
    child = Situation("child", 10, "disability")
    assert suggestion(child, "pch").why_fr.startswith("Votre enfant pourrait")


# ---- free text ---------------------------------------------------------------------------------------

PHRASES = [
    ("ma mère ne peut plus vivre seule", {"for_whom": "parent", "need": "autonomy"}),
    (
        "Ma mère ne peut plus vivre seule, elle a 82 ans",
        {"for_whom": "parent", "need": "autonomy", "age": 82},
    ),
    ("je n'ai plus de revenus", {"for_whom": "self", "need": "low_resources"}),
    ("je suis enceinte", {"for_whom": "self", "need": "pregnancy_child", "pregnant": True}),
    ("mon fils est handicapé", {"for_whom": "child", "need": "disability"}),
    ("j'ai 23 ans", {"for_whom": "self", "age": 23}),
    (
        "mon père est classé gir 4, il a 78 ans",
        {"for_whom": "parent", "need": "autonomy", "gir": 4, "age": 78},
    ),
    (
        "jsuis enceinte jai 19 ans",
        {"for_whom": "self", "pregnant": True, "age": 19, "need": "pregnancy_child"},
    ),
    ("jai plus de revenus jai 30 ans", {"for_whom": "self", "need": "low_resources", "age": 30}),
    (
        "ma fille de 3 ans a besoin de ses vaccins",
        {"for_whom": "child", "child_age": 3, "need": "pregnancy_child"},
    ),
    (
        "mon bébé a 8 mois, où faire le suivi ?",
        {"for_whom": "child", "child_age": 0, "need": "pregnancy_child"},
    ),
    ("la MDPH m'a reconnu un taux de 80 %", {"incapacity": 80, "need": "disability"}),
    ("taux d'incapacite 50% je suis handicape", {"for_whom": "self", "incapacity": 50, "need": "disability"}),
    (
        "je cherche une aide pour ma grand-mère qui perd son autonomie",
        {"for_whom": "other", "need": "autonomy"},
    ),
    ("mon père de 85 ans va entrer en EHPAD", {"for_whom": "parent", "age": 85, "place": "establishment"}),
    (
        "je suis mère célibataire avec 2 enfants et je ne peux plus payer mon loyer",
        {"for_whom": "self", "has_child": True, "need": "low_resources"},
    ),
    (
        "je vis seule avec mon fils de 2 ans, je suis au chômage",
        {"for_whom": "self", "has_child": True, "child_age": 2, "need": "low_resources"},
    ),
    (
        "mon mari est en fauteuil roulant depuis sa naissance, il a 62 ans",
        {"for_whom": "spouse", "age": 62, "disability_before_60": True, "need": "disability"},
    ),
    ("ma femme est enceinte", {"for_whom": "spouse", "pregnant": True, "need": "pregnancy_child"}),
    (
        "je suis handicapée depuis l'enfance, j'ai 64 ans",
        {"for_whom": "self", "age": 64, "disability_before_60": True, "need": "disability"},
    ),
    ("je suis au rsa depuis 3 ans", {"for_whom": "self", "need": "low_resources"}),
    ("je travaille depuis 2 ans et j'ai 24 ans", {"age": 24}),
    (
        "c'est pour ma maman, elle a 90 ans et veut rester chez elle",
        {"for_whom": "parent", "age": 90, "place": "home", "need": "autonomy"},
    ),
    ("mon enfant autiste a 7 ans", {"for_whom": "child", "age": 7, "need": "disability"}),
    ("plus d argent pour manger", {"need": "low_resources"}),
    ("jai 2 enfants et plus de salaire", {"for_whom": "self", "has_child": True, "need": "low_resources"}),
    (
        "je n'ai pas d'enfant, j'ai 22 ans, sans revenus",
        {"for_whom": "self", "age": 22, "has_child": False, "need": "low_resources"},
    ),
    ("on me coupe l'électricité je peux pas payer les factures", {"need": "low_resources"}),
    ("mon pere 70 ans alzheimer", {"for_whom": "parent", "age": 70, "need": "autonomy"}),
    (
        "je suis pas enceinte mais j'ai un bébé de 4 mois",
        {"pregnant": False, "child_age": 0, "has_child": True, "need": "pregnancy_child"},
    ),
    ("ma soeur est handicapée à 60%", {"for_whom": "other", "incapacity": 60, "need": "disability"}),
    (
        "MA MERE EST EN GIR 2 ET VIT EN MAISON DE RETRAITE",
        {"gir": 2, "place": "establishment", "need": "autonomy"},
    ),
    (
        "mon père de 81 ans est handicapé et ne peut plus se laver seul",
        {"for_whom": "parent", "age": 81, "need": "autonomy"},
    ),
    ("mon fils de 17 ans est handicapé", {"for_whom": "child", "age": 17, "need": "disability"}),
    ("elle a 82 ans", {"age": 82}),
]


@pytest.mark.parametrize(("text", "expected"), PHRASES, ids=[p[0][:40] for p in PHRASES])
def test_parse_situation_text(text, expected):
    found = parse_situation_text(text)
    assert {key: found.get(key) for key in expected} == expected


def test_parse_ignores_durations_and_empty_text():
    assert "age" not in parse_situation_text("je suis au chômage depuis 3 ans")
    assert "age" not in parse_situation_text("il y a 2 ans j'ai perdu mon emploi")
    assert parse_situation_text("") == {} and parse_situation_text("  !? ") == {}


def test_parse_result_builds_a_situation():
    situation = Situation(**parse_situation_text("Ma mère ne peut plus vivre seule, elle a 82 ans"))
    assert level(situation, "apa") == "possible"


def test_normalize():
    assert normalize("J’ai 82 ANS, Élodie !") == "j ai 82 ans elodie"


# ---- next questions ----------------------------------------------------------------------------------


def test_missing_questions_start_with_who_what_and_age():
    assert missing_questions(Situation()) == ["for_whom", "need", "age"]
    assert missing_questions(Situation("self")) == ["need", "age"]


def test_missing_questions_skip_known_fields():
    assert missing_questions(Situation("parent", None, "autonomy")) == ["age", "place", "gir"]
    assert missing_questions(Situation("parent", 82, "autonomy", place="home")) == ["gir"]
    assert missing_questions(Situation("parent", 82, "autonomy", place="home", gir=3)) == []


def test_missing_questions_stop_when_the_aid_is_ruled_out():
    assert missing_questions(Situation("parent", 55, "autonomy")) == []
    assert missing_questions(Situation("parent", 80, "autonomy", gir=5)) == []


def test_missing_questions_for_disability():
    assert missing_questions(Situation("self", None, "disability")) == ["age", "incapacity"]
    assert missing_questions(Situation("self", 64, "disability")) == ["incapacity", "disability_before_60"]
    assert missing_questions(Situation("child", 8, "disability")) == []
    assert missing_questions(Situation("self", 64, "disability"), aid="pch") == ["disability_before_60"]


def test_missing_questions_for_pmi():
    assert missing_questions(Situation("self", None, "pregnancy_child")) == ["pregnant", "child_age"]
    assert missing_questions(Situation("self", None, "pregnancy_child", pregnant=True)) == []
    assert missing_questions(Situation("self", None, "pregnancy_child", pregnant=False)) == ["child_age"]
    assert missing_questions(Situation("child", None, "pregnancy_child")) == ["child_age"]
    assert missing_questions(Situation("child", 2, "pregnancy_child")) == []


def test_missing_questions_for_rsa():
    assert missing_questions(Situation("self", None, "low_resources")) == ["age"]
    assert missing_questions(Situation("self", 30, "low_resources")) == []
    assert missing_questions(Situation("self", 22, "low_resources")) == ["has_child", "pregnant"]
    assert missing_questions(Situation("self", 22, "low_resources", has_child=False)) == ["pregnant"]
    assert missing_questions(Situation("self", 22, "low_resources", has_child=True)) == []


def test_missing_questions_are_few():
    for situation in (Situation(), Situation(need="autonomy"), Situation(need="disability", age=70)):
        assert len(missing_questions(situation)) <= 4


# ---- danger ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("il me frappe", "3919"),
        ("Mon mari me frappe depuis des mois", "3919"),
        ("je subis des violences", "3919"),
        ("VIOLENCES conjugales", "3919"),
        ("j'ai envie de mourir", "3114"),
        ("je pense au suicide", "3114"),
        ("jai envie d'en finir", "3114"),
        ("il est suicidaire", "3114"),
        ("mon enfant est en danger", "119"),
        ("mes enfants sont en danger", "119"),
        ("maltraitance", "119"),
        ("ma mère est maltraitée à l'EHPAD", "3977"),
        ("mon père fait un malaise", "15"),
        ("on m'a agressée dans la rue", "17"),
        ("urgence vitale !", "112"),
    ],
)
def test_detect_danger_positives(config, text, number):
    assert number in [line.number for line in detect_danger(text, config)]


@pytest.mark.parametrize(
    "text",
    [
        "mon vol est en danger d'être annulé",
        "ma mère ne peut plus vivre seule",
        "je n'ai plus de revenus",
        "je suis enceinte",
        "la frappe de mon dossier est illisible",
        "je cherche la PMI",
        "mon fils est handicapé",
        "",
        "j'ai un violon",
    ],
)
def test_detect_danger_negatives(config, text):
    assert detect_danger(text, config) == []


def test_detect_danger_uses_the_configured_file_by_default():
    assert [line.number for line in detect_danger("il me frappe")] == ["3919"]


# ---- the French answer -------------------------------------------------------------------------------------


def test_answer_contains_office_phone_link_and_documents(config):
    situation = Situation("self", 35, "disability", incapacity=80)
    messages = answer_fr(config, assess(situation), situation)
    text = "\n".join(messages)
    assert "vous pourriez" in text.lower()
    assert "01 99 00 20 00" in text  # MDPH
    assert "https://www.service-public.fr/particuliers/vosdroits/F12242" in text
    assert "cerfa 15692" in text and "cerfa 15695" in text
    assert "Maison départementale des personnes handicapées" in text


def test_answer_for_apa_gives_the_autonomy_office(config):
    situation = Situation("parent", 82, "autonomy", place="home", gir=3)
    text = "\n".join(answer_fr(config, assess(situation), situation))
    assert "pourrait être éligible à l'APA" in text
    assert "01 99 00 20 10" in text and "F10009" in text and "avis d'imposition" in text


def test_answer_for_pmi_lists_both_centres(config):
    situation = Situation("self", 27, "pregnancy_child", pregnant=True)
    text = "\n".join(answer_fr(config, assess(situation), situation))
    assert "Villebrune" in text and "Brunville" in text
    assert "01 99 00 20 20" in text and "01 99 00 20 25" in text and "F31460" in text


def test_answer_for_rsa_gives_caf_and_simulator_and_ccas_from_territory(config):
    situation = Situation("self", 40, "low_resources")
    text = "\n".join(answer_fr(config, assess(situation), situation))
    assert "01 99 00 20 30" in text and "F19778" in text and "mesdroitssociaux.gouv.fr" in text
    assert "8 rue Pasteur" in text and "01 99 00 10 20" in text  # the fixture territory's CCAS


def test_answer_mentions_unlikely_aids_briefly(config):
    situation = Situation("parent", 75, "autonomy", gir=5)
    messages = answer_fr(config, assess(situation), situation)
    text = "\n".join(messages)
    assert "Moins adapté" in text and "GIR 5" in text and "caisse de retraite" in text


@pytest.mark.parametrize(
    "situation",
    [
        Situation(),
        Situation("self", 35, "disability", incapacity=80),
        Situation("self", 62, "disability", incapacity=79, disability_before_60=False),
        Situation("parent", 82, "autonomy", place="establishment", gir=1),
        Situation("self", 22, "low_resources", pregnant=True),
        Situation("child", 4, "pregnancy_child"),
        Situation("self", 24, "low_resources"),
    ],
)
def test_answer_messages_are_short_and_never_promise(config, situation):
    messages = answer_fr(config, assess(situation), situation)
    assert messages and all(0 < len(m) <= MESSAGE_MAX for m in messages)
    text = "\n".join(messages).lower()
    assert re.search(r"pourriez|pourrait", text)  # "vous pourriez" / "votre parent pourrait"
    assert "vous avez droit" not in text and "vous êtes éligible" not in text
    assert "seul l'organisme" in text


def test_answer_respects_a_smaller_limit(config):
    situation = Situation("self", 22, "low_resources", pregnant=True)
    messages = answer_fr(config, assess(situation), situation, limit=300)
    assert len(messages) > 2 and all(len(m) <= 300 for m in messages)


def test_answer_with_nothing_hopeful_still_offers_the_ccas(config):
    situation = Situation("self", 24, "low_resources")
    only_unlikely = [s for s in assess(situation) if s.likelihood == "unlikely"]
    text = "\n".join(answer_fr(config, only_unlikely, situation))
    assert "CCAS" in text and "01 99 00 10 20" in text

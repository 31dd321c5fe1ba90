import re
from pathlib import Path

import pytest
import yaml

from waste.sorting import (
    DEFAULT_SORTING_FILE,
    SortingGuideError,
    answer_fr,
    extract_object,
    find_item,
    load_sorting_guide,
    normalise,
)


@pytest.fixture(scope="module")
def guide():
    return load_sorting_guide(DEFAULT_SORTING_FILE)


def best(guide, question: str):
    matches = find_item(guide, question)
    assert matches, f"aucun article trouvé pour {question!r}"
    return matches[0].item


def write_variant(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load(DEFAULT_SORTING_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "sorting_guide.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


# ---- the file ------------------------------------------------------------------------------


def test_guide_loads_with_enough_items(guide):
    assert len(guide.items) >= 220
    assert {
        "bac_jaune",
        "verre",
        "ordures_menageres",
        "biodechets",
        "dechetterie",
        "pharmacie",
        "borne_textile",
        "point_de_collecte_magasin",
        "encombrants",
        "dechets_verts",
    } <= set(guide.streams)
    assert {item.stream for item in guide.items} == set(guide.streams)  # every stream is used
    assert guide.national_guide_url.startswith("https://")


def test_every_item_has_advice_and_aliases(guide):
    for item in guide.items:
        assert item.advice.strip().endswith((".", "!", "?")), item.name
        assert item.aliases, item.name


def test_every_name_and_alias_finds_its_own_item(guide):
    for item in guide.items:
        for key in item.keys:
            assert best(guide, key) is item, key


def test_env_variable_selects_the_file(tmp_path, monkeypatch):
    path = write_variant(tmp_path, lambda raw: raw["items"].__setitem__(slice(1, None), []))
    monkeypatch.setenv("GRU_SORTING_FILE", str(path))
    assert len(load_sorting_guide().items) == 1


# ---- questions → items ---------------------------------------------------------------------

QUESTIONS = [
    # (question, expected item name, expected stream)
    ("où jeter mes piles usagées ?", "piles", "point_de_collecte_magasin"),
    ("je mets ou le carton a pizza", "carton à pizza", "bac_jaune"),
    ("les pots de yaourt ca va dans quelle poubelle", "pot de yaourt", "bac_jaune"),
    ("on peut recycler les capsules nespresso ?", "capsule de café", "bac_jaune"),
    ("ou jeter les yahourts", "pot de yaourt", "bac_jaune"),
    ("slt c koi la poubel pr les pot de yaourt", "pot de yaourt", "bac_jaune"),
    ("est-ce que les pots de yaourt en verre vont dans le bac jaune", "pot en verre", "verre"),
    ("ou je jette une ampoule basse conso", "ampoule LED", "point_de_collecte_magasin"),
    ("mes ampoules LED grillées", "ampoule LED", "point_de_collecte_magasin"),
    ("mes vieilles ampoules halogènes", "ampoule à incandescence", "ordures_menageres"),
    ("une ampoule a incandescence", "ampoule à incandescence", "ordures_menageres"),
    (
        "Bonjour, je voudrais savoir dans quelle poubelle mettre les boîtes de pizza grasses",
        "carton à pizza",
        "bac_jaune",
    ),
    ("médicaments périmés", "médicaments", "pharmacie"),
    ("je fais quoi de mes medicamants perimes", "médicaments", "pharmacie"),
    ("la boîte en carton des médicaments et la notice", "emballage de médicament", "bac_jaune"),
    ("ou je vide l'huile de ma friteuse", "huile de friture", "dechetterie"),
    ("huile de friture usagée on la met ou", "huile de friture", "dechetterie"),
    ("les textiles ça se recycle ?", "vêtements", "borne_textile"),
    ("vieux vêtements troués", "vêtements troués", "borne_textile"),
    ("kel poubel pr lé chaussures", "chaussures", "borne_textile"),
    ("capsules de café dolce gusto", "capsule de café", "bac_jaune"),
    ("un verre cassé", "verre cassé", "ordures_menageres"),
    ("ma vaisselle cassée", "vaisselle", "ordures_menageres"),
    ("des assiettes ebréchées", "vaisselle", "ordures_menageres"),
    ("couches de bébé", "couche", "ordures_menageres"),
    ("bouteille d'huile vide", "bouteille d'huile", "bac_jaune"),
    ("les canettes de coca", "canette", "bac_jaune"),
    ("les cannettes", "canette", "bac_jaune"),
    ("papier alu", "papier aluminium", "bac_jaune"),
    ("barquette en polystyrène de la viande", "barquette en polystyrène", "bac_jaune"),
    ("un sac plastique", "sac en plastique", "bac_jaune"),
    ("vieux téléphone portable", "téléphone portable", "point_de_collecte_magasin"),
    ("cartouche d'encre vide de mon imprimante", "cartouche d'encre", "point_de_collecte_magasin"),
    ("un pot de peinture à moitié plein", "peinture", "dechetterie"),
    ("pneus usagés", "pneus", "point_de_collecte_magasin"),
    ("je me debarrasse comment de mes vieux meubles", "meuble", "encombrants"),
    ("mon vieux canapé", "canapé", "encombrants"),
    ("déchets verts", "déchets verts", "dechets_verts"),
    ("la tonte de pelouse", "tonte de gazon", "dechets_verts"),
    ("les epluchures ca va au compost ?", "épluchures", "biodechets"),
    ("épluchures de patates", "épluchures", "biodechets"),
    ("coquilles d'huîtres", "coquilles d'huîtres", "ordures_menageres"),
    ("les huitres de noel", "coquilles d'huîtres", "ordures_menageres"),
    ("masque chirurgical", "masque", "ordures_menageres"),
    ("mégots", "mégot", "ordures_menageres"),
    ("radiographies", "radiographie", "dechetterie"),
    ("des seringues d'insuline", "seringues et aiguilles", "pharmacie"),
    ("extincteur perimé", "extincteur", "point_de_collecte_magasin"),
    ("bouteille de gaz vide", "bouteille de gaz", "point_de_collecte_magasin"),
    ("un miroir", "miroir", "ordures_menageres"),
    ("vitre cassée", "vitre", "dechetterie"),
    ("pot de fleurs en terre cuite", "pot de fleurs en terre cuite", "dechetterie"),
    ("cd et dvd", "CD ou DVD", "ordures_menageres"),
    ("jouets cassés", "jouets", "dechetterie"),
    ("bouchons", "bouchon en plastique", "bac_jaune"),
    ("des bouchons en liège", "bouchon en liège", "point_de_collecte_magasin"),
    ("briques de lait", "brique alimentaire", "bac_jaune"),
    ("boites de conserve", "boîte de conserve", "bac_jaune"),
    ("aérosols", "aérosol", "bac_jaune"),
    ("une bombe de peinture", "aérosol de peinture", "dechetterie"),
    ("tube de dentifrice", "tube de dentifrice", "bac_jaune"),
    ("mes mouchoirs usagés", "mouchoir en papier", "ordures_menageres"),
    ("mon frigo qui marche plus", "réfrigérateur", "dechetterie"),
    ("ou je met mon vieux matelas", "matelas", "encombrants"),
    ("Bonjour, j'ai des cartons de déménagement, je les mets où ?", "gros carton", "dechetterie"),
    ("des bouteilles de vin vides", "bouteille en verre", "verre"),
    ("mes sapins de noel", "sapin de Noël", "collecte_sapins"),
    ("je jette où mon sapin de noël ?", "sapin de Noël", "collecte_sapins"),
    ("un sapin floqué", "sapin artificiel", "dechetterie"),
    ("les guirlandes de noël", "décorations de Noël", "ordures_menageres"),
    ("emballages cadeaux", "papier cadeau", "bac_jaune"),
    ("papier cadeau pailleté", "papier cadeau métallisé", "ordures_menageres"),
    ("le bolduc des cadeaux", "bolduc", "ordures_menageres"),
    ("feux d'artifice non utilisés", "feux d'artifice", "filiere_specialisee"),
    ("des pétards éclatés", "feux d'artifice tirés", "ordures_menageres"),
    ("un vieux pc portable", "ordinateur", "dechetterie"),
    ("ou jeter sa cigarette électronique", "cigarette électronique", "point_de_collecte_magasin"),
    ("des lingettes", "lingette", "ordures_menageres"),
    ("les cotons tiges", "coton", "ordures_menageres"),
    ("de l'amiante", "amiante", "filiere_specialisee"),
    ("marc de café", "marc de café", "biodechets"),
    ("coquille d'oeuf", "coquille d'œuf", "biodechets"),
    ("tshirt", "vêtements", "borne_textile"),
    ("telephoneportable", "téléphone portable", "point_de_collecte_magasin"),
    ("litière du chat", "litière", "ordures_menageres"),
    ("des gravats de ma salle de bain", "gravats", "dechetterie"),
    ("journaux et magazines", "journal", "bac_jaune"),
    ("ticket de caisse", "ticket de caisse", "ordures_menageres"),
]


def test_enough_realistic_questions():
    assert len(QUESTIONS) >= 60


@pytest.mark.parametrize("question,name,stream", QUESTIONS)
def test_question_finds_expected_item(guide, question, name, stream):
    item = best(guide, question)
    assert (item.name, item.stream) == (name, stream)


def test_at_most_three_matches_best_first(guide):
    matches = find_item(guide, "bouteille")
    assert 1 <= len(matches) <= 3
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


@pytest.mark.parametrize(
    "question", ["", "   ", "où jeter ?", "dans quelle poubelle svp", "un piano", "xyzzy"]
)
def test_nothing_found(guide, question):
    assert find_item(guide, question) == []


def test_normalise_strips_question_words_accents_and_plurals():
    assert normalise("Où jeter mes Piles usagées ?") == "pile"
    assert normalise("les pots de yaourt ça va dans quelle poubelle") == "pot yaourt"
    assert normalise("Œufs") == "oeuf"
    assert normalise("je mets où le carton à pizza") == "carton pizza"


def test_extract_object_keeps_the_citizen_spelling():
    assert extract_object("où jeter un piano à queue ?") == "piano queue"
    assert extract_object("où jeter ?") == ""


# ---- answers -------------------------------------------------------------------------------


def test_answer_gives_destination_and_advice(guide):
    question = "où jeter mes piles usagées ?"
    text = answer_fr(guide, find_item(guide, question), question)
    assert text.startswith("Piles : à rapporter dans un point de collecte en magasin.")
    assert "Ne les jetez jamais à la poubelle" in text


def test_answer_for_pizza_box(guide):
    text = answer_fr(guide, find_item(guide, "carton à pizza"), "carton à pizza")
    assert "bac jaune" in text and "restes" in text and "ordures ménagères" in text


def test_christmas_tree_gets_the_commune_collection(guide):
    question = "je jette où mon sapin de noël ?"
    text = answer_fr(guide, find_item(guide, question), question)
    assert text.startswith("Sapin de Noël : aux points de collecte des sapins, du 26 décembre au 31 janvier")
    assert "parking de la mairie" in text and "floqué" in text


def test_unused_fireworks_never_go_to_the_bin(guide):
    question = "que faire des pétards non utilisés du nouvel an ?"
    text = answer_fr(guide, find_item(guide, question), question)
    assert text.startswith("Feux d'artifice : à confier à une filière spécialisée")
    assert "jamais à la poubelle" in text


def test_several_close_matches_ask_a_question(guide):
    text = answer_fr(guide, find_item(guide, "ampoule"), "ampoule")
    assert text.startswith("Pour bien vous répondre")
    assert "« ampoule LED »" in text and "« ampoule à incandescence »" in text
    assert text.endswith("?")


def test_question_offers_different_streams(guide):
    matches = find_item(guide, "bouteille")
    assert len({m.item.stream for m in matches}) == 3
    assert "?" in answer_fr(guide, matches, "bouteille")


def test_close_matches_with_the_same_stream_are_answered(guide):
    matches = find_item(guide, "pot de yaourt")
    assert answer_fr(guide, matches, "pot de yaourt").startswith("Pot de yaourt : dans le bac jaune")


def test_unsure_match_says_what_was_understood(guide):
    question = "des gravats de ma salle de bain"
    text = answer_fr(guide, find_item(guide, question), question)
    assert text.startswith("Si je comprends bien, vous parlez de « gravats ».")


def test_unknown_item_gets_the_general_rule_and_national_guide(guide):
    text = answer_fr(guide, find_item(guide, "où jeter un piano ?"), "où jeter un piano ?")
    assert text.startswith("Je n'ai pas trouvé « piano » dans le guide du tri de Villebrune.")
    assert "bac jaune" in text and "verre" in text and "déchetterie" in text and "ordures ménagères" in text
    assert guide.national_guide_url in text


def test_unknown_item_without_object(guide):
    assert answer_fr(guide, [], "").startswith("Je n'ai pas trouvé cet objet")


def test_answers_fit_in_one_message(guide):
    for item in guide.items:
        assert len(answer_fr(guide, find_item(guide, item.name), item.name)) < 900, item.name


# ---- validation errors in French -----------------------------------------------------------


def test_unknown_stream(tmp_path):
    path = write_variant(tmp_path, lambda raw: raw["items"][0].update(stream="poubelle_bleue"))
    with pytest.raises(SortingGuideError) as exc:
        load_sorting_guide(path)
    assert str(exc.value).startswith("Fichier invalide : ")
    assert "(guide du tri)" in str(exc.value).splitlines()[0]
    assert "article « pot de yaourt » : flux « poubelle_bleue » inconnu" in str(exc.value)


def test_duplicate_alias_across_items(tmp_path):
    path = write_variant(tmp_path, lambda raw: raw["items"][1]["aliases"].append("Pots de Yaourts"))
    with pytest.raises(SortingGuideError) as exc:
        load_sorting_guide(path)
    message = str(exc.value)
    assert "« Pots de Yaourts » (article « bouteille en plastique ») fait doublon" in message
    assert "(article « pot de yaourt »)" in message


def test_duplicate_item_name(tmp_path):
    path = write_variant(tmp_path, lambda raw: raw["items"].append(dict(raw["items"][0], aliases=[])))
    with pytest.raises(SortingGuideError, match="fait doublon"):
        load_sorting_guide(path)


def test_empty_advice(tmp_path):
    path = write_variant(tmp_path, lambda raw: raw["items"][2].update(advice="  "))
    with pytest.raises(SortingGuideError) as exc:
        load_sorting_guide(path)
    assert "items.2.advice (ligne " in str(
        exc.value
    ) and ") : le conseil (advice) ne peut pas être vide" in str(exc.value)


def test_alias_made_only_of_ignored_words(tmp_path):
    path = write_variant(tmp_path, lambda raw: raw["items"][0]["aliases"].append("où jeter les"))
    with pytest.raises(SortingGuideError, match="ne contient aucun mot significatif"):
        load_sorting_guide(path)


def test_missing_and_unknown_fields_in_french(tmp_path):
    def change(raw):
        del raw["items"][0]["stream"]
        raw["items"][1]["conseil"] = "Videz-la."

    with pytest.raises(SortingGuideError) as exc:
        load_sorting_guide(write_variant(tmp_path, change))
    message = str(exc.value)
    assert re.search(r"items\.0\.stream \(ligne \d+\) : champ obligatoire manquant", message)
    assert re.search(r"items\.1\.conseil \(ligne \d+\) : champ inconnu", message)


def test_missing_file(tmp_path):
    with pytest.raises(SortingGuideError, match="Fichier introuvable : .*absent.yml \\(guide du tri\\)"):
        load_sorting_guide(tmp_path / "absent.yml")


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("items: [\n", encoding="utf-8")
    with pytest.raises(
        SortingGuideError, match="Fichier illisible \\(YAML\\) : .*broken.yml \\(guide du tri\\)"
    ):
        load_sorting_guide(path)

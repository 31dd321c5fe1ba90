"""Knowledge base: the content files and their French errors, the ranker, the answers."""

from __future__ import annotations

import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.territory import load_territory
from knowledge import ranker as ranking
from knowledge.answer import MORE_INFO, build_answer, service_line
from knowledge.content import (
    DEFAULT_KNOWLEDGE_DIR,
    KnowledgeError,
    Where,
    knowledge_dir,
    load_knowledge_base,
    read_phrasings,
)
from knowledge.evaluate import cross_validate, margin_table, summary
from knowledge.ranker import ANSWER, CHOOSE, NOTHING, Decision, Ranker, Scored, decide

PARIS = ZoneInfo("Europe/Paris")
TUESDAY_10H = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
TUESDAY_20H = datetime(2026, 12, 1, 20, 0, tzinfo=PARIS)

ENTRY = """\
  - key: {key}
    title: "Demander un acte de naissance"
    answer: >-
      Demandez-le à la mairie du lieu de naissance, en ligne ou au guichet.
    service: {service}
    where: {where}
    administration: {administration}
    official_url: https://www.service-public.fr/particuliers/vosdroits/F1427
    verified: 2026-12-01
"""


def entry(key="acte_naissance", service="accueil", where="mairie", administration="null") -> str:
    return ENTRY.format(key=key, service=service, where=where, administration=administration)


def write(folder, name, *entries) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("entries:\n" + "".join(entries), encoding="utf-8")


def load(folder, phrasings=None):
    return load_knowledge_base(folder, phrasings or folder / "no-phrasings")


@pytest.fixture(scope="module")
def base():
    return load_knowledge_base()


@pytest.fixture(scope="module")
def ranker(base):
    return Ranker(base)


# ---- content files ---------------------------------------------------------------------------------


def test_the_demo_base_loads_with_its_phrasings(base):
    assert len(base) >= 100
    assert base.entry("autre_casier_judiciaire").where is Where.autre_administration
    assert sum(len(p) for p in base.phrasings.values()) > 1000
    assert set(base.phrasings) <= set(base.entries)
    for item in base.entries.values():
        assert len(item.answer) <= 600
        assert item.official_url.startswith("https://")


def test_gru_knowledge_dir_overrides_the_demo_folder(tmp_path, monkeypatch):
    assert knowledge_dir() == DEFAULT_KNOWLEDGE_DIR
    monkeypatch.setenv("GRU_KNOWLEDGE_DIR", str(tmp_path))
    assert knowledge_dir() == tmp_path


def test_a_valid_folder(tmp_path):
    write(
        tmp_path / "kb",
        "a.yml",
        entry(),
        entry("casier", "null", "autre_administration", "Casier judiciaire"),
    )
    base = load(tmp_path / "kb")
    assert sorted(base.entries) == ["acte_naissance", "casier"]
    assert base.files["casier"].name == "a.yml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (entry(where="autre_administration"), "administration : champ obligatoire"),
        (entry(service="null"), "service : champ obligatoire pour une démarche faite en mairie"),
        (entry(service="piscine"), "entries.0.service (ligne 6) : service « piscine » inconnu"),
        (entry(key="Acte-Naissance"), "entries.0.key (ligne 2) : clé « Acte-Naissance » invalide"),
        (entry(where="guichet"), "entries.0.where (ligne 7) : valeur non autorisée"),
        (entry().replace("2026-12-01", "2026-02-30"), "entries.0.verified (ligne 10) : date invalide"),
        (entry().replace("https://www", "http://www"), "adresse « http://www"),
        (entry().replace("Demandez-le", "Demandez-le " + "très " * 120), "réponse trop longue"),
    ],
)
def test_mistakes_are_reported_in_french_with_the_file_the_field_and_the_line(tmp_path, text, expected):
    write(tmp_path / "kb", "etat_civil.yml", text)
    with pytest.raises(KnowledgeError) as error:
        load(tmp_path / "kb")
    message = str(error.value)
    assert "etat_civil.yml (base de connaissances)" in message
    assert expected in message


def test_a_key_used_in_two_files(tmp_path):
    write(tmp_path / "kb", "a.yml", entry())
    write(tmp_path / "kb", "b.yml", entry())
    with pytest.raises(
        KnowledgeError,
        match=r"b\.yml.*\n.*entries\.0\.key \(ligne 2\) : clé « acte_naissance » déjà utilisée dans a\.yml",
    ):
        load(tmp_path / "kb")


def test_a_missing_or_empty_folder(tmp_path):
    with pytest.raises(KnowledgeError, match="Dossier introuvable"):
        load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeError, match="Dossier vide"):
        load(tmp_path / "empty")


def test_phrasings_are_read_and_an_unknown_key_is_refused_with_its_line(tmp_path):
    folder = tmp_path / "phrasings"
    folder.mkdir()
    (folder / "etat_civil.yml").write_text(
        textwrap.dedent(
            """\
            version: "3.1"
            nlu:
            - intent: faq/acte_naissance
              examples: |
                - jveux mon acte de naissance
                - copie intégrale d'acte de naissance
            """
        ),
        encoding="utf-8",
    )
    assert read_phrasings(folder, {"acte_naissance"}) == {
        "acte_naissance": ["jveux mon acte de naissance", "copie intégrale d'acte de naissance"]
    }
    with pytest.raises(
        KnowledgeError, match=r"nlu\.0\.intent \(ligne 3\) : « faq/acte_naissance » : aucune entrée"
    ):
        read_phrasings(folder, {"acte_deces"})
    assert read_phrasings(tmp_path / "none", {"x"}) == {}


def test_the_base_is_one_of_the_content_files_checked_at_start():
    from actions import CONTENT_FILES

    assert any(loader is load_knowledge_base for _, _, loader in CONTENT_FILES)


# ---- ranker ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("comment obtenir un extrait de casier judiciaire ?", "autre_casier_judiciaire"),
        ("je viens d'emménager, comment m'inscrire sur les listes électorales ?", "elections_inscription"),
        ("CASIER JUDICIAIRE", "autre_casier_judiciaire"),
        ("carte grise apres achat voiture d occasion", "autre_carte_grise_achat_vehicule"),
    ],
)
def test_the_ranker_finds_the_entry(ranker, base, question, key):
    if key not in base.entries:
        pytest.skip(f"{key} is not written yet")
    assert ranker.rank(question, 1)[0].key == key


def test_ranked_candidates_are_distinct_and_best_first(ranker):
    ranked = ranker.rank("je veux un acte de naissance", 3)
    assert len({s.key for s in ranked}) == 3
    assert ranked[0].score >= ranked[1].score >= ranked[2].score


def test_a_huge_message_is_clipped(ranker):
    assert ranking.normalise("casier " * 10_000) == ranking.normalise("casier " * 10_000)[:1000].strip()
    assert ranker.rank("casier " * 10_000, 1)[0].key


def test_normalise_folds_accents_and_punctuation():
    assert ranking.normalise("Où s'inscrire ? Élections !") == "ou s inscrire elections"


@pytest.mark.parametrize(
    ("scores", "kind", "keys"),
    [
        ([1.0, 0.2, 0.1], ANSWER, ["a"]),
        ([0.3, 0.2, -0.5], CHOOSE, ["a", "b"]),
        ([0.3, 0.2, 0.1], CHOOSE, ["a", "b", "c"]),
        ([-0.9, -1.0, -1.1], NOTHING, ["a"]),
        ([0.3], ANSWER, ["a"]),
    ],
)
def test_decide_answers_offers_a_choice_or_admits_nothing_fits(scores, kind, keys):
    ranked = [Scored(key, score) for key, score in zip("abc", scores, strict=False)]
    decision = decide(ranked)
    assert decision.kind == kind
    assert [s.key for s in decision.candidates] == keys


def test_ranker_decide_on_a_clear_question(ranker):
    decision = ranker.decide("comment obtenir un extrait de casier judiciaire ?")
    assert decision == Decision(ANSWER, decision.candidates)
    assert decision.candidates[0].key == "autre_casier_judiciaire"


def test_cross_validation_on_a_small_base(tmp_path):
    write(
        tmp_path / "kb",
        "a.yml",
        entry("acte_naissance"),
        entry("casier", "null", "autre_administration", "Casier judiciaire").replace(
            "Demander un acte de naissance", "Casier judiciaire"
        ),
    )
    base = load(tmp_path / "kb")
    base.phrasings = {
        "acte_naissance": [
            f"acte de naissance {i}" for i in ("svp", "copie", "extrait", "pour mon mariage", "vite")
        ],
        "casier": [
            f"casier judiciaire {i}" for i in ("svp", "bulletin 3", "extrait", "pour un emploi", "vite")
        ],
    }
    results = cross_validate(base, folds=5)
    figures = summary(results)
    assert figures["n"] == 10
    assert figures["top1"] == 1.0
    assert [row[0] for row in margin_table(results)] == [0.1, 0.2, 0.25, 0.3, 0.4, 0.5]


# ---- answers ---------------------------------------------------------------------------------------


def test_an_entry_of_the_town_hall_gets_the_service_today_s_hours_and_status(base):
    territory = load_territory()
    item = next(e for e in base.entries.values() if e.service == "accueil" and e.where is Where.mairie)
    reply = build_answer(item, territory, TUESDAY_10H)
    assert reply.answer == item.answer
    assert reply.contact == (
        "Service : Accueil de la mairie, 01 99 00 10 00, "
        "aujourd'hui de 8 h 30 à 12 h et de 13 h 30 à 17 h 30. C'est ouvert en ce moment, jusqu'à 12 h."
    )
    assert reply.link == {"title": MORE_INFO, "type": "web_url", "url": item.official_url}


def test_closed_now_gives_the_next_opening():
    line = service_line(load_territory(), "accueil", TUESDAY_20H)
    assert line.endswith("C'est fermé en ce moment. Réouverture demain à 8 h 30.")


def test_another_administration_is_named_and_the_town_hall_claims_nothing(base):
    reply = build_answer(base.entry("autre_casier_judiciaire"), load_territory(), TUESDAY_10H)
    assert reply.contact.startswith("Cette démarche relève de : Casier judiciaire national")
    assert "Service :" not in reply.contact
    assert reply.url == "https://www.service-public.fr/particuliers/vosdroits/F1420"


def test_another_administration_with_a_helping_service(base):
    item = next(e for e in base.entries.values() if e.where is Where.autre_administration and e.service)
    reply = build_answer(item, load_territory(), TUESDAY_10H)
    assert item.administration in reply.contact
    assert "La mairie peut vous orienter. Service :" in reply.contact


def test_an_online_demarche_without_a_service(base):
    item = next((e for e in base.entries.values() if e.where is Where.en_ligne and not e.service), None)
    if item is None:
        pytest.skip("no such entry in the demo base")
    reply = build_answer(item, load_territory(), TUESDAY_10H)
    assert reply.contact == "Cette démarche se fait en ligne. La page officielle est en lien ci-dessous."

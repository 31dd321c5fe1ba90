"""The welfare file: the demo loads, the CCAS comes from the territory, mistakes are reported in French."""

import copy
from pathlib import Path

import pytest
import yaml

from core.territory import TerritoryConfigError, load_territory
from welfare.config import (
    AIDS,
    DEFAULT_WELFARE_FILE,
    WelfareConfigError,
    load_welfare_config,
    parse_welfare_config,
)


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(DEFAULT_WELFARE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def territory():
    return load_territory()


def error_for(raw: dict, territory) -> str:
    with pytest.raises(WelfareConfigError) as exc:
        parse_welfare_config(raw, "welfare.yml", territory)
    return str(exc.value)


# ---- the demo file -------------------------------------------------------------------------


def test_demo_file_loads():
    config = load_welfare_config(DEFAULT_WELFARE_FILE)
    assert config.department == "Val-de-Brune"
    assert tuple(config.aids) == AIDS
    assert config.offices.mdph.phone == "01 99 00 20 00" and "Brunville" in config.offices.mdph.address
    assert config.offices.caf.phone == "01 99 00 20 30" and config.offices.caf.url == "https://www.caf.fr"
    assert [c.address.split(", ")[-1] for c in config.offices.pmi] == ["45990 Villebrune", "45000 Brunville"]
    assert config.offices.france_travail.name.startswith("France Travail")
    assert config.offices.autonomie.hours["monday"]


def test_ccas_from_territory(territory):
    config = load_welfare_config(DEFAULT_WELFARE_FILE)
    assert config.ccas == territory.services["ccas"]
    assert config.ccas.name == "Centre communal d'action sociale (CCAS)"
    assert config.ccas.address == "8 rue Pasteur, 45990 Villebrune" and config.ccas.phone == "01 99 00 10 20"


def test_aid_offices_and_links():
    config = load_welfare_config(DEFAULT_WELFARE_FILE)
    assert {aid: config.aids[aid].office for aid in AIDS} == {
        "apa": "autonomie",
        "aah": "mdph",
        "pch": "mdph",
        "pmi": "pmi",
        "rsa": "caf",
        "ccas": "ccas",
    }
    links = {aid: config.aids[aid].link.rsplit("/", 1)[-1] for aid in AIDS}
    assert links == {
        "apa": "F10009",
        "aah": "F12242",
        "pch": "F14202",
        "pmi": "F31460",
        "rsa": "F19778",
        "ccas": "F1012",
    }
    assert len(config.offices_for("pmi")) == 2
    assert config.offices_for("ccas") == [config.ccas]
    assert config.aids["apa"].name == "Allocation personnalisée d'autonomie (APA)"
    assert all(config.aids[aid].prepare for aid in AIDS)


def test_emergency_lines():
    config = load_welfare_config(DEFAULT_WELFARE_FILE)
    numbers = [line.number for line in config.emergency]
    assert {"3919", "119", "3114", "15", "112", "17"} <= set(numbers)
    assert all(line.keywords and line.when for line in config.emergency)


def test_no_amount_in_texts(raw):
    text = DEFAULT_WELFARE_FILE.read_text(encoding="utf-8")
    assert "€" not in text and "euros" not in text


def test_env_override(tmp_path: Path, monkeypatch, raw):
    other = copy.deepcopy(raw)
    other["department"] = "Autre-Département"
    path = tmp_path / "welfare.yml"
    path.write_text(yaml.safe_dump(other, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("GRU_WELFARE_FILE", str(path))
    load_welfare_config.cache_clear()
    try:
        assert load_welfare_config().department == "Autre-Département"
    finally:
        load_welfare_config.cache_clear()


def test_explicit_ccas_office(raw, territory):
    other = copy.deepcopy(raw)
    other["offices"]["ccas"] = {
        "name": "CIAS de Brunville",
        "address": "1 rue Haute, 45000 Brunville",
        "phone": "01 99 00 20 50",
        "email": "cias@brunville.example",
    }
    assert parse_welfare_config(other, "x", territory).ccas.name == "CIAS de Brunville"


# ---- mistakes ------------------------------------------------------------------------------------


def test_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(WelfareConfigError, match="introuvable"):
        load_welfare_config(tmp_path / "absent.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("offices: [\n", encoding="utf-8")
    with pytest.raises(WelfareConfigError, match="illisible"):
        load_welfare_config(bad)
    with pytest.raises(WelfareConfigError, match="un dictionnaire est attendu"):
        parse_welfare_config(["a"], "liste")


def test_error_is_a_territory_config_error():
    assert issubclass(WelfareConfigError, TerritoryConfigError)


def mutate(raw: dict, change) -> dict:
    other = copy.deepcopy(raw)
    change(other)
    return other


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (lambda r: r["offices"]["mdph"].update(phone="abc"), "offices.mdph.phone", "téléphone"),
        (lambda r: r["offices"]["caf"].update(email="caf"), "offices.caf.email", "e-mail"),
        (lambda r: r["offices"]["mdph"].update(fax="01"), "offices.mdph.fax", ""),
        (
            lambda r: r["offices"]["pmi"][1].update(hours={"lundi": ["09:00-12:00"]}),
            "offices.pmi.1.hours",
            "jour",
        ),
        (lambda r: r["offices"].update(pmi=[]), "offices.pmi", "au moins un centre"),
        (lambda r: r["offices"].update(ccas="depuis_territoire"), "offices.ccas", "from_territory"),
        (
            lambda r: r["offices"].update(
                ccas={"name": "CCAS", "address": "x", "phone": "?", "email": "a@b.fr"}
            ),
            "offices.ccas.phone",
            "téléphone",
        ),
        (lambda r: r["aids"]["apa"].update(office="departement"), "aids.apa.office", "inconnu"),
        (lambda r: r["aids"]["rsa"].update(link="www.service-public.fr"), "aids.rsa.link", "https"),
        (lambda r: r["aids"]["pch"].update(prepare=[]), "aids.pch.prepare", "au moins un document"),
        (lambda r: r["aids"]["aah"].update(summary="  "), "aids.aah.summary", "vide"),
        (lambda r: r["aids"].pop("pmi"), "aids", "« pmi » manquante"),
        (lambda r: r["aids"].update(cmu=r["aids"]["ccas"]), "aids", "« cmu » inconnue"),
        (lambda r: r["aids"]["pmi"].update(office="caf"), "aids", "pmi.office doit valoir pmi"),
        (lambda r: r["emergency"][0].update(number="39-19"), "emergency.0.number", "chiffres"),
        (lambda r: r["emergency"][1].update(keywords=[]), "emergency.1.keywords", "au moins un mot-clé"),
        (lambda r: r["emergency"].append(copy.deepcopy(r["emergency"][0])), "emergency", "deux fois"),
        (lambda r: r.update(simulator="http://x"), "simulator", "https"),
        (lambda r: r.pop("department"), "department", ""),
    ],
)
def test_invalid_fields_are_named_in_french(raw, territory, change, where, words):
    message = error_for(mutate(raw, change), territory)
    assert message.startswith("Fichier invalide : welfare.yml (aides sociales)")
    assert f"  - {where} :" in message
    assert words in message


def test_from_territory_needs_a_ccas_service(raw, territory):
    without = territory.copy(
        update={"services": {k: v for k, v in territory.services.items() if k != "ccas"}}
    )
    message = error_for(copy.deepcopy(raw), without)
    assert "offices.ccas" in message and "pas de service « ccas »" in message

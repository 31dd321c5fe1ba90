"""The waste file: the demo loads, streets resolve to sectors, mistakes are reported in French."""

import copy
from pathlib import Path

import pytest

from core.territory import TerritoryConfigError
from waste.config import (
    DEFAULT_WASTE_FILE,
    KNOWN_STREAMS,
    WasteConfigError,
    load_waste_config,
    parse_waste_config,
)
from waste.sectors import SectorMatch, sector_for

# The streets that citizens' test phrases use: each must exist under its official name.
REQUIRED_STREETS = (
    "Rue Victor Hugo",
    "Avenue Jean Jaurès",
    "Impasse des Lilas",
    "Rue de la Gare",
    "Chemin des Vignes",
    "Boulevard de la République",
    "Allée des Tilleuls",
    "Rue Pasteur",
    "Rue du Moulin",
    "Route de Montval",
    "Place de la Mairie",
    "Rue des Écoles",
    "Avenue des Coteaux",
    "Rue de la Paix",
    "Rue Jean Moulin",
    "Rue Saint-Martin",
    "Avenue du Général de Gaulle",
    "Rue de l'Église",
)


@pytest.fixture(scope="module")
def demo():
    return load_waste_config(DEFAULT_WASTE_FILE)


# ---- the demo file -------------------------------------------------------------------------


def test_demo_file_loads(demo):
    assert (demo.city, demo.postcode, demo.citycode) == ("Villebrune", "45990", "45999")
    assert tuple(demo.streams) == KNOWN_STREAMS
    assert set(demo.sectors) == {"centre", "nord", "coteaux", "gare"}
    assert all("ordures_menageres" in sector.collections for sector in demo.sectors.values())
    assert demo.streams["recyclables"].container == "bac à couvercle jaune"
    assert "19 h" in demo.streams["ordures_menageres"].put_out
    assert demo.ics.months_ahead == 3
    assert 35 <= len(demo.streets) <= 60


def test_demo_uses_every_rule_kind(demo):
    rules = [rule for sector in demo.sectors.values() for rule in sector.collections.values()]
    assert any(rule.weekly and len(rule.weekly) == 1 for rule in rules)
    assert any(rule.weekly and len(rule.weekly) == 2 for rule in rules)
    assert any(rule.biweekly for rule in rules)
    assert any(rule.monthly for rule in rules)
    assert any(rule.season for rule in rules)
    none_rules = [rule for rule in rules if rule.none]
    assert none_rules and all(rule.note for rule in none_rules)
    policies = {demo.holiday_rules.policy(stream) for stream in demo.streams}
    assert policies == {"shift_next_day", "maintained", "cancelled"}


@pytest.mark.parametrize("name", REQUIRED_STREETS)
def test_required_streets_resolve(demo, name):
    street = demo.street(name)
    assert street is not None and street.name == name
    with_number = sector_for(demo, name, 7)
    assert with_number.sector in demo.sectors and not with_number.needs_number
    without_number = sector_for(demo, name, None)
    assert without_number.street == name
    assert without_number.needs_number is street.is_split
    assert (without_number.sector is None) is street.is_split


def test_every_street_and_sector_resolves(demo):
    used = set()
    for street in demo.streets:
        for number in (1, 2, 57, 58, 120, 121, 999):
            match = sector_for(demo, street.name, number)
            assert match.sector in demo.sectors, (street.name, number)
            used.add(match.sector)
        for alias in street.aliases:
            assert sector_for(demo, alias, 1) == sector_for(demo, street.name, 1)
    assert used == set(demo.sectors)


def test_demo_split_streets(demo):
    split = [street for street in demo.streets if street.is_split]
    assert len(split) >= 4
    assert any(any(part.numbers != "all" for part in street.sectors) for street in split)
    assert any(any(part.to is not None for part in street.sectors) for street in split)


@pytest.mark.parametrize(
    "street, number, sector",
    [
        ("Avenue Jean Jaurès", 13, "centre"),
        ("Avenue Jean Jaurès", 1, "centre"),
        ("Avenue Jean Jaurès", 12, "gare"),
        ("Avenue Jean Jaurès", 18, "gare"),
        ("Rue Victor Hugo", 3, "centre"),
        ("Rue Victor Hugo", 8, "nord"),
        ("Route de Montval", 1, "coteaux"),
        ("Route de Montval", 120, "coteaux"),
        ("Route de Montval", 121, "nord"),
        ("Route de Montval", 2000, "nord"),
        ("Boulevard de la République", 27, "centre"),
        ("Boulevard de la République", 40, "centre"),
        ("Boulevard de la République", 41, "gare"),
        ("Boulevard de la République", 45, "gare"),
        ("Rue Saint-Martin", 101, "centre"),
        ("Rue Saint-Martin", 60, "centre"),
        ("Rue Saint-Martin", 62, "nord"),
        ("Impasse des Lilas", 8, "nord"),
        ("Chemin des Vignes", 27, "coteaux"),
        ("Rue de la Gare", 3, "gare"),
        ("Place de la Mairie", None, "centre"),
        ("Route Départementale 12", 130, "nord"),
    ],
)
def test_parity_and_ranges_give_the_sector(demo, street, number, sector):
    assert sector_for(demo, street, number).sector == sector


def test_split_street_needs_a_number(demo):
    assert sector_for(demo, "Avenue Jean Jaurès", None) == SectorMatch(None, True, "Avenue Jean Jaurès")
    assert sector_for(demo, "Route de Montval", 0).needs_number
    assert sector_for(demo, "Rue Pasteur", None) == SectorMatch("centre", False, "Rue Pasteur")


def test_street_names_match_exactly(demo):
    # The geocoder turns "av jean jaures" into the official name; this layer does not guess.
    assert sector_for(demo, "Rue de Nulle Part", 3) == SectorMatch(None, False, None)
    assert not sector_for(demo, "rue pasteur", 3).known_street
    assert sector_for(demo, "  Rue   Pasteur ", 3).sector == "centre"  # only spacing is forgiven
    assert sector_for(demo, "Rue de l’Église", 3).street == "Rue de l'Église"  # alias


def test_split_street_on_one_sector_needs_no_number():
    raw = minimal()
    raw["streets"][1]["sectors"] = [{"sector": "a", "numbers": "odd"}, {"sector": "a", "numbers": "even"}]
    config = parse_waste_config(raw)
    assert sector_for(config, "Rue Deux", None) == SectorMatch("a", False, "Rue Deux")


# ---- loading -------------------------------------------------------------------------------


def test_env_var_selects_the_file(tmp_path, monkeypatch):
    path = tmp_path / "waste.yml"
    path.write_text(DEFAULT_WASTE_FILE.read_text(encoding="utf-8").replace("Villebrune", "Montval"), "utf-8")
    monkeypatch.setenv("GRU_WASTE_FILE", str(path))
    load_waste_config.cache_clear()
    try:
        assert load_waste_config().city == "Montval"
    finally:
        load_waste_config.cache_clear()


def test_missing_file(tmp_path):
    with pytest.raises(
        WasteConfigError, match="Fichier introuvable : .*absent.yml \\(collecte des déchets\\)"
    ):
        load_waste_config(tmp_path / "absent.yml")


def test_unreadable_yaml(tmp_path):
    path = tmp_path / "waste.yml"
    path.write_text("streams: [unclosed\n", encoding="utf-8")
    with pytest.raises(
        WasteConfigError,
        match="(?s)Fichier illisible \\(YAML\\) : .*ligne 2, colonne 1 : liste entre crochets non fermée",
    ):
        load_waste_config(path)


def test_impossible_date_in_the_file_names_its_field(tmp_path):
    text = DEFAULT_WASTE_FILE.read_text(encoding="utf-8").replace("date: 2026-12-25", "date: 2026-02-30")
    path = tmp_path / "waste.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WasteConfigError) as caught:
        load_waste_config(path)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "date: 2026-02-30" in row)
    assert f"holiday_rules.exceptions.0.date (ligne {line}) : date invalide" in str(caught.value)


def test_not_a_mapping():
    with pytest.raises(WasteConfigError, match="dictionnaire"):
        parse_waste_config(["streams"])


# ---- invalid files -------------------------------------------------------------------------


def minimal() -> dict:
    """A small valid file: two sectors, two streets (one split by parity)."""
    streams = {
        key: {"label": key.capitalize(), "container": "bac", "put_out": "La veille au soir."}
        for key in KNOWN_STREAMS
    }
    return {
        "city": "Villebrune",
        "postcode": "45990",
        "citycode": "45999",
        "streams": streams,
        "sectors": {
            "a": {
                "label": "Secteur A",
                "collections": {
                    "ordures_menageres": {"weekly": "monday"},
                    "recyclables": {"biweekly": "wednesday", "parity": "even"},
                    "verre": "none",
                    "dechets_verts": {"weekly": "thursday", "season": {"from": "03-15", "to": "11-30"}},
                },
            },
            "b": {
                "label": "Secteur B",
                "collections": {
                    "ordures_menageres": {"weekly": ["tuesday", "friday"]},
                    "verre": {"monthly": {"weekday": "friday", "nth": 2}},
                },
            },
        },
        "holiday_rules": {
            "ordures_menageres": "shift_next_day",
            "recyclables": "shift_next_day",
            "verre": "maintained",
            "dechets_verts": "cancelled",
            "exceptions": [],
        },
        "streets": [
            {"name": "Rue Une", "sectors": "a"},
            {
                "name": "Rue Deux",
                "aliases": ["Rue 2"],
                "sectors": [{"sector": "a", "numbers": "odd"}, {"sector": "b", "numbers": "even"}],
            },
        ],
    }


def test_minimal_is_valid():
    config = parse_waste_config(minimal())
    assert config.rule("a", "verre").none
    assert config.rule("b", "recyclables") is None
    assert config.ics.calendar_name == "Collectes des déchets – {address}"


def test_same_parity_ranges_that_touch_are_valid():
    raw = minimal()
    raw["streets"][1]["sectors"] = [
        {"sector": "a", "numbers": "odd", "from": 1, "to": 49},
        {"sector": "b", "numbers": "odd", "from": 51},
        {"sector": "b", "numbers": "even", "from": 1, "to": 50},
        {"sector": "a", "numbers": "even", "from": 51},  # 51 is odd: the even part starts at 52
    ]
    config = parse_waste_config(raw)
    assert [sector_for(config, "Rue Deux", n).sector for n in (49, 51, 50, 52)] == ["a", "b", "b", "a"]


def _set(path: str, value):
    """A change to minimal(): dotted path (list indexes as numbers), value or DELETE."""

    def change(raw: dict) -> None:
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


DELETE = object()
EXCEPTION = {"date": "2027-01-04", "stream": "ordures_menageres", "cancelled": True}  # a Monday


def _with_exception(**changes):
    exception = {**EXCEPTION, **changes}
    return _set("holiday_rules.exceptions", [{k: v for k, v in exception.items() if v is not DELETE}])


INVALID = [
    (
        "streams.biodechets",
        {"label": "Bio", "container": "bac", "put_out": "…"},
        "streams",
        "flux « biodechets » inconnu",
    ),
    ("streams.ordures_menageres", DELETE, "streams", "« ordures_menageres » est obligatoire"),
    ("streams.verre.label", DELETE, "streams.verre.label", "champ obligatoire manquant"),
    (
        "sectors.a.collections.textiles",
        {"weekly": "monday"},
        "sectors.a.collections",
        "flux « textiles » inconnu",
    ),
    (
        "sectors.b.collections.ordures_menageres",
        DELETE,
        "sectors.b.collections",
        "« ordures_menageres » est obligatoire",
    ),
    ("sectors.a.colour", "bleu", "sectors.a.colour", "champ inconnu"),
    (
        "sectors.A-1",
        {"label": "x", "collections": {"ordures_menageres": "none"}},
        "sectors",
        "identifiant de secteur",
    ),
    (
        "sectors.a.collections.ordures_menageres.weekly",
        "funday",
        "collections.ordures_menageres.weekly",
        "jour « funday » inconnu",
    ),
    (
        "sectors.a.collections.ordures_menageres.weekly",
        "mardi",
        "collections.ordures_menageres.weekly",
        "(« tuesday »)",
    ),
    (
        "sectors.a.collections.ordures_menageres.weekly",
        ["monday", "monday"],
        "ordures_menageres.weekly",
        "répété",
    ),
    ("sectors.b.collections.verre.monthly.weekday", "vendredi", "verre.monthly.weekday", "« friday »"),
    (
        "sectors.b.collections.verre.monthly.nth",
        5,
        "sectors.b.collections.verre.monthly.nth",
        "« nth » doit valoir",
    ),
    (
        "sectors.a.collections.recyclables.parity",
        DELETE,
        "sectors.a.collections.recyclables",
        "« parity: even »",
    ),
    (
        "sectors.a.collections.recyclables.parity",
        "paire",
        "collections.recyclables.parity",
        "even (semaines paires)",
    ),
    (
        "sectors.a.collections.ordures_menageres.monthly",
        {"weekday": "monday", "nth": 1},
        "ordures_menageres",
        "une seule fréquence",
    ),
    ("sectors.a.collections.verre", {"note": "?"}, "sectors.a.collections.verre", "une seule fréquence"),
    (
        "sectors.a.collections.dechets_verts.season.from",
        "02-30",
        "dechets_verts.season.from",
        "pas une date du calendrier",
    ),
    (
        "sectors.a.collections.dechets_verts.season.to",
        "30/11",
        "dechets_verts.season.to",
        "format attendu MM-JJ",
    ),
    (
        "sectors.a.collections.verre",
        {"none": True, "season": {"from": "01-01", "to": "02-01"}},
        "verre",
        "« none »",
    ),
    ("holiday_rules.verre", "reported", "holiday_rules.verre", "règle « reported » inconnue"),
    ("holiday_rules.verre", DELETE, "holiday_rules.verre", "règle de jour férié manquante"),
    ("holiday_rules.compost", "cancelled", "holiday_rules", "flux « compost » inconnu"),
    ("streets.1.sectors.1.sector", "sud", "streets.1.sectors.1.sector", "secteur « sud » inconnu"),
    ("streets.1.sectors.0.numbers", "impairs", "streets.1.sectors.0.numbers", "« numbers » doit valoir"),
    ("streets.1.aliases", ["Rue Une"], "streets", "deux rues"),
    ("streets.0.sectors", [], "streets.0.sectors", "au moins un secteur"),
    ("postcode", "4599", "postcode", "code postal « 4599 » invalide"),
    ("citycode", "ABCDE", "citycode", "code INSEE"),
    ("ics", {"calendar_name": "Collectes {adresse}"}, "ics.calendar_name", "« {adresse} » inconnue"),
    ("ics", {"months_ahead": 24}, "ics.months_ahead", "entre 1 et 12"),
    ("ics", {"uid_domain": "pas un domaine"}, "ics.uid_domain", "domaine"),
]


@pytest.mark.parametrize(
    "path, value, field, message", INVALID, ids=[f"{c[0]}={c[1]!r}"[:60] for c in INVALID]
)
def test_invalid_value_names_the_field_in_french(path, value, field, message):
    raw = minimal()
    _set(path, value)(raw)
    _assert_invalid(raw, field, message)


STREET_PARTS = [
    (
        [{"sector": "a", "from": 1, "to": 50}, {"sector": "b", "numbers": "even", "from": 40}],
        "sectors.0 et sectors.1 se chevauchent (le numéro 40",
    ),
    (
        [{"sector": "a", "numbers": "odd", "to": 99}, {"sector": "b", "numbers": "odd", "from": 99}],
        "numéro 99",
    ),
    ([{"sector": "a"}, {"sector": "b", "numbers": "odd", "from": 7, "to": 7}], "numéro 7"),
    ([{"sector": "a", "from": 1, "to": 10}, {"sector": "b", "from": 12}], "le numéro 11 (impair)"),
    (
        [{"sector": "a", "numbers": "odd"}, {"sector": "b", "numbers": "even", "from": 4}],
        "le numéro 2 (pair)",
    ),
    (
        [{"sector": "a", "numbers": "odd"}, {"sector": "b", "numbers": "even", "to": 80}],
        "le numéro 82 (pair)",
    ),
    ([{"sector": "a", "from": 10, "to": 5}, {"sector": "b", "from": 11}], "« to » doit être supérieur"),
    ([{"sector": "a", "from": 0}], "« from » doit être un numéro"),
]


@pytest.mark.parametrize("parts, message", STREET_PARTS)
def test_street_parts_overlap_or_gaps(parts, message):
    raw = minimal()
    raw["streets"][1]["sectors"] = parts
    _assert_invalid(raw, "streets.1", message)


EXCEPTIONS = [
    (
        _with_exception(date="2026-13-01"),
        "holiday_rules.exceptions.0.date",
        "date invalide (format attendu AAAA-MM-JJ",
    ),
    (
        _with_exception(date="2027-01-06"),
        "holiday_rules.exceptions.0.date",
        "aucune collecte « ordures_menageres »",
    ),
    (_with_exception(sectors=["b"]), "holiday_rules.exceptions.0.date", "aucune collecte"),
    (_with_exception(moved_to="2027-01-05"), "holiday_rules.exceptions.0", "exactement un"),
    (_with_exception(cancelled=DELETE), "holiday_rules.exceptions.0", "exactement un"),
    (
        _with_exception(cancelled=DELETE, moved_to="2027-01-30"),
        "holiday_rules.exceptions.0",
        "14 jours au plus",
    ),
    (_with_exception(cancelled=DELETE, moved_to="2027-01-04"), "holiday_rules.exceptions.0", "un autre jour"),
    (
        _with_exception(cancelled=DELETE, added=True),
        "holiday_rules.exceptions.0",
        "doit préciser ses « sectors »",
    ),
    (
        _with_exception(stream="encombrants"),
        "holiday_rules.exceptions.0.stream",
        "flux « encombrants » inconnu",
    ),
    (_with_exception(sectors=["sud"]), "holiday_rules.exceptions.0.sectors", "secteur « sud » inconnu"),
    (
        _with_exception(moved_to="demain", cancelled=DELETE),
        "holiday_rules.exceptions.0.moved_to",
        "date invalide",
    ),
    (
        _set("holiday_rules.exceptions", [EXCEPTION, {**EXCEPTION, "sectors": ["a"]}]),
        "holiday_rules.exceptions.1",
        "mêmes secteurs que holiday_rules.exceptions.0",
    ),
]


@pytest.mark.parametrize("change, field, message", EXCEPTIONS)
def test_invalid_exception_names_the_field_in_french(change, field, message):
    raw = minimal()
    change(raw)
    _assert_invalid(raw, field, message)


def test_valid_exceptions():
    raw = minimal()
    raw["holiday_rules"]["exceptions"] = [
        EXCEPTION,
        {"date": "2027-01-05", "stream": "ordures_menageres", "moved_to": "2027-01-02", "reason": "fête"},
        {"date": "2027-01-09", "stream": "recyclables", "added": True, "sectors": ["b"]},
    ]
    exceptions = parse_waste_config(raw).holiday_rules.exceptions
    assert [e.cancelled for e in exceptions] == [True, False, False]


def test_unknown_stream_in_a_sector_but_known_to_the_assistant():
    raw = minimal()
    del raw["streams"]["verre"]
    del raw["holiday_rules"]["verre"]
    _assert_invalid(raw, "sectors.a.collections.verre", "flux « verre » absent de « streams »")


def _assert_invalid(raw: dict, field: str, message: str) -> None:
    with pytest.raises(WasteConfigError) as caught:
        parse_waste_config(copy.deepcopy(raw), Path("waste.yml"))
    text = str(caught.value)
    assert isinstance(caught.value, TerritoryConfigError)
    assert text.startswith("Fichier invalide : waste.yml (collecte des déchets)")
    # "  - <where> : <French message>": the field is named in <where>, not only in the message.
    lines = [line for line in text.splitlines()[1:] if message in line]
    assert any(field in line.removeprefix("  - ").split(" : ")[0] for line in lines), text

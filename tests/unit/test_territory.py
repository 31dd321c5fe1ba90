from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml

from core.holidays import easter_sunday, french_holidays, holiday_name
from core.territory import (
    DEFAULT_TERRITORY_FILE,
    TerritoryConfigError,
    describe_status_fr,
    format_date_fr,
    format_time_fr,
    load_territory,
)

PARIS = load_territory(DEFAULT_TERRITORY_FILE).tz


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(scope="module")
def territory():
    return load_territory(DEFAULT_TERRITORY_FILE)


def write_variant(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(DEFAULT_TERRITORY_FILE.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = raw
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "territory.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "year, expected",
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
    ],
)
def test_easter(year, expected):
    assert easter_sunday(year) == expected


def test_french_holidays_2026():
    days = french_holidays(2026)
    assert len(days) == 11
    assert days[date(2026, 5, 14)] == "Ascension"
    assert days[date(2026, 5, 25)] == "lundi de Pentecôte"
    assert holiday_name(date(2026, 12, 26)) is None
    assert holiday_name(date(2026, 12, 26), alsace_moselle=True) == "Saint-Étienne"


def test_demo_territory_is_valid(territory):
    assert territory.display_name == "Mairie de Villebrune"
    assert territory.default_service in territory.services
    assert territory.service_for(topic="welfare") == "ccas"
    assert territory.service_for(key="urbanisme", topic="welfare") == "urbanisme"
    assert territory.service_for(key="nimporte", topic=None) == "accueil"


def test_open_in_the_morning(territory):
    status = territory.status("accueil", at(2026, 11, 30, 10, 0))  # Monday
    assert status.open_now and status.closes_at == time(12, 0)


def test_lunch_break_reopens_same_day(territory):
    text = describe_status_fr(territory, "accueil", at(2026, 11, 30, 12, 30))
    assert text == "C'est fermé en ce moment. Réouverture aujourd'hui à 13 h 30."


def test_saturday_afternoon_reopens_monday(territory):
    text = describe_status_fr(territory, "accueil", at(2026, 11, 28, 15, 0))
    assert text == "C'est fermé en ce moment. Réouverture lundi 30 novembre à 8 h 30."


def test_public_holiday_is_closed(territory):
    status = territory.status("accueil", at(2026, 12, 25, 10, 0))  # Christmas, a Friday
    assert not status.open_now
    assert status.today.reason == "jour férié : Noël"
    # 26 Dec is a configured closure, 27 Dec a Sunday: next opening is Monday 28.
    assert status.next_opening == at(2026, 12, 28, 8, 30)


def test_reduced_hours_closure(territory):
    schedule = territory.day_schedule("accueil", date(2026, 12, 24))
    assert [(i.start, i.end) for i in schedule.intervals] == [(time(8, 30), time(12, 0))]
    assert "veille de Noël" in schedule.reason
    assert not territory.status("accueil", at(2026, 12, 24, 14, 0)).open_now


def test_service_specific_closure(territory):
    assert territory.day_schedule("urbanisme", date(2027, 2, 16)).intervals == []
    assert territory.day_schedule("accueil", date(2027, 2, 16)).intervals


def test_french_formats():
    assert format_time_fr(time(8, 30)) == "8 h 30"
    assert format_time_fr(time(14, 0)) == "14 h"
    assert format_date_fr(date(2026, 12, 1)) == "mardi 1er décembre"
    assert format_date_fr(date(2027, 8, 15), with_weekday=False) == "15 août"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"services__accueil__phone": "appelez-nous"}, "services.accueil.phone"),
        ({"services__accueil__hours": {"monday": ["8h-12h"]}}, "HH:MM-HH:MM"),
        ({"services__accueil__hours": {"lundi": ["08:00-12:00"]}}, "jour « lundi » inconnu"),
        ({"services__accueil__hours": {"monday": ["08:00-12:00", "11:00-14:00"]}}, "chevauchent"),
        ({"services__accueil__hours": {"monday": ["12:00-08:00"]}}, "la fin doit suivre le début"),
        ({"default_service": "piscine"}, "default_service « piscine »"),
        ({"topics__waste": "piscine"}, "topics.waste"),
        ({"timezone": "Europe/Lutece"}, "fuseau horaire"),
        ({"kind": "village"}, "kind"),
        ({"of_name": "Villebrune"}, "of_name"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_configuration_is_reported_clearly(tmp_path, changes, message):
    path = write_variant(tmp_path, **changes)
    with pytest.raises(TerritoryConfigError) as error:
        load_territory(path)
    assert str(error.value).startswith("Fichier invalide : ")
    assert "(territoire)" in str(error.value).splitlines()[0]
    assert message in str(error.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(TerritoryConfigError, match="Fichier introuvable : .*absent.yml \\(territoire\\)"):
        load_territory(tmp_path / "absent.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(TerritoryConfigError, match="Fichier illisible \\(YAML\\)"):
        load_territory(broken)

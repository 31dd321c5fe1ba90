import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from core.territory import TerritoryConfigError
from waste.recycling import (
    DEFAULT_RECYCLING_FILE,
    MAX_MESSAGE,
    RecyclingConfigError,
    access_fr,
    bulky_waste_fr,
    center_day,
    center_status,
    describe_center_fr,
    load_recycling_config,
    materials_fr,
    season_for,
    week_hours_fr,
)

PARIS = ZoneInfo("Europe/Paris")
DELETE = object()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(scope="module")
def config():
    return load_recycling_config(DEFAULT_RECYCLING_FILE)


@pytest.fixture(scope="module")
def center(config):
    return config.center("pres_hauts")


def without_lines(message: str) -> str:
    """The message without its « (ligne N) » marks (test_content checks the lines)."""
    return re.sub(r" \(ligne \d+\)", "", message)


def write_variant(tmp_path: Path, **changes) -> Path:
    """The demo file with `a__b__0__c=value` changes (DELETE removes the key)."""
    raw = yaml.safe_load(DEFAULT_RECYCLING_FILE.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = raw
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    path = tmp_path / "recycling_center.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def variant_center(tmp_path: Path, **changes):
    return load_recycling_config(write_variant(tmp_path, **changes)).center()


# ---- loading ---------------------------------------------------------------------------------


def test_demo_file_loads(config, center):
    assert [c.id for c in config.centers] == ["pres_hauts"]
    assert config.center() is center is config.centers[0]
    with pytest.raises(KeyError):
        config.center("nulle_part")
    assert center.name == "Déchetterie des Près-Hauts"
    assert center.feminine is True
    assert center.zip_code == "45990" and center.city == "Villebrune"
    assert center.phone.startswith("01 99 00")
    assert center.closed_on_holidays
    assert {m.name: m.note for m in center.accepted}["pneus"] == "déjantés, 4 au maximum"
    assert "amiante" in {m.name for m in center.refused}
    assert "amiante" not in {m.name for m in center.accepted}
    assert center.closures[0].to == center.closures[0].from_ == date(2026, 12, 24)
    assert any("3 m³" in limit for limit in config.bulky_waste.limits)


def test_environment_variable_selects_the_file(tmp_path, monkeypatch):
    path = write_variant(tmp_path, centers__0__name="Déchetterie de test")
    monkeypatch.setenv("GRU_RECYCLING_FILE", str(path))
    assert load_recycling_config().center().name == "Déchetterie de test"
    monkeypatch.delenv("GRU_RECYCLING_FILE")
    assert load_recycling_config().center().name == "Déchetterie des Près-Hauts"


# ---- seasons ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, season",
    [
        (date(2027, 3, 31), "winter"),
        (date(2027, 4, 1), "summer"),
        (date(2026, 9, 30), "summer"),
        (date(2026, 10, 1), "winter"),
        (date(2026, 1, 1), "winter"),
        (date(2026, 12, 31), "winter"),
        (date(2028, 2, 29), "winter"),
        (date(2026, 7, 14), "summer"),
    ],
)
def test_season_boundaries(center, day, season):
    assert season_for(center, day) == season


def test_season_spanning_new_year(tmp_path):
    center = variant_center(
        tmp_path,
        centers__0__seasons__summer__from="11-01",
        centers__0__seasons__summer__to="02-28",
        centers__0__seasons__winter__from="03-01",
        centers__0__seasons__winter__to="10-31",
    )
    assert season_for(center, date(2026, 12, 31)) == "summer"
    assert season_for(center, date(2028, 2, 29)) == "winter"
    assert season_for(center, date(2026, 10, 31)) == "winter"


# ---- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, open_now, closes_at, next_opening",
    [
        # Wednesday 2 December 2026, winter: 9 h-12 h and 14 h-17 h
        (at(2026, 12, 2, 8, 59), False, None, at(2026, 12, 2, 9, 0)),
        (at(2026, 12, 2, 9, 0), True, time(12, 0), None),
        (at(2026, 12, 2, 12, 0), False, None, at(2026, 12, 2, 14, 0)),
        (at(2026, 12, 2, 13, 30), False, None, at(2026, 12, 2, 14, 0)),
        (at(2026, 12, 2, 16, 59), True, time(17, 0), None),
        (at(2026, 12, 2, 17, 0), False, None, at(2026, 12, 3, 14, 0)),
        # Sunday: morning only, then Monday afternoon
        (at(2026, 11, 29, 11, 30), True, time(12, 0), None),
        (at(2026, 11, 29, 12, 0), False, None, at(2026, 11, 30, 14, 0)),
        # Tuesday: usual closing day
        (at(2026, 12, 1, 10, 0), False, None, at(2026, 12, 2, 9, 0)),
        # public holidays (Christmas on a Friday, 1 May on a Saturday)
        (at(2026, 12, 25, 10, 0), False, None, at(2026, 12, 26, 9, 0)),
        (at(2027, 5, 1, 10, 0), False, None, at(2027, 5, 2, 9, 0)),
        (at(2027, 4, 30, 18, 0), False, None, at(2027, 5, 2, 9, 0)),
        # reduced hours on Christmas Eve, then across Christmas
        (at(2026, 12, 24, 15, 59), True, time(16, 0), None),
        (at(2026, 12, 24, 16, 0), False, None, at(2026, 12, 26, 9, 0)),
        # exceptional closure, Wednesday 10 to Friday 12 February 2027
        (at(2027, 2, 11, 10, 0), False, None, at(2027, 2, 13, 9, 0)),
        (at(2027, 2, 9, 23, 0), False, None, at(2027, 2, 13, 9, 0)),
        # season changes: summer Thursdays open at 13 h 30, winter ones at 14 h
        (at(2027, 3, 31, 17, 0), False, None, at(2027, 4, 1, 13, 30)),
        (at(2026, 9, 30, 18, 0), False, None, at(2026, 10, 1, 14, 0)),
        (at(2026, 9, 30, 17, 30), True, time(18, 0), None),
        # Easter Monday 2027 (29 March) falls in winter on a Monday
        (at(2027, 3, 28, 12, 0), False, None, at(2027, 3, 31, 9, 0)),
    ],
)
def test_status(center, moment, open_now, closes_at, next_opening):
    status = center_status(center, moment)
    assert status.open_now is open_now
    assert status.closes_at == closes_at
    assert status.next_opening == next_opening


@pytest.mark.parametrize(
    "day, kind, reason",
    [
        (date(2026, 12, 2), None, None),
        (date(2026, 12, 1), "weekly", "jour de fermeture habituel"),
        (date(2026, 12, 25), "holiday", "Noël"),
        (date(2027, 5, 1), "holiday", "fête du Travail"),
        (date(2027, 2, 12), "closure", "travaux sur les quais de déchargement"),
        (date(2026, 12, 24), "closure", "veille de Noël, fermeture à 16h"),
    ],
)
def test_reason_of_the_day(center, day, kind, reason):
    schedule = center_day(center, day)
    assert (schedule.kind, schedule.reason) == (kind, reason)
    assert center_status(center, at(day.year, day.month, day.day, 10, 0)).reason == reason


def test_status_uses_paris_time(center):
    utc = datetime(2026, 12, 2, 15, 30, tzinfo=timezone.utc)  # 16 h 30 in Paris (UTC+1)
    status = center_status(center, utc)
    assert status.open_now and status.closes_at == time(17, 0)
    assert status.at.tzinfo == PARIS
    summer_utc = datetime(2026, 7, 1, 16, 0, tzinfo=timezone.utc)  # 18 h in Paris (UTC+2)
    assert not center_status(center, summer_utc).open_now
    assert center_status(center, datetime(2026, 12, 2, 16, 30)).open_now  # naive = Paris


def test_status_now_by_default(center):
    status = center_status(center)
    assert abs(status.at - datetime.now(PARIS)) < timedelta(minutes=1)
    assert describe_center_fr(center).startswith("La déchetterie des Près-Hauts est")


def test_holidays_can_be_open(tmp_path):
    center = variant_center(tmp_path, centers__0__closed_on_holidays=False)
    status = center_status(center, at(2026, 12, 25, 10, 0))
    assert status.open_now and status.closes_at == time(12, 0)
    assert "jours fériés" not in week_hours_fr(center, date(2026, 12, 20))


def test_no_opening_within_fourteen_days(tmp_path):
    closure = {"from": "2027-01-04", "to": "2027-01-31", "reason": "travaux de rénovation"}
    center = variant_center(tmp_path, centers__0__closures=[closure])
    status = center_status(center, at(2027, 1, 5, 10, 0))
    assert not status.open_now and status.next_opening is None
    text = describe_center_fr(center, at(2027, 1, 5, 10, 0))
    assert text == (
        "La déchetterie des Près-Hauts est fermée aujourd'hui (travaux de rénovation). "
        "Aucune ouverture n'est prévue dans les 14 prochains jours. Renseignements au 01 99 00 10 75."
    )


def test_alsace_moselle_holidays(tmp_path):
    center = variant_center(tmp_path, centers__0__alsace_moselle=True)
    assert center_day(center, date(2026, 12, 26)).reason == "Saint-Étienne"
    assert center_status(center, at(2026, 12, 24, 16, 30)).next_opening == at(2026, 12, 27, 9, 0)


# ---- texts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, expected",
    [
        (at(2026, 6, 13, 15, 0), "La déchetterie des Près-Hauts est ouverte jusqu'à 18 h."),
        (
            at(2026, 12, 2, 16, 45),
            "La déchetterie des Près-Hauts est ouverte jusqu'à 17 h. Attention, elle ferme dans 15 minutes.",
        ),
        (
            at(2026, 12, 2, 16, 59),
            "La déchetterie des Près-Hauts est ouverte jusqu'à 17 h. Attention, elle ferme dans 1 minute.",
        ),
        (
            at(2026, 12, 2, 12, 30),
            "La déchetterie des Près-Hauts est fermée en ce moment. "
            "Prochaine ouverture : aujourd'hui à 14 h.",
        ),
        (
            at(2026, 12, 2, 18, 0),
            "La déchetterie des Près-Hauts est fermée pour aujourd'hui. "
            "Prochaine ouverture : demain, jeudi 3 décembre, à 14 h.",
        ),
        (
            at(2026, 12, 1, 10, 0),
            "La déchetterie des Près-Hauts est fermée le mardi. "
            "Prochaine ouverture : demain, mercredi 2 décembre, à 9 h.",
        ),
        (
            at(2026, 12, 25, 10, 0),
            "La déchetterie des Près-Hauts est fermée aujourd'hui (Noël, jour férié). "
            "Prochaine ouverture : demain, samedi 26 décembre, à 9 h.",
        ),
        (
            at(2026, 12, 24, 15, 0),
            "La déchetterie des Près-Hauts est ouverte jusqu'à 16 h. "
            "Horaires modifiés aujourd'hui : veille de Noël, fermeture à 16h.",
        ),
        (
            at(2026, 12, 24, 16, 30),
            "La déchetterie des Près-Hauts est fermée pour aujourd'hui. "
            "Horaires modifiés aujourd'hui : veille de Noël, fermeture à 16h. "
            "Prochaine ouverture : samedi 26 décembre à 9 h.",
        ),
        (
            at(2027, 2, 10, 10, 0),
            "La déchetterie des Près-Hauts est fermée aujourd'hui (travaux sur les quais de déchargement). "
            "Prochaine ouverture : samedi 13 février à 9 h.",
        ),
        (
            at(2027, 3, 31, 17, 30),
            "La déchetterie des Près-Hauts est fermée pour aujourd'hui. "
            "Prochaine ouverture : demain, jeudi 1er avril, à 13 h 30.",
        ),
    ],
)
def test_describe_center(center, moment, expected):
    assert describe_center_fr(center, moment) == expected


def test_usual_closing_day_of_one_season_only(tmp_path):
    center = variant_center(tmp_path, centers__0__seasons__summer__hours__tuesday=["13:30-18:00"])
    text = describe_center_fr(center, at(2026, 12, 1, 10, 0))
    assert text.startswith("La déchetterie des Près-Hauts est fermée le mardi en hiver.")
    assert center_status(center, at(2026, 6, 2, 14, 0)).open_now


def test_masculine_name(tmp_path):
    center = variant_center(tmp_path, centers__0__the_name="le centre de tri des Près-Hauts")
    assert describe_center_fr(center, at(2026, 12, 2, 16, 45)) == (
        "Le centre de tri des Près-Hauts est ouvert jusqu'à 17 h. Attention, il ferme dans 15 minutes."
    )
    assert "Il refuse :" in materials_fr(center)
    assert "Fermé le mardi" in week_hours_fr(center, date(2026, 12, 2))


def test_week_hours_winter_with_upcoming_exceptions(center):
    text = week_hours_fr(center, date(2026, 12, 20))
    assert text.startswith(
        "Horaires d'hiver de la déchetterie des Près-Hauts (du 1er octobre au 31 mars) :\n"
        "• lundi : de 14 h à 17 h\n"
        "• mercredi : de 9 h à 12 h et de 14 h à 17 h\n"
    )
    assert "• samedi : de 9 h à 17 h\n• dimanche : de 9 h à 12 h\n" in text
    assert "mardi :" not in text
    assert "Fermée le mardi et les jours fériés." in text
    assert "Jeudi 24 décembre : de 14 h à 16 h (veille de Noël, fermeture à 16h)." in text
    assert "Fermée vendredi 25 décembre (Noël, jour férié)." in text
    assert "Fermée vendredi 1er janvier (jour de l'An, jour férié)." in text


def test_week_hours_summer_without_exceptions(center):
    text = week_hours_fr(center, date(2026, 6, 10))
    assert text.startswith("Horaires d'été de la déchetterie des Près-Hauts (du 1er avril au 30 septembre) :")
    assert "• lundi : de 13 h 30 à 18 h" in text
    assert "• samedi : de 9 h à 18 h" in text
    assert text.endswith("Fermée le mardi et les jours fériés.")


def test_week_hours_announce_season_change_and_closure_ranges(center):
    spring = week_hours_fr(center, date(2027, 3, 25))
    assert "Horaires d'hiver" in spring
    assert "Fermée lundi 29 mars (lundi de Pâques, jour férié)." in spring
    assert spring.endswith("Horaires d'été à partir du jeudi 1er avril.")
    february = week_hours_fr(center, date(2027, 2, 5))
    assert (
        "Fermée du mercredi 10 février au vendredi 12 février (travaux sur les quais de déchargement)."
        in (february)
    )
    assert week_hours_fr(center, at(2026, 12, 20, 23, 30)) == week_hours_fr(center, date(2026, 12, 20))


def test_week_hours_closure_over_a_usual_closing_day_and_beyond_the_window(tmp_path):
    closures = [
        {"from": "2027-01-04", "to": "2027-01-08", "reason": "inventaire"},
        {"from": "2027-01-13", "to": "2027-02-28", "reason": "travaux"},
    ]
    center = variant_center(tmp_path, centers__0__closures=closures)
    text = week_hours_fr(center, date(2027, 1, 3))
    assert "Fermée du lundi 4 janvier au vendredi 8 janvier (inventaire)." in text
    assert "Fermée du mercredi 13 janvier au dimanche 28 février (travaux)." in text


def test_week_hours_ignore_holidays_on_usual_closing_days(center):
    assert "fête nationale" not in week_hours_fr(center, date(2026, 7, 10))  # Tuesday 14 July
    assert "Fermée samedi 15 août (Assomption, jour férié)." in week_hours_fr(center, date(2026, 8, 10))


def test_week_hours_with_a_smaller_limit(center):
    full = week_hours_fr(center, date(2026, 12, 20))
    short = week_hours_fr(center, date(2026, 12, 20), limit=400)
    assert len(short) <= 400 < len(full)
    assert full.startswith(short)
    assert short.endswith(
        "Fermée le mardi et les jours fériés.\n"
        "Jeudi 24 décembre : de 14 h à 16 h (veille de Noël, fermeture à 16h)."
    )


def test_week_hours_keep_exceptions_within_one_message(tmp_path):
    closures = [
        {
            "from": (date(2027, 1, 4) + timedelta(days=i)).isoformat(),
            "reason": f"fermeture numéro {i} " + "x" * 90,
        }
        for i in range(14)
    ]
    center = variant_center(tmp_path, centers__0__closures=closures)
    text = week_hours_fr(center, date(2027, 1, 4))
    assert len(text) <= MAX_MESSAGE
    assert "fermeture numéro 0" in text and "fermeture numéro 13" not in text


def test_materials(center):
    text = materials_fr(center)
    accepted, refused = text.split("\n")[:2]
    assert accepted.startswith("La déchetterie des Près-Hauts accepte : gravats (")
    assert "pneus (déjantés, 4 au maximum)" in accepted
    assert "déchets verts" in accepted and "(DEEE)" in accepted and "huiles de vidange" in accepted
    assert "amiante" not in accepted
    assert refused.startswith("Elle refuse : ordures ménagères")
    assert "amiante (à confier à une entreprise spécialisée)" in refused
    assert "bouteilles de gaz" in refused
    assert text.endswith("En cas de doute, appelez le 01 99 00 10 75.")


def test_access(center):
    text = access_fr(center)
    assert text.startswith("Pour accéder à la déchetterie des Près-Hauts :\n• ")
    for fragment in ("badge d'accès", "justificatif de domicile", "3,5 tonnes", "1 m³", "professionnels"):
        assert fragment in text
    assert "Le badge d'accès est gratuit." in text
    assert text.endswith(
        "Adresse : Chemin des Près-Hauts, zone d'activités des Près-Hauts, 45990 Villebrune."
    )


def test_bulky_waste(config):
    text = bulky_waste_fr(config)
    assert text.startswith("Les encombrants sont collectés gratuitement devant chez vous, sur rendez-vous.")
    assert "Objets acceptés : mobilier (" in text and "literie" in text and "gros électroménager" in text
    refused = "gravats (béton, ciment, terre), déchets verts (branches, tontes), pneus, produits toxiques ("
    assert "Objets refusés : " + refused in text
    assert "• 3 m³ et 10 objets maximum par passage, 2 passages par an et par foyer." in text
    assert "la veille au soir" in text
    assert "ressourcerie" in text and "Emmaüs" in text and "déchetterie des Près-Hauts" in text
    booked_here = bulky_waste_fr(config, booking="Je peux prendre ce rendez-vous avec vous ici.")
    assert "Je peux prendre ce rendez-vous avec vous ici." in booked_here
    assert "01 99 00 10 70" not in booked_here


def test_every_text_fits_in_a_message(config, center):
    for text in (materials_fr(center), access_fr(center), bulky_waste_fr(config)):
        assert 0 < len(text) <= MAX_MESSAGE
    day = date(2026, 11, 1)
    while day < date(2027, 11, 1):
        assert len(week_hours_fr(center, day)) <= MAX_MESSAGE
        for hour in (8, 12, 16, 20):
            assert len(describe_center_fr(center, at(day.year, day.month, day.day, hour, 0))) <= MAX_MESSAGE
        day += timedelta(days=1)


def test_texts_use_vouvoiement(config, center):
    texts = [
        materials_fr(center),
        access_fr(center),
        bulky_waste_fr(config),
        week_hours_fr(center, date(2026, 12, 20)),
    ]
    for text in texts:
        words = set(text.replace("'", " ").replace(",", " ").replace(".", " ").split())
        assert not words & {"tu", "ton", "ta", "tes", "toi", "te"}


# ---- invalid files ---------------------------------------------------------------------------

C = "centers__0__"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({C + "phone": "abc"}, "centers.0.phone : numéro de téléphone « abc » invalide"),
        (
            {C + "seasons__summer__from": "04-31"},
            "centers.0.seasons.summer.from : date « 04-31 » invalide",
        ),
        (
            {C + "seasons__summer__to": "02-29"},
            "centers.0.seasons.summer.to : date « 02-29 » invalide",
        ),
        (
            {C + "seasons__summer__from": DELETE},
            "centers.0.seasons : summer : « from » et « to »",
        ),
        ({C + "seasons__winter__from": "10-02"}, "winter : « from » et « to » doivent compléter l'été"),
        ({C + "seasons__summer__hours__monday": ["18:00-09:00"]}, "la fin doit suivre le début"),
        ({C + "seasons__winter__hours__funday": ["09:00-12:00"]}, "jour « funday » inconnu"),
        (
            {C + "seasons__winter__hours": {}},
            "seasons.winter.hours : « hours » doit associer au moins un jour",
        ),
        (
            {C + "seasons__winter": DELETE},
            "centers.0.seasons.winter : champ obligatoire manquant",
        ),
        (
            {C + "closures__2__to": "2027-02-01"},
            "closures.2 : « to » doit être le même jour ou après « from »",
        ),
        (
            {C + "closures__0__from": "pas une date"},
            "closures.0.from : date invalide (format attendu AAAA-MM-JJ, par exemple 2026-12-25)",
        ),
        ({C + "closures__0__hours": ["9 h-12 h"]}, "closures.0.hours : plage horaire « 9 h-12 h » invalide"),
        ({C + "closures__1__reason": "r" * 200}, "closures.1.reason : « reason » trop long"),
        ({C + "access__how_to_get_badge": DELETE}, "access.how_to_get_badge : champ obligatoire manquant"),
        ({C + "access__conditions": []}, "access.conditions : « conditions » doit contenir au moins"),
        ({C + "colour": "vert"}, "centers.0.colour : champ inconnu"),
        (
            {C + "the_name": "Déchetterie"},
            "centers.0.the_name : « the_name » doit commencer par",
        ),
        ({C + "the_name": "l'écopôle des Près-Hauts"}, "feminine : true ou false est nécessaire"),
        ({C + "refused__0__name": "pneus"}, "refused : « pneus » figure aussi dans « accepted »"),
        ({C + "accepted__1__name": "Gravats"}, "« gravats » figure deux fois dans « accepted »"),
        (
            {C + "accepted": []},
            "centers.0.accepted : « accepted » doit lister au moins une matière",
        ),
        ({C + "zip_code": "4599"}, "centers.0.zip_code : code postal « 4599 » invalide"),
        ({C + "latitude": 123.0}, "centers.0.latitude : latitude hors de [-90, 90]"),
        ({C + "longitude": "est"}, "centers.0.longitude : un nombre est attendu"),
        (
            {C + "timezone": "Mars/Olympus"},
            "centers.0.timezone : fuseau horaire « Mars/Olympus » inconnu",
        ),
        ({C + "closed_on_holidays": "peut-être"}, "closed_on_holidays : true ou false est attendu"),
        ({"centers": []}, "centers : au moins une déchetterie est nécessaire"),
        ({"centers": {"pres_hauts": {}}}, "centers : une liste est attendue"),
        (
            {C + "id": "Près-Hauts"},
            "centers.0.id : identifiant de déchetterie « Près-Hauts » invalide",
        ),
        ({C + "id": DELETE}, "centers.0.id : champ obligatoire manquant"),
        (
            {"bulky_waste__accepted": []},
            "bulky_waste.accepted : « accepted » doit lister au moins une matière",
        ),
        ({"bulky_waste__booking": "  "}, "bulky_waste.booking : « booking » ne peut pas être vide"),
        ({"bulky_waste__limits": "3 m³"}, "bulky_waste.limits : une liste est attendue"),
        ({"bulky_waste": DELETE}, "bulky_waste : champ obligatoire manquant"),
    ],
)
def test_invalid_file_names_the_field(tmp_path, changes, expected):
    with pytest.raises(RecyclingConfigError) as excinfo:
        load_recycling_config(write_variant(tmp_path, **changes))
    message = str(excinfo.value)
    assert message.startswith("Fichier invalide : ")
    assert "(déchetteries et encombrants)" in message.splitlines()[0]
    assert expected in without_lines(message)


def test_two_centers(tmp_path):
    raw = yaml.safe_load(DEFAULT_RECYCLING_FILE.read_text(encoding="utf-8"))
    second = dict(raw["centers"][0], id="montval", name="Déchetterie de Montval")
    second["the_name"] = "la déchetterie de Montval"
    raw["centers"].append(second)
    path = tmp_path / "recycling_center.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    config = load_recycling_config(path)
    assert config.center().id == "pres_hauts"
    assert describe_center_fr(config.center("montval"), at(2026, 12, 2, 10, 0)).startswith(
        "La déchetterie de Montval est ouverte"
    )
    second["id"] = "pres_hauts"
    path = tmp_path / "duplicate.yml"  # another path: loading is cached per path
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RecyclingConfigError) as excinfo:
        load_recycling_config(path)
    assert "centers : deux déchetteries ont l'identifiant « pres_hauts »" in without_lines(str(excinfo.value))


def test_too_long_lists_are_refused(tmp_path):
    many = [{"name": f"matière numéro {i}", "note": "une précision un peu longue"} for i in range(40)]
    with pytest.raises(RecyclingConfigError) as excinfo:
        load_recycling_config(write_variant(tmp_path, **{C + "accepted": many}))
    message = without_lines(str(excinfo.value))
    assert "centers.0.accepted : texte trop long pour un message" in message
    assert "(accepted et refused)" in message
    limits = [f"Règle numéro {i} : " + "y" * 60 for i in range(15)]
    with pytest.raises(RecyclingConfigError) as excinfo:
        load_recycling_config(write_variant(tmp_path, bulky_waste__limits=limits))
    assert "bulky_waste : texte trop long" in without_lines(str(excinfo.value))


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "Fichier introuvable : .*recycling_center.yml \\(déchetteries et encombrants\\)"),
        ("centers: [unclosed", "Fichier illisible \\(YAML\\) : .*\n  - ligne 1, colonne"),
        ("", "Fichier vide ou mal formé : .*un dictionnaire est attendu .*pas un fichier vide"),
        ("- a\n- b\n", "Fichier vide ou mal formé : .*un dictionnaire est attendu .*pas une liste"),
    ],
)
def test_unreadable_files(tmp_path, content, expected):
    path = tmp_path / "recycling_center.yml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(TerritoryConfigError, match=expected):
        load_recycling_config(path)

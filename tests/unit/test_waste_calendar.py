"""Collection calendar: every rule kind over the whole of 2027, holidays, exceptions, ICS, texts."""

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from core.holidays import french_holidays, holiday_name
from core.text import format_date_fr
from tests.unit.conftest import WASTE_FILE
from waste.calendar import (
    Collection,
    collections_between,
    describe_collections_fr,
    ics_period,
    next_collections,
    to_ics,
)
from waste.config import DEFAULT_WASTE_FILE, KNOWN_STREAMS, Season, load_waste_config, parse_waste_config

YEAR_START, YEAR_END = date(2027, 1, 1), date(2027, 12, 31)
POLICIES = ("shift_next_day", "maintained", "cancelled")


def make_config(policy: str = "shift_next_day", exceptions=(), alsace_moselle: bool = False):
    """Sectors chosen so that 2027's holidays fall on collection days of every rule kind."""
    return parse_waste_config(
        {
            "city": "Villebrune",
            "postcode": "45990",
            "citycode": "45999",
            "alsace_moselle": alsace_moselle,
            "streams": {
                "ordures_menageres": {
                    "label": "Bac gris (ordures ménagères)",
                    "container": "bac gris",
                    "put_out": "Sortez le bac la veille au soir après 19 h, rentrez-le après la collecte.",
                },
                "recyclables": {
                    "label": "Bac jaune (emballages et papiers)",
                    "container": "bac à couvercle jaune",
                    "put_out": "La veille au soir; emballages en vrac, pas de sac.",
                },
                "verre": {"label": "Verre", "container": "bac vert", "put_out": "La veille au soir."},
                "dechets_verts": {
                    "label": "Déchets verts",
                    "container": "sacs kraft",
                    "put_out": "La veille.",
                },
            },
            "sectors": {
                "lun_jeu": {
                    "label": "Lundi et jeudi",
                    "collections": {
                        "ordures_menageres": {"weekly": ["monday", "thursday"]},
                        "recyclables": {"biweekly": "wednesday", "parity": "even"},
                        "verre": {"monthly": {"weekday": "friday", "nth": 1}},
                        "dechets_verts": {"weekly": "monday", "season": {"from": "03-15", "to": "11-30"}},
                    },
                },
                "samedi": {
                    "label": "Samedi",
                    "collections": {
                        "ordures_menageres": {"weekly": "saturday"},
                        "recyclables": {"biweekly": "monday", "parity": "odd"},
                        "verre": {"monthly": {"weekday": "thursday", "nth": 2}},
                        "dechets_verts": {
                            "biweekly": "friday",
                            "parity": "odd",
                            "season": {"from": "04-01", "to": "10-31"},
                        },
                    },
                },
                "mercredi": {
                    "label": "Mercredi",
                    "collections": {
                        "ordures_menageres": {"weekly": "wednesday"},
                        "recyclables": {"weekly": ["monday", "tuesday"]},
                        "verre": {"monthly": {"weekday": "monday", "nth": -1}},
                        "dechets_verts": "none",
                    },
                },
                "sans_verre": {
                    "label": "Sans verre",
                    "collections": {
                        "ordures_menageres": {"weekly": ["thursday", "friday"]},
                        "verre": {"none": True, "note": "Déposez le verre aux bornes de la place."},
                    },
                },
            },
            "holiday_rules": {**{stream: policy for stream in KNOWN_STREAMS}, "exceptions": list(exceptions)},
            "streets": [{"name": "Rue Une", "sectors": "lun_jeu"}],
        }
    )


def _iso_week(day: date) -> int:
    return day.isocalendar()[1]


def _nth_weekday(day: date, weekday: int, nth: int) -> bool:
    """Independent of the code under test: count the weekdays of the month."""
    same = [
        d
        for d in range(1, 32)
        if _valid(day.year, day.month, d) and date(day.year, day.month, d).weekday() == weekday
    ]
    return day.weekday() == weekday and day.day == same[nth - 1 if nth > 0 else -1]


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# The usual schedule of each (sector, stream) of make_config(), written independently.
ORACLE = {
    ("lun_jeu", "ordures_menageres"): lambda d: d.weekday() in (0, 3),
    ("lun_jeu", "recyclables"): lambda d: d.weekday() == 2 and _iso_week(d) % 2 == 0,
    ("lun_jeu", "verre"): lambda d: _nth_weekday(d, 4, 1),
    ("lun_jeu", "dechets_verts"): lambda d: d.weekday() == 0 and (3, 15) <= (d.month, d.day) <= (11, 30),
    ("samedi", "ordures_menageres"): lambda d: d.weekday() == 5,
    ("samedi", "recyclables"): lambda d: d.weekday() == 0 and _iso_week(d) % 2 == 1,
    ("samedi", "verre"): lambda d: _nth_weekday(d, 3, 2),
    ("samedi", "dechets_verts"): lambda d: d.weekday() == 4 and _iso_week(d) % 2 == 1 and 4 <= d.month <= 10,
    ("mercredi", "ordures_menageres"): lambda d: d.weekday() == 2,
    ("mercredi", "recyclables"): lambda d: d.weekday() in (0, 1),
    ("mercredi", "verre"): lambda d: _nth_weekday(d, 0, -1),
    ("mercredi", "dechets_verts"): lambda d: False,
    ("sans_verre", "ordures_menageres"): lambda d: d.weekday() in (3, 4),
    ("sans_verre", "recyclables"): lambda d: False,
    ("sans_verre", "verre"): lambda d: False,
    ("sans_verre", "dechets_verts"): lambda d: False,
}


def _expected(sector: str, stream: str, policy: str) -> list:
    """(day, shifted_from) of 2027, from the oracle and the policy, without the code under test."""
    usual_days = [YEAR_START - timedelta(days=20) + timedelta(days=n) for n in range(410)]
    found = {}
    for usual in filter(ORACLE[(sector, stream)], usual_days):
        if holiday_name(usual) is None or policy == "maintained":
            found[usual] = None  # overrides a collection shifted onto that day: the usual one wins
        elif policy == "shift_next_day":
            day = usual + timedelta(days=1)
            while day.weekday() == 6 or holiday_name(day):
                day += timedelta(days=1)
            found.setdefault(day, usual)
    return sorted((day, shifted) for day, shifted in found.items() if YEAR_START <= day <= YEAR_END)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("sector, stream", sorted(ORACLE))
def test_whole_year_2027_matches_the_rules(policy, sector, stream):
    config = make_config(policy)
    got = collections_between(config, sector, YEAR_START, YEAR_END, streams=[stream])
    assert [(c.day, c.shifted_from) for c in got] == _expected(sector, stream, policy)
    assert all(c.stream == stream and c.day.weekday() != 6 for c in got)


@pytest.mark.parametrize("policy", POLICIES)
def test_every_2027_holiday_on_a_collection_day_follows_the_policy(policy):
    config = make_config(policy)
    holidays = french_holidays(2027)
    assert len(holidays) == 11
    hits = 0
    for (sector, stream), usual_schedule in sorted(ORACLE.items()):
        got = collections_between(config, sector, YEAR_START, YEAR_END + timedelta(days=7), streams=[stream])
        by_day = {c.day: c for c in got}
        for holiday, name in sorted(holidays.items()):
            if not usual_schedule(holiday):
                continue
            hits += 1
            moved = [c for c in got if c.shifted_from == holiday]
            if policy == "maintained":
                assert by_day[holiday].note == f"maintenue malgré le jour férié ({name})"
                assert by_day[holiday].shifted_from is None and not moved
            elif policy == "cancelled":
                assert holiday not in by_day and not moved, (sector, stream, holiday)
            else:
                target = holiday + timedelta(days=1)
                while target.weekday() == 6 or target in holidays:
                    target += timedelta(days=1)
                assert holiday not in by_day
                if usual_schedule(target):  # merged with the usual collection of that day
                    assert by_day[target].shifted_from is None and not moved
                    continue
                assert [c.day for c in moved] == [target], (sector, stream, holiday)
                when = (
                    "au lendemain"
                    if target == holiday + timedelta(days=1)
                    else f"au {format_date_fr(target)}"
                )
                assert moved[0].note == f"décalée {when} ({name})"
                assert moved[0].reason == name
    # lun_jeu: OM 5 (29/03, 06/05, 17/05, 01/11, 11/11), recyclables 14/07 (week 28, even), verre
    # 01/01 (1st Friday), déchets verts 3; samedi: OM 3 (01/05, 08/05, 25/12), recyclables 29/03
    # (week 13, odd), verre 11/11 (2nd Thursday); mercredi: OM 14/07, recyclables 3, verre
    # 29/03 (last Monday); sans_verre: OM 3 (01/01, 06/05, 11/11). Total 23.
    assert hits == 23


def test_shift_chain_holiday_then_sunday():
    config = make_config("shift_next_day")
    got = collections_between(
        config, "samedi", date(2027, 4, 25), date(2027, 5, 16), streams=["ordures_menageres"]
    )
    assert [(c.day, c.shifted_from, c.note) for c in got] == [
        (date(2027, 5, 3), date(2027, 5, 1), "décalée au lundi 3 mai (fête du Travail)"),
        (date(2027, 5, 10), date(2027, 5, 8), "décalée au lundi 10 mai (Victoire 1945)"),
        (date(2027, 5, 15), None, None),
    ]
    christmas = next_collections(config, "samedi", date(2027, 12, 20), 1, ["ordures_menageres"])
    assert christmas["ordures_menageres"] == [
        Collection(
            "ordures_menageres", date(2027, 12, 27), date(2027, 12, 25), "décalée au lundi 27 décembre (Noël)"
        )
    ]


def test_shift_chain_holiday_sunday_holiday_in_alsace_moselle():
    # 2026: Noël (Fri) → Saint-Étienne (Sat, Alsace-Moselle) → Sunday → Monday 28.
    config = make_config("shift_next_day", alsace_moselle=True)
    got = collections_between(config, "sans_verre", date(2026, 12, 24), date(2026, 12, 31))
    assert [(c.day, c.shifted_from) for c in got] == [
        (date(2026, 12, 24), None),
        (date(2026, 12, 28), date(2026, 12, 25)),
        (date(2026, 12, 31), None),
    ]
    assert got[1].note == "décalée au lundi 28 décembre (Noël)"
    good_friday = collections_between(config, "sans_verre", date(2027, 3, 26), date(2027, 3, 27))
    assert [(c.day, c.reason) for c in good_friday] == [(date(2027, 3, 27), "Vendredi saint")]


def test_shifted_monday_lands_on_the_tuesday_collection_once():
    config = make_config("shift_next_day")
    got = collections_between(
        config, "mercredi", date(2027, 5, 17), date(2027, 5, 18), streams=["recyclables"]
    )
    assert got == [Collection("recyclables", date(2027, 5, 18))]


def test_biweekly_parity_across_iso_week_53():
    # 2026 has 53 ISO weeks: 28/12/2026 is week 53 and 04/01/2027 week 1, both odd. Parity is
    # the ISO week number's (as on printed calendars): odd collects two weeks in a row, even
    # waits three weeks. The commune smooths that with exceptions (see the demo file).
    assert (_iso_week(date(2026, 12, 28)), _iso_week(date(2027, 1, 4))) == (53, 1)
    config = make_config("shift_next_day")
    odd = next_collections(config, "samedi", date(2026, 12, 22), 3, ["recyclables"])["recyclables"]
    assert [c.day for c in odd] == [date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 18)]
    even = next_collections(config, "lun_jeu", date(2026, 12, 17), 3, ["recyclables"])["recyclables"]
    assert [c.day for c in even] == [date(2026, 12, 23), date(2027, 1, 13), date(2027, 1, 27)]


def test_demo_file_smooths_week_53_with_exceptions():
    demo = load_waste_config(DEFAULT_WASTE_FILE)
    coteaux = next_collections(demo, "coteaux", date(2026, 12, 15), 3, ["recyclables"])["recyclables"]
    assert [c.day for c in coteaux] == [date(2026, 12, 21), date(2027, 1, 4), date(2027, 1, 11)]
    assert coteaux[1].note == "collecte supplémentaire (semaine 53)"
    nord = next_collections(demo, "nord", date(2026, 12, 15), 2, ["recyclables"])["recyclables"]
    assert [c.day for c in nord] == [date(2026, 12, 18), date(2027, 1, 8)]


@pytest.mark.parametrize(
    "sector, stream, expected",
    [
        (
            "lun_jeu",
            "verre",
            [
                (1, 1),
                (2, 5),
                (3, 5),
                (4, 2),
                (5, 7),
                (6, 4),
                (7, 2),
                (8, 6),
                (9, 3),
                (10, 1),
                (11, 5),
                (12, 3),
            ],
        ),
        (
            "samedi",
            "verre",
            [
                (1, 14),
                (2, 11),
                (3, 11),
                (4, 8),
                (5, 13),
                (6, 10),
                (7, 8),
                (8, 12),
                (9, 9),
                (10, 14),
                (11, 11),
                (12, 9),
            ],
        ),
        (
            "mercredi",
            "verre",
            [
                (1, 25),
                (2, 22),
                (3, 29),
                (4, 26),
                (5, 31),
                (6, 28),
                (7, 26),
                (8, 30),
                (9, 27),
                (10, 25),
                (11, 29),
                (12, 27),
            ],
        ),
    ],
)
def test_monthly_nth_weekday(sector, stream, expected):
    config = make_config("maintained")
    got = collections_between(config, sector, YEAR_START, YEAR_END, streams=[stream])
    assert [(c.day.month, c.day.day) for c in got] == expected


def test_seasonal_start_and_end():
    config = make_config("maintained")
    weekly = collections_between(config, "lun_jeu", YEAR_START, YEAR_END, streams=["dechets_verts"])
    assert (weekly[0].day, weekly[-1].day) == (date(2027, 3, 15), date(2027, 11, 29))  # bounds inclusive
    assert len(weekly) == 38
    biweekly = collections_between(config, "samedi", YEAR_START, YEAR_END, streams=["dechets_verts"])
    assert (biweekly[0].day, biweekly[-1].day) == (date(2027, 4, 2), date(2027, 10, 29))
    assert not collections_between(config, "lun_jeu", date(2027, 12, 1), date(2028, 3, 14), ["dechets_verts"])


def test_out_of_season_gives_the_next_season():
    config = make_config("maintained")
    nxt = next_collections(config, "lun_jeu", date(2027, 12, 1), 2, ["dechets_verts"])["dechets_verts"]
    assert [c.day for c in nxt] == [date(2028, 3, 20), date(2028, 3, 27)]


def test_season_over_new_year():
    raw_season = Season.parse_obj({"from": "11-15", "to": "02-15"})
    assert raw_season.contains(date(2027, 12, 31)) and raw_season.contains(date(2028, 2, 15))
    assert not raw_season.contains(date(2028, 2, 16)) and not raw_season.contains(date(2027, 11, 14))
    assert raw_season.french() == "du 15 novembre au 15 février"


EXCEPTIONS = [
    # Easter Monday brought forward to the Saturday instead of the holiday rule.
    {
        "date": "2027-03-29",
        "stream": "ordures_menageres",
        "sectors": ["lun_jeu"],
        "moved_to": "2027-03-27",
        "reason": "Pâques",
    },
    {"date": "2027-06-03", "stream": "ordures_menageres", "sectors": ["sans_verre"], "cancelled": True},
    {
        "date": "2027-06-09",
        "stream": "ordures_menageres",
        "sectors": ["lun_jeu"],
        "added": True,
        "reason": "braderie",
    },
    {"date": "2027-02-05", "stream": "verre", "moved_to": "2027-02-08"},
    {"date": "2027-07-14", "stream": "ordures_menageres", "cancelled": True},
]


def test_explicit_exceptions():
    config = make_config("shift_next_day", EXCEPTIONS)

    def days(sector, stream, first, last):
        return [
            (c.day, c.shifted_from, c.note)
            for c in collections_between(config, sector, first, last, [stream])
        ]

    assert days("lun_jeu", "ordures_menageres", date(2027, 3, 25), date(2027, 4, 1)) == [
        (date(2027, 3, 25), None, None),
        (date(2027, 3, 27), date(2027, 3, 29), "avancée au samedi 27 mars (Pâques)"),
        (date(2027, 4, 1), None, None),
    ]
    # Restricted to sans_verre: lun_jeu keeps its Thursday.
    assert [d[0] for d in days("sans_verre", "ordures_menageres", date(2027, 6, 3), date(2027, 6, 4))] == [
        date(2027, 6, 4)
    ]
    assert [d[0] for d in days("lun_jeu", "ordures_menageres", date(2027, 6, 3), date(2027, 6, 3))] == [
        date(2027, 6, 3)
    ]
    assert days("lun_jeu", "ordures_menageres", date(2027, 6, 8), date(2027, 6, 9)) == [
        (date(2027, 6, 9), None, "collecte supplémentaire (braderie)")
    ]
    assert days("samedi", "ordures_menageres", date(2027, 6, 9), date(2027, 6, 9)) == []
    assert days("lun_jeu", "verre", date(2027, 2, 1), date(2027, 2, 28)) == [
        (date(2027, 2, 8), date(2027, 2, 5), "décalée au lundi 8 février")
    ]
    # A cancelled holiday collection is not shifted either.
    assert days("mercredi", "ordures_menageres", date(2027, 7, 13), date(2027, 7, 16)) == []


def test_next_collections_from_a_holiday():
    shift = make_config("shift_next_day")
    pentecost = date(2027, 5, 17)
    for start in (pentecost, pentecost + timedelta(days=1)):  # Tuesday: the shifted Monday still counts
        got = next_collections(shift, "lun_jeu", start, 2, ["ordures_menageres"])["ordures_menageres"]
        assert [(c.day, c.shifted_from) for c in got] == [
            (date(2027, 5, 18), pentecost),
            (date(2027, 5, 20), None),
        ]
    got = next_collections(shift, "lun_jeu", pentecost + timedelta(days=2), 2, ["ordures_menageres"])
    assert [c.day for c in got["ordures_menageres"]] == [date(2027, 5, 20), date(2027, 5, 24)]
    cancelled = next_collections(make_config("cancelled"), "lun_jeu", pentecost, 1, ["ordures_menageres"])
    assert [c.day for c in cancelled["ordures_menageres"]] == [date(2027, 5, 20)]
    maintained = next_collections(make_config("maintained"), "lun_jeu", pentecost, 1, ["ordures_menageres"])
    assert [c.day for c in maintained["ordures_menageres"]] == [pentecost]


def test_next_collections_does_not_return_a_collection_moved_before_start():
    config = load_waste_config(WASTE_FILE)  # gare: 01/01/2027 brought forward to 31/12/2026
    on_new_year = next_collections(config, "gare", date(2027, 1, 1), 1, ["ordures_menageres"])
    assert [c.day for c in on_new_year["ordures_menageres"]] == [date(2027, 1, 5)]
    on_eve = next_collections(config, "gare", date(2026, 12, 31), 1, ["ordures_menageres"])
    assert on_eve["ordures_menageres"][0].shifted_from == date(2027, 1, 1)


def test_next_collections_shape():
    config = make_config()
    result = next_collections(config, "sans_verre", date(2027, 6, 1))
    assert list(result) == list(KNOWN_STREAMS)
    assert result["recyclables"] == result["verre"] == result["dechets_verts"] == []
    assert len(result["ordures_menageres"]) == 2
    assert len(next_collections(config, "lun_jeu", date(2027, 6, 1), 7)["verre"]) == 7
    with pytest.raises(ValueError, match="secteur « sud » inconnu"):
        next_collections(config, "sud", date(2027, 6, 1))
    with pytest.raises(ValueError, match="flux « encombrants » inconnu"):
        next_collections(config, "lun_jeu", date(2027, 6, 1), streams=["encombrants"])


def test_collections_between_is_sorted_by_day_then_stream():
    config = make_config()
    got = collections_between(config, "lun_jeu", YEAR_START, YEAR_END)
    order = list(KNOWN_STREAMS)
    assert got == sorted(got, key=lambda c: (c.day, order.index(c.stream)))
    assert {c.stream for c in got} == set(KNOWN_STREAMS)
    assert len({(c.stream, c.day) for c in got}) == len(got)


@pytest.mark.parametrize("sector", ["centre", "nord", "coteaux", "gare"])
def test_demo_sectors_over_2027(sector):
    demo = load_waste_config(DEFAULT_WASTE_FILE)
    got = collections_between(demo, sector, YEAR_START, YEAR_END)
    household = [c for c in got if c.stream == "ordures_menageres"]
    assert len(household) >= 50
    for collection in got:
        assert collection.day.weekday() != 6
        if holiday_name(collection.day):  # only where the rule or an exception says so
            assert demo.holiday_rules.policy(collection.stream) == "maintained" or collection.note


# ---- iCalendar -----------------------------------------------------------------------------

STAMP = datetime(2026, 11, 29, 17, 30, tzinfo=timezone.utc)
ADDRESS = "12 Avenue Jean Jaurès, 45990 Villebrune"


def unfold(text: str) -> list:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def events(text: str) -> list:
    found, current = [], None
    for line in unfold(text):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return found


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


@pytest.fixture(scope="module")
def gare_ics():
    """The fixture waste file's « gare » sector over three winter months."""
    config = load_waste_config(WASTE_FILE)
    first, last = date(2026, 12, 1), date(2027, 2, 28)
    return config, first, last, to_ics(config, "gare", ADDRESS, first, last, stamp=STAMP)


def test_ics_structure(gare_ics):
    config, first, last, text = gare_ics
    lines = unfold(text)
    assert lines[:5] == ["BEGIN:VCALENDAR", "VERSION:2.0", lines[2], "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    assert lines[2].startswith("PRODID:-//Villebrune//")
    assert lines[5] == "X-WR-CALNAME:Collectes des déchets – 12 Avenue Jean Jaurès\\, 45990 Villebrune"
    assert lines[-1] == "END:VCALENDAR"
    expected = collections_between(config, "gare", first, last)
    found = events(text)
    assert len(found) == len(expected) == text.count("BEGIN:VEVENT") == text.count("END:VEVENT") > 30
    assert [e["DTSTART;VALUE=DATE"] for e in found] == [f"{c.day:%Y%m%d}" for c in expected]
    assert [e["DTEND;VALUE=DATE"] for e in found] == [f"{c.day + timedelta(days=1):%Y%m%d}" for c in expected]
    assert {e["DTSTAMP"] for e in found} == {"20261129T173000Z"}
    assert {e["SUMMARY"] for e in found} == {
        "Collecte bac gris (ordures ménagères)",
        "Collecte bac jaune (emballages et papiers)",
    }
    assert all(unescape(e["LOCATION"]) == ADDRESS for e in found)
    assert all(e["TRANSP"] == "TRANSPARENT" for e in found)


def test_ics_crlf_and_folding(gare_ics):
    text = gare_ics[3]
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    physical = text.split("\r\n")[:-1]
    assert max(len(line.encode("utf-8")) for line in physical) <= 75
    assert any(line.startswith(" ") for line in physical)  # long descriptions were folded


def test_ics_uid_is_stable_and_follows_the_usual_date(gare_ics):
    config, first, last, text = gare_ics
    uids = [e["UID"] for e in events(text)]
    assert len(set(uids)) == len(uids)
    assert all(
        re.fullmatch(r"(ordures_menageres|recyclables)-\d{4}-\d{2}-\d{2}-gare@villebrune\.example", u)
        for u in uids
    )
    later = to_ics(config, "gare", ADDRESS, first, last, stamp=STAMP + timedelta(days=3))
    assert [e["UID"] for e in events(later)] == uids
    christmas = next(
        e for e in events(text) if e["UID"] == "ordures_menageres-2026-12-25-gare@villebrune.example"
    )
    assert christmas["DTSTART;VALUE=DATE"] == "20261226"
    description = unescape(christmas["DESCRIPTION"])
    assert description.startswith(
        "Collecte du vendredi 25 décembre décalée au lendemain (Noël).\nSortez le bac"
    )


def test_ics_escaping_and_multibyte_folding():
    config = make_config()
    label = 'Résidence "Les Érables"; bât. B, appt 3\\4\nÉtage 2 — 12 Rue Une, 45990 Villebrune ' + "é" * 60
    text = to_ics(config, "lun_jeu", label, date(2027, 1, 4), date(2027, 1, 4), stamp=STAMP)
    location = events(text)[0]["LOCATION"]
    assert location.startswith('Résidence "Les Érables"\\; bât. B\\, appt 3\\\\4\\nÉtage 2')
    assert unescape(location) == label
    assert "\n" not in location
    physical = text.split("\r\n")
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    for line in physical:
        line.encode("utf-8").decode("utf-8")  # never cut inside a character
    description = events(text)[0]["DESCRIPTION"]
    assert unescape(description) == config.streams["ordures_menageres"].put_out
    assert "\\," in description
    recyclables = to_ics(config, "lun_jeu", "x", date(2027, 1, 13), date(2027, 1, 13), stamp=STAMP)
    assert "DESCRIPTION:La veille au soir\\; emballages en vrac\\, pas de sac." in recyclables


def test_ics_empty_period_and_order():
    config = make_config()
    text = to_ics(config, "sans_verre", "x", date(2027, 1, 3), date(2027, 1, 3), stamp=STAMP)  # a Sunday
    assert "BEGIN:VEVENT" not in text and text.endswith("END:VCALENDAR\r\n")
    with pytest.raises(ValueError):
        to_ics(config, "sans_verre", "x", date(2027, 1, 3), date(2027, 1, 2))


def test_ics_period():
    config = load_waste_config(WASTE_FILE)  # ics.months_ahead: 3
    assert ics_period(config, date(2026, 11, 29)) == (date(2026, 11, 29), date(2027, 2, 28))
    assert ics_period(config, date(2026, 10, 15)) == (date(2026, 10, 15), date(2027, 1, 15))


# ---- French text ---------------------------------------------------------------------------


def test_describe_plain_dates():
    config = make_config()
    result = {
        "recyclables": [
            Collection("recyclables", date(2026, 12, 1)),
            Collection("recyclables", date(2026, 12, 15)),
        ]
    }
    text = describe_collections_fr(config, result, today=date(2026, 11, 20))
    assert text == "Bac jaune (emballages et papiers) : mardi 1er décembre, puis mardi 15 décembre."


def test_describe_today_tomorrow_and_next_year():
    config = make_config()
    result = next_collections(config, "lun_jeu", date(2026, 12, 31), 2, ["ordures_menageres"])
    assert describe_collections_fr(config, result, date(2026, 12, 31)) == (
        "Bac gris (ordures ménagères) : aujourd'hui, jeudi 31 décembre, puis lundi 4 janvier 2027."
    )
    assert describe_collections_fr(config, result, date(2026, 12, 30)).startswith(
        "Bac gris (ordures ménagères) : demain, jeudi 31 décembre, puis"
    )


def test_describe_shift_note():
    config = make_config("shift_next_day")
    result = next_collections(config, "lun_jeu", date(2026, 5, 22), 2, ["ordures_menageres"])
    assert describe_collections_fr(config, result, date(2026, 5, 22)) == (
        "Bac gris (ordures ménagères) : collecte du lundi 25 mai décalée au mardi 26 mai "
        "(lundi de Pentecôte), puis jeudi 28 mai."
    )
    assert "décalée à demain, mardi 26 mai (lundi de Pentecôte)" in describe_collections_fr(
        config, result, date(2026, 5, 25)
    )
    maintained = make_config("maintained")
    result = next_collections(maintained, "lun_jeu", date(2027, 11, 1), 2, ["ordures_menageres"])
    assert describe_collections_fr(maintained, result, date(2027, 11, 1)) == (
        "Bac gris (ordures ménagères) : aujourd'hui, lundi 1er novembre, maintenue malgré le jour férié "
        "(Toussaint), puis jeudi 4 novembre."
    )
    moved = make_config("shift_next_day", EXCEPTIONS)
    result = next_collections(moved, "lun_jeu", date(2027, 3, 26), 1, ["ordures_menageres"])
    assert describe_collections_fr(moved, result, date(2027, 3, 26)) == (
        "Bac gris (ordures ménagères) : collecte du lundi 29 mars avancée à demain, samedi 27 mars (Pâques)."
    )


def test_describe_no_collection_and_season():
    config = make_config()
    result = next_collections(config, "sans_verre", date(2027, 12, 1), 2, ["verre", "recyclables"])
    assert describe_collections_fr(config, result, date(2027, 12, 1), sector="sans_verre") == (
        "Verre : pas de collecte en porte-à-porte dans votre secteur. "
        "Déposez le verre aux bornes de la place.\n"
        "Bac jaune (emballages et papiers) : pas de collecte en porte-à-porte dans votre secteur."
    )
    assert describe_collections_fr(config, result, date(2027, 12, 1)).startswith(
        "Verre : pas de collecte prévue dans les prochains mois."
    )
    season = next_collections(config, "lun_jeu", date(2027, 12, 1), 2, ["dechets_verts"])
    assert describe_collections_fr(config, season, date(2027, 12, 1), sector="lun_jeu") == (
        "Déchets verts : collecte de saison (du 15 mars au 30 novembre), "
        "reprise lundi 20 mars 2028, puis lundi 27 mars 2028."
    )
    in_season = next_collections(config, "lun_jeu", date(2027, 6, 1), 1, ["dechets_verts"])
    assert describe_collections_fr(config, in_season, date(2027, 6, 1), sector="lun_jeu") == (
        "Déchets verts : lundi 7 juin."
    )

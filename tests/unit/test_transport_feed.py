"""The school transport feed (GTFS, read with gtfs-kit) and its content file: loading from a
folder or a .zip, service days that follow calendar.txt, calendar_dates.txt (holidays of the
zone, public holidays) and Wednesdays, and French errors for a broken feed or content file."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date, time
from pathlib import Path

import pytest

from actions import check_all_content
from core.content import ContentError
from transport.config import DEFAULT_TRANSPORT_FILE, TransportConfigError, load_transport_config
from transport.feed import DEFAULT_GTFS_PATH, FeedError, gtfs_path, load_feed
from transport.timetable import (
    day_service,
    describe_passages_fr,
    next_service_day,
    passages_at,
    school_trips,
    why_no_bus,
)

FEED = load_feed(DEFAULT_GTFS_PATH)
CONFIG = load_transport_config(DEFAULT_TRANSPORT_FILE)
TODAY = date(2026, 12, 1)


def copy_feed(tmp_path: Path) -> Path:
    target = tmp_path / "gtfs"
    shutil.copytree(DEFAULT_GTFS_PATH, target)
    return target


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ---- loading ----------------------------------------------------------------------------------


def test_the_demo_feed_has_its_lines_stops_and_school_year():
    assert {r.short_name for r in FEED.routes.values()} == {"S1", "S2", "S3", "S4"}
    assert FEED.stops["GARE"].name == "Gare"
    assert (FEED.first_day, FEED.last_day) == (date(2026, 9, 1), date(2027, 7, 2))
    first = FEED.trips["S1_LMJV_AM"]
    assert [p.stop_id for p in first][0] == "ESSARTS" and first[-1].stop_id == "COLLEGE"
    assert first[0].at == time(7, 20) and first[-1].at == time(7, 47)


def test_a_zip_feed_reads_the_same(tmp_path):
    archive = tmp_path / "gtfs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in DEFAULT_GTFS_PATH.glob("*.txt"):
            zf.write(path, path.name)
    feed = load_feed(archive)
    assert feed.services_by_date == FEED.services_by_date
    assert feed.trips == FEED.trips


def test_the_path_comes_from_gru_gtfs_path(monkeypatch, tmp_path):
    monkeypatch.setenv("GRU_GTFS_PATH", str(tmp_path / "feed.zip"))
    assert gtfs_path() == tmp_path / "feed.zip"
    monkeypatch.delenv("GRU_GTFS_PATH")
    assert gtfs_path() == DEFAULT_GTFS_PATH


# ---- calendars: weekdays, Wednesdays, holidays -----------------------------------------------


def test_wednesday_has_the_morning_and_the_midday_return_only():
    wednesday = date(2026, 12, 2)
    assert FEED.services_on(wednesday) == frozenset({"MER"})
    times = [(p.at, p.route_id) for p in passages_at(FEED, "GARE", wednesday)]
    assert times == [(time(7, 8), "S2"), (time(7, 42), "S1"), (time(7, 50), "S4"), (time(12, 15), "S1"),
                     (time(12, 48), "S2")]  # fmt: skip
    # The primary schools' line S3 does not run on Wednesdays.
    assert day_service(FEED, CONFIG, wednesday).routes == ("S1", "S2", "S4")


def test_a_school_day_has_the_evening_returns():
    thursday = date(2026, 12, 3)
    assert day_service(FEED, CONFIG, thursday).routes == ("S1", "S2", "S3", "S4")
    evening = [p.at for p in passages_at(FEED, "GARE", thursday, after=time(12, 0))]
    assert evening == [time(17, 10), time(17, 58)]


def test_holidays_of_the_zone_stop_the_buses_and_say_which():
    # Zone B winter holidays: from Saturday 20 February to Sunday 7 March 2027.
    for day in (date(2027, 2, 22), date(2027, 3, 3), date(2027, 3, 5)):
        service = day_service(FEED, CONFIG, day)
        assert not service.running and service.holiday.name == "Vacances d'hiver"
        assert "vacances d'hiver (du samedi 20 février 2027 au dimanche 7 mars 2027)" == why_no_bus(
            service, TODAY
        )
    assert day_service(FEED, CONFIG, date(2027, 3, 8)).running  # classes resume on Monday
    assert day_service(FEED, CONFIG, date(2027, 2, 19)).running  # the last school day before
    assert next_service_day(FEED, date(2026, 12, 19)) == date(2027, 1, 4)  # after Christmas


def test_public_holidays_weekends_and_summer():
    armistice = day_service(FEED, CONFIG, date(2026, 11, 11))
    assert not armistice.running and why_no_bus(armistice, TODAY) == "jour férié (Armistice 1918)"
    assert why_no_bus(day_service(FEED, CONFIG, date(2026, 12, 5)), TODAY) == "le week-end"
    ascension_bridge = day_service(FEED, CONFIG, date(2027, 5, 7))
    assert not ascension_bridge.running and ascension_bridge.holiday.name == "Pont de l'Ascension"
    summer = day_service(FEED, CONFIG, date(2027, 7, 12))
    assert not summer.running and summer.holiday.name == "Vacances d'été"


def test_every_holiday_weekday_of_zone_b_is_without_service():
    """The feed's calendar_dates.txt and the territory's school holidays say the same thing."""
    for holiday in CONFIG.zone_holidays():
        day = holiday.start
        while day <= min(holiday.end, FEED.last_day):
            assert FEED.services_on(day) == frozenset(), day
            day = date.fromordinal(day.toordinal() + 1)


def test_passages_leave_out_the_terminus_and_read_in_french():
    at_college = passages_at(FEED, "COLLEGE", date(2026, 12, 3))
    assert all(FEED.trips[p.trip_id][-1] is not p for p in at_college)
    assert describe_passages_fr(FEED, passages_at(FEED, "ESSARTS", date(2026, 12, 3))) == (
        "- 7 h 20 : ligne S1 vers Collège Jean Moulin"
    )


def test_the_trips_of_a_school_both_ways():
    college = CONFIG.school("college_jean_moulin")
    trips = school_trips(FEED, college, date(2026, 12, 3))
    expected = [(True, time(7, 47)), (True, time(8, 0)), (False, time(16, 10)), (False, time(17, 5))]
    assert [(t.outward, t.at) for t in trips] == expected
    assert trips[0].stops[0] == ("Les Essarts", time(7, 20))


# ---- broken feeds: French errors ----------------------------------------------------------------


def test_a_missing_path_is_reported_without_downloading_anything(tmp_path):
    with pytest.raises(FeedError) as error:
        load_feed(tmp_path / "nowhere")
    assert "Flux GTFS introuvable" in str(error.value) and "GRU_GTFS_PATH" in str(error.value)


def test_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "feed.zip"
    path.write_text("stop_id,stop_name\n", encoding="utf-8")
    with pytest.raises(FeedError, match="un dossier de fichiers .txt ou un fichier .zip est attendu"):
        load_feed(path)


def test_a_missing_table_is_named(tmp_path):
    folder = copy_feed(tmp_path)
    (folder / "stop_times.txt").unlink()
    with pytest.raises(FeedError) as error:
        load_feed(folder)
    assert "Flux GTFS incomplet" in str(error.value) and "stop_times.txt : fichier manquant ou vide" in str(
        error.value
    )


def test_an_unknown_stop_and_a_bad_time_give_the_file_and_the_line(tmp_path):
    folder = copy_feed(tmp_path)
    edit(
        folder, "stop_times.txt", "S1_LMJV_AM,07:26:00,07:26:00,CROIXBL", "S1_LMJV_AM,07:26:00,07:26:00,CROIX"
    )
    edit(folder, "stop_times.txt", "S1_LMJV_AM,07:34:00,07:34:00", "S1_LMJV_AM,07:34:00,7h34")
    with pytest.raises(FeedError) as error:
        load_feed(folder)
    message = str(error.value)
    assert "stop_times.txt, ligne 3 : arrêt « CROIX » absent(e) de stops.txt" in message
    assert "stop_times.txt, ligne 4 : heure de départ « 7h34 » invalide (format attendu HH:MM:SS)" in message


def test_a_trip_on_an_unknown_calendar(tmp_path):
    folder = copy_feed(tmp_path)
    edit(folder, "trips.txt", "S1,LMJV,S1_LMJV_AM", "S1,LUNDI,S1_LMJV_AM")
    with pytest.raises(FeedError, match="trips.txt, ligne 2 : calendrier « LUNDI » absent"):
        load_feed(folder)


def test_a_feed_without_any_day_of_service(tmp_path):
    folder = copy_feed(tmp_path)
    (folder / "calendar_dates.txt").unlink()
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "LMJV,0,0,0,0,0,0,0,20260901,20270702\nMER,0,0,0,0,0,0,0,20260901,20270702\n"
        "ECOLES,0,0,0,0,0,0,0,20260901,20270702\n",
        encoding="utf-8",
    )
    with pytest.raises(FeedError, match="aucun jour de service"):
        load_feed(folder)


def test_a_broken_feed_stops_the_start_with_the_french_report(monkeypatch, tmp_path):
    folder = copy_feed(tmp_path)
    (folder / "stops.txt").write_text("stop_id,stop_name\n", encoding="utf-8")
    monkeypatch.setenv("GRU_GTFS_PATH", str(folder))
    failed = [c for c in check_all_content() if c.error is not None]
    assert [c.label for c in failed] == ["transport scolaire, horaires GTFS"]
    assert isinstance(failed[0].error, ContentError) and "stops.txt : fichier manquant ou vide" in str(
        failed[0].error
    )


# ---- the content file -----------------------------------------------------------------------------


def content(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "transport.yml"
    text = DEFAULT_TRANSPORT_FILE.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_demo_content_is_zone_b_with_its_holidays():
    # The zone and the holidays are the territory's (territory.yml, school_holidays).
    assert CONFIG.zone == "B" and CONFIG.school_year == "2026-2027"
    winter = [h for h in CONFIG.zone_holidays() if h.name == "Vacances d'hiver"]
    assert [(h.start, h.end) for h in winter] == [(date(2027, 2, 20), date(2027, 3, 7))]
    assert CONFIG.holiday_on(date(2027, 2, 15)) is None  # zone A's and C's, not ours


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            'school_year: "2026-2027"',
            'zone: B\nschool_year: "2026-2027"',
            "« zone » : les vacances scolaires et la zone sont maintenant dans le fichier du territoire",
        ),
        (
            "stop_ids: [LYCEE]",
            "stop_ids: [LYCE]",
            "schools.1.stop_ids.0 (ligne 25) : arrêt « LYCE » absent du flux GTFS",
        ),
        (
            "service: scolaire",
            "service: transports",
            "service (ligne 16) : service « transports » absent du fichier",
        ),
        (
            "stop_ids: [FERRY]",
            "stop_ids: []",
            "schools.2.stop_ids (ligne 29) : pas assez d'éléments (au moins 1)",
        ),
    ],
)
def test_content_mistakes_are_reported_in_french(tmp_path, old, new, expected):
    with pytest.raises(TransportConfigError) as error:
        load_transport_config(content(tmp_path, old, new))
    assert expected in str(error.value)


def test_stops_with_the_same_name_are_answered_together(tmp_path):
    """A real feed has one « Gare » per direction: the citizen waiting there means both."""
    folder = copy_feed(tmp_path)
    edit(
        folder,
        "stops.txt",
        "GARE,Gare,47.8995,1.9133,0",
        "GARE,Gare,47.8995,1.9133,0\nGARE_R,Gare,47.8996,1.9134,0",
    )
    edit(folder, "stop_times.txt", "S1_LMJV_PM,17:10:00,17:10:00,GARE", "S1_LMJV_PM,17:10:00,17:10:00,GARE_R")
    feed = load_feed(folder)
    assert feed.siblings("GARE") == ("GARE", "GARE_R")
    evening = [(p.at, p.stop_id) for p in passages_at(feed, "GARE", date(2026, 12, 3), after=time(12, 0))]
    assert evening == [(time(17, 10), "GARE_R"), (time(17, 58), "GARE")]

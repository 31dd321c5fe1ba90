"""Booking engine (booking/engine.py) on a fresh, seeded SQLite database per test.

The tests' own booking file tests/fixtures/booking.yml (not the demo's):
- villebrune-mairie, 2 stations: Mon/Tue 08:45-11:45 + 13:45-16:45, Wed 08:45-11:45,
  Thu 08:45-11:45 + 13:45-18:30, Fri 08:45-11:45 + 13:45-16:30, Sat 09:00-11:45;
- villebrune-coteaux, 1 station: Tue 14:00-17:00, Thu 09:00-12:00;
- closures 2026-12-24 and 2026-12-31 (all sites), 2027-01-07 (coteaux only).

`now` is Monday 2026-11-30 08:00: with 60 minutes' notice the first start is 09:00,
and the 60-day booking window ends on Friday 2027-01-29. Times are naive Paris wall-clock.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta, timezone

import pytest
import yaml
from sqlalchemy import func, select

from booking import engine
from booking.config import DEFAULT_BOOKING_FILE as DEMO_BOOKING
from booking.config import BookingConfig, BookingLimits, load_booking_config, load_bulky_booking_config
from booking.engine import (
    ApplicationAlreadyBooked,
    AppointmentNotFound,
    SlotNotOffered,
    SlotTaken,
)
from booking.models import (
    ApplicationClaim,
    Appointment,
    Closure,
    ExtraOpening,
    Site,
    SlotClaim,
    WeeklySchedule,
)
from booking.seed import prepare_database, seed
from core.db import session_scope
from tests.unit.conftest import BOOKING_FILE

NOW = datetime(2026, 11, 30, 8, 0)  # a Monday
MAIRIE = "villebrune-mairie"
COTEAUX = "villebrune-coteaux"
BOTH = (MAIRIE, COTEAUX)
NO_CAPS = {"per_sender": 50, "per_surname_and_site": 50, "per_address": 50}
REFERENCE = re.compile(r"^RDV-[A-Z0-9]{6}$")
CLOSED = "la mairie ne reçoit pas ce jour-là"


# ---- helpers ---------------------------------------------------------------------------


def day(text: str) -> date:
    return date.fromisoformat(text)


def at(on: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{on}T{hhmm}")


def quarter_hours(first: str, last: str) -> list[str]:
    """Every quarter hour from `first` to `last`, both included: ["09:00", "09:15", ...]."""
    start, end = datetime.strptime(first, "%H:%M"), datetime.strptime(last, "%H:%M")
    found = []
    while start <= end:
        found.append(f"{start:%H:%M}")
        start += timedelta(minutes=15)
    return found


def hours(slots) -> list[str]:
    return [f"{slot.start:%H:%M}" for slot in slots]


def slots(url, sites, first: str, last: str | None = None, duration: int = 30, **options):
    options.setdefault("now", NOW)
    return engine.available_slots(list(sites), day(first), day(last or first), duration, url=url, **options)


def book(
    url,
    site: str,
    start: datetime,
    *,
    reason: str = "CNI",
    people: int = 1,
    duration: int | None = None,
    surname: str = "Dupont",
    channel: str = "rest",
    sender_id: str = "alice",
    application_ids=(),
    now: datetime = NOW,
    config: BookingConfig | None = None,
) -> engine.AppointmentView:
    if duration is None:
        duration = engine.duration_for(reason, people)
    if config is None:  # the tests of the calendar book many times as one citizen
        config = file_config(limits=NO_CAPS)
    return engine.book(
        engine.Slot(site, start, duration),
        reason=reason,
        people=people,
        surname=surname,
        channel=channel,
        sender_id=sender_id,
        application_ids=application_ids,
        now=now,
        url=url,
        config=config,
    )


def add_extra(url, site: str, on: str, start: str, end: str, stations: int | None = None) -> None:
    with session_scope(url, write=True) as session:
        session.add(
            ExtraOpening(
                site_id=site,
                day=day(on),
                start_time=time.fromisoformat(start),
                end_time=time.fromisoformat(end),
                stations=stations,
            )
        )


def add_closure(url, site: str | None, on: str, reason: str) -> None:
    with session_scope(url, write=True) as session:
        session.add(Closure(site_id=site, day=day(on), reason=reason, source="agent"))


def rows(url, model) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def claims_of(url, reference: str) -> list[tuple[str, int, datetime]]:
    with session_scope(url) as session:
        return [
            tuple(row)
            for row in session.execute(
                select(SlotClaim.site_id, SlotClaim.station, SlotClaim.slot_start)
                .join(Appointment, Appointment.id == SlotClaim.appointment_id)
                .where(Appointment.reference == reference)
                .order_by(SlotClaim.slot_start)
            ).all()
        ]


def stored(url, reference: str) -> Appointment:
    with session_scope(url) as session:
        return session.execute(select(Appointment).where(Appointment.reference == reference)).scalar_one()


def file_config(**changes) -> BookingConfig:
    """The fixture booking file with top-level keys replaced (validated like the real file)."""
    raw = yaml.safe_load(BOOKING_FILE.read_text(encoding="utf-8"))
    raw.update(changes)
    return BookingConfig.parse_obj(raw)


pytestmark = pytest.mark.usefixtures("fixture_files")


@pytest.fixture
def url(db_url) -> str:
    """A fresh booking database seeded from the fixture files (tests/unit/conftest.py)."""
    return db_url


# ---- small helpers of the engine -----------------------------------------------------


def test_the_booking_file_is_the_one_these_tests_describe():
    config = load_booking_config()
    assert [site.id for site in config.sites] == [MAIRIE, COTEAUX]
    assert (config.slot_step_minutes, config.minutes_per_document) == (15, 15)
    assert (config.min_notice_minutes, config.booking_window_days) == (60, 60)


@pytest.mark.parametrize(
    "reason, people, documents, minutes",
    [
        ("CNI", 1, 1, 15),
        ("PASSPORT", 1, 1, 15),
        ("CNI", 3, 3, 45),
        ("PASSPORT", 2, 2, 30),
        ("CNI-PASSPORT", 1, 2, 30),
        ("CNI-PASSPORT", 2, 4, 60),
    ],
)
def test_documents_and_duration(reason, people, documents, minutes):
    assert engine.documents_needed(reason, people) == documents
    assert engine.duration_for(reason, people) == minutes


def test_duration_follows_the_configured_minutes_per_document():
    config = file_config(minutes_per_document=30)
    assert engine.duration_for("CNI-PASSPORT", 2, config) == 120


@pytest.mark.parametrize(
    "written, expected",
    [
        ("Lefèvre", "lefevre"),
        ("LEFEVRE", "lefevre"),
        ("Da Silva", "dasilva"),
        ("da-silva", "dasilva"),
        ("  DASILVA ", "dasilva"),
        ("O'Connor", "oconnor"),
        ("Müller-Łódź", "mullerlodz"),
        ("Strauß", "strauss"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_surname(written, expected):
    assert engine.normalise_surname(written) == expected


def test_slot_key_round_trip():
    slot = engine.Slot(MAIRIE, at("2026-12-07", "09:45"), 30)
    assert slot.key == "villebrune-mairie@2026-12-07T09:45"
    assert engine.Slot.from_key(slot.key, 30) == slot
    assert engine.Slot.from_key("villebrune-coteaux@2027-01-05T14:00", 60) == engine.Slot(
        COTEAUX, at("2027-01-05", "14:00"), 60
    )
    with pytest.raises(ValueError):
        engine.Slot.from_key("villebrune-mairie@lundi 9h", 30)


def test_local_now_is_naive_paris_time_to_the_minute():
    assert engine.local_now(datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)) == NOW  # UTC+1 in winter
    assert engine.local_now(datetime(2026, 7, 1, 7, 0, tzinfo=timezone.utc)) == datetime(2026, 7, 1, 9, 0)
    assert engine.local_now(datetime(2026, 11, 30, 8, 0, 59, 999)) == NOW
    assert engine.local_now().tzinfo is None


def test_new_reference_shape():
    references = {engine.new_reference() for _ in range(200)}
    assert all(REFERENCE.match(r) and not set(r[4:]) & set("O0I1") for r in references)
    assert len(references) == 200


# ---- available_slots: the weekly grid --------------------------------------------------


def test_weekly_grid_of_a_monday_for_30_minutes(url):
    found = slots(url, [MAIRIE], "2026-12-07")
    assert hours(found) == quarter_hours("08:45", "11:15") + quarter_hours("13:45", "16:15")
    assert {(s.site_id, s.duration_minutes, s.start.date()) for s in found} == {
        (MAIRIE, 30, day("2026-12-07"))
    }


def test_last_start_leaves_room_for_the_duration(url):
    assert hours(slots(url, [MAIRIE], "2026-12-07", duration=15)) == quarter_hours(
        "08:45", "11:30"
    ) + quarter_hours("13:45", "16:30")
    assert hours(slots(url, [MAIRIE], "2026-12-07", duration=60)) == quarter_hours(
        "08:45", "10:45"
    ) + quarter_hours("13:45", "15:45")
    # Thursday afternoon runs to 18:30, Friday afternoon to 16:30, Wednesday has no afternoon.
    assert hours(slots(url, [MAIRIE], "2026-12-03"))[-1] == "18:00"
    assert hours(slots(url, [MAIRIE], "2026-12-04"))[-1] == "16:00"
    assert hours(slots(url, [MAIRIE], "2026-12-02")) == quarter_hours("08:45", "11:15")
    assert hours(slots(url, [MAIRIE], "2026-12-05")) == quarter_hours("09:00", "11:15")  # Saturday


def test_coteaux_opens_tuesday_afternoon_and_thursday_morning_only(url):
    found = slots(url, [COTEAUX], "2026-12-07", "2026-12-13")
    tuesday = [s for s in found if s.start.date() == day("2026-12-08")]
    thursday = [s for s in found if s.start.date() == day("2026-12-10")]
    assert hours(tuesday) == quarter_hours("14:00", "16:30")
    assert hours(thursday) == quarter_hours("09:00", "11:30")
    assert len(found) == len(tuesday) + len(thursday)


def test_sunday_is_closed(url):
    assert slots(url, BOTH, "2026-12-06") == []
    assert slots(url, [COTEAUX], "2026-12-07") == []  # and the annex does not open on Mondays


def test_min_notice_counts_from_now(url):
    assert hours(slots(url, [MAIRIE], "2026-11-30"))[:2] == ["09:00", "09:15"]  # 08:45 is too soon
    assert hours(slots(url, [MAIRIE], "2026-11-30", now=datetime(2026, 11, 30, 8, 1)))[0] == "09:15"
    assert hours(slots(url, [MAIRIE], "2026-11-30", now=datetime(2026, 11, 30, 10, 50)))[0] == "13:45"
    # From 15:30 the first start would be 16:30, but 16:30 + 30 minutes is past 16:45.
    assert slots(url, [MAIRIE], "2026-11-30", now=datetime(2026, 11, 30, 15, 30)) == []


def test_never_in_the_past(url):
    now = datetime(2026, 12, 1, 15, 0)  # Tuesday afternoon
    found = slots(url, BOTH, "2026-11-23", "2026-12-01", now=now)
    assert [s.key for s in found] == [
        "villebrune-coteaux@2026-12-01T16:00",
        "villebrune-mairie@2026-12-01T16:00",
        "villebrune-coteaux@2026-12-01T16:15",
        "villebrune-mairie@2026-12-01T16:15",
        "villebrune-coteaux@2026-12-01T16:30",
    ]
    assert slots(url, BOTH, "2026-11-23", "2026-11-30", now=now) == []


def test_booking_window_is_cut_after_60_days(url):
    found = slots(url, [MAIRIE], "2027-01-25", "2027-02-10")
    assert max(s.start for s in found) == at("2027-01-29", "16:00")  # Friday, last day of the window
    assert slots(url, [MAIRIE], "2027-01-30", "2027-02-10") == []
    # The window moves with `now`: seen from Tuesday, Saturday 30 January is bookable.
    later = slots(url, [MAIRIE], "2027-01-30", now=datetime(2026, 12, 1, 8, 0))
    assert hours(later) == quarter_hours("09:00", "11:15")


def test_public_holidays_and_configured_closures(url):
    found = slots(url, BOTH, "2026-12-21", "2027-01-08")
    days_of = {
        site: sorted({s.start.date().isoformat() for s in found if s.site_id == site}) for site in BOTH
    }
    assert days_of[MAIRIE] == [
        "2026-12-21",
        "2026-12-22",
        "2026-12-23",
        # 24: veille de Noël (all sites); 25: Noël (Friday); 27: Sunday
        "2026-12-26",
        "2026-12-28",
        "2026-12-29",
        "2026-12-30",
        # 31: veille du jour de l'An; 1 January: jour de l'An; 3: Sunday
        "2027-01-02",
        "2027-01-04",
        "2027-01-05",
        "2027-01-06",
        "2027-01-07",  # the annex's training day does not close the town hall
        "2027-01-08",
    ]
    assert days_of[COTEAUX] == ["2026-12-22", "2026-12-29", "2027-01-05"]  # not Thu 24, 31, 7


def test_agent_closure_of_one_site(url):
    add_closure(url, MAIRIE, "2026-12-08", "inventaire")
    assert slots(url, [MAIRIE], "2026-12-08") == []
    assert hours(slots(url, [COTEAUX], "2026-12-08")) == quarter_hours("14:00", "16:30")
    assert engine.closed_reason(MAIRIE, day("2026-12-08"), url=url) == "inventaire"


def test_time_from_and_time_to_filter_the_start(url):
    found = slots(url, [MAIRIE], "2026-12-07", time_from=time(10, 0), time_to=time(14, 0))
    assert hours(found) == quarter_hours("10:00", "11:15") + ["13:45"]  # time_to bounds the start only
    assert hours(slots(url, [MAIRIE], "2026-12-07", time_from=time(16, 0))) == ["16:00", "16:15"]
    assert hours(slots(url, [MAIRIE], "2026-12-07", time_to=time(9, 0))) == ["08:45"]


def test_preferred_time_orders_each_day_by_distance(url):
    found = slots(url, [MAIRIE], "2026-12-07", "2026-12-08", preferred_time=time(14, 0))
    assert hours(found[:6]) == ["14:00", "13:45", "14:15", "14:30", "14:45", "15:00"]
    assert found[21].start == at("2026-12-07", "08:45")  # farthest from 14:00 on the first day
    assert [s.start.date() for s in found] == sorted(s.start.date() for s in found)  # days first
    assert found[22].start == at("2026-12-08", "14:00")
    assert sorted(found, key=lambda s: s.start) == slots(url, [MAIRIE], "2026-12-07", "2026-12-08")


def test_offset_and_limit_page_through_the_slots(url):
    everything = slots(url, BOTH, "2026-12-07", "2026-12-11")
    assert len(everything) == 22 + 22 + 11 + 11 + 29 + 11 + 21  # Mon..Fri mairie, Tue+Thu coteaux
    assert slots(url, BOTH, "2026-12-07", "2026-12-11", limit=5) == everything[:5]
    assert slots(url, BOTH, "2026-12-07", "2026-12-11", offset=5, limit=5) == everything[5:10]
    assert slots(url, BOTH, "2026-12-07", "2026-12-11", offset=120) == everything[120:]
    assert slots(url, BOTH, "2026-12-07", "2026-12-11", offset=500, limit=5) == []


def test_several_sites_are_merged_in_time_order(url):
    found = slots(url, BOTH, "2026-12-08", time_from=time(13, 0))
    assert [s.key for s in found[:5]] == [
        "villebrune-mairie@2026-12-08T13:45",
        "villebrune-coteaux@2026-12-08T14:00",
        "villebrune-mairie@2026-12-08T14:00",
        "villebrune-coteaux@2026-12-08T14:15",
        "villebrune-mairie@2026-12-08T14:15",
    ]
    assert [s.key for s in found[-3:]] == [
        "villebrune-coteaux@2026-12-08T16:15",
        "villebrune-mairie@2026-12-08T16:15",
        "villebrune-coteaux@2026-12-08T16:30",
    ]
    assert slots(url, ["nowhere"], "2026-12-08") == []


# ---- available_slots: stations and claims --------------------------------------------


def test_a_two_station_slot_is_offered_until_both_stations_are_taken(url):
    ten = at("2026-12-07", "10:00")
    book(url, MAIRIE, ten, people=2)  # 30 minutes on station 1
    assert "10:00" in hours(slots(url, [MAIRIE], "2026-12-07"))
    book(url, MAIRIE, ten, people=2, sender_id="bob")  # station 2
    morning = hours(slots(url, [MAIRIE], "2026-12-07", time_to=time(12, 0)))
    assert morning == quarter_hours("08:45", "09:30") + quarter_hours("10:30", "11:15")
    with pytest.raises(SlotTaken):
        book(url, MAIRIE, ten, people=2, sender_id="carol")


def test_a_30_minute_booking_blocks_overlapping_starts_on_its_station_only(url):
    book(url, MAIRIE, at("2026-12-07", "10:00"), people=2)  # station 1: 10:00 and 10:15
    quarter = hours(slots(url, [MAIRIE], "2026-12-07", duration=15, time_to=time(12, 0)))
    assert quarter == quarter_hours("08:45", "11:30")  # station 2 is free all morning
    book(url, MAIRIE, at("2026-12-07", "10:00"), sender_id="bob")  # station 2: 10:00 only
    quarter = hours(slots(url, [MAIRIE], "2026-12-07", duration=15, time_to=time(12, 0)))
    assert quarter == quarter_hours("08:45", "09:45") + quarter_hours("10:15", "11:30")
    half = hours(slots(url, [MAIRIE], "2026-12-07", time_to=time(12, 0)))
    # 09:45 and 10:00 need 10:00 on some station; 10:15 fits station 2 (10:15, 10:30).
    assert half == quarter_hours("08:45", "09:30") + quarter_hours("10:15", "11:15")


def test_a_booking_on_the_one_station_annex_blocks_every_overlapping_start(url):
    book(url, COTEAUX, at("2026-12-03", "09:30"), people=2)
    assert hours(slots(url, [COTEAUX], "2026-12-03", duration=15)) == ["09:00", "09:15"] + quarter_hours(
        "10:00", "11:45"
    )
    assert hours(slots(url, [COTEAUX], "2026-12-03")) == ["09:00"] + quarter_hours("10:00", "11:30")
    assert hours(slots(url, [COTEAUX], "2026-12-03", duration=60)) == quarter_hours("10:00", "11:00")
    with pytest.raises(SlotTaken):
        book(url, COTEAUX, at("2026-12-03", "09:15"), people=2, sender_id="bob")  # overlaps 09:30


def test_claims_of_one_site_do_not_touch_the_other(url):
    book(url, COTEAUX, at("2026-12-08", "14:00"), people=2)
    assert hours(slots(url, [COTEAUX], "2026-12-08"))[0] == "14:30"
    assert "14:00" in hours(slots(url, [MAIRIE], "2026-12-08"))


# ---- available_slots: agents' extra openings ------------------------------------------


def test_extra_opening_on_a_sunday_with_its_own_stations(url):
    add_extra(url, MAIRIE, "2026-12-06", "10:00", "12:00", stations=1)
    assert hours(slots(url, [MAIRIE], "2026-12-06")) == quarter_hours("10:00", "11:30")
    assert engine.closed_reason(MAIRIE, day("2026-12-06"), url=url) is None
    book(url, MAIRIE, at("2026-12-06", "10:00"), people=2)
    assert hours(slots(url, [MAIRIE], "2026-12-06")) == quarter_hours("10:30", "11:30")
    with pytest.raises(SlotTaken):  # one station only, although the town hall has two
        book(url, MAIRIE, at("2026-12-06", "10:00"), people=2, sender_id="bob")
    assert slots(url, [COTEAUX], "2026-12-06") == []


def test_extra_opening_without_stations_uses_the_sites_stations(url):
    add_extra(url, MAIRIE, "2026-12-06", "10:00", "11:00")
    book(url, MAIRIE, at("2026-12-06", "10:00"))
    book(url, MAIRIE, at("2026-12-06", "10:00"), sender_id="bob")
    with pytest.raises(SlotTaken):
        book(url, MAIRIE, at("2026-12-06", "10:00"), sender_id="carol")
    assert hours(slots(url, [MAIRIE], "2026-12-06", duration=15)) == ["10:15", "10:30", "10:45"]


def test_extra_opening_overlapping_the_weekly_hours_gives_no_duplicate(url):
    add_extra(url, MAIRIE, "2026-12-07", "11:00", "12:30")
    found = slots(url, [MAIRIE], "2026-12-07")
    assert hours(found) == quarter_hours("08:45", "12:00") + quarter_hours("13:45", "16:15")
    assert len({s.key for s in found}) == len(found)
    book(url, MAIRIE, at("2026-12-07", "11:30"))  # a 30-minute slot inside the extra opening


def test_extra_opening_off_the_grid_starts_on_the_next_quarter(url):
    add_extra(url, COTEAUX, "2026-12-06", "09:10", "10:00")
    assert hours(slots(url, [COTEAUX], "2026-12-06", duration=15)) == ["09:15", "09:30", "09:45"]
    assert hours(slots(url, [COTEAUX], "2026-12-06")) == ["09:15", "09:30"]
    with pytest.raises(SlotNotOffered):
        book(url, COTEAUX, at("2026-12-06", "09:10"))
    assert book(url, COTEAUX, at("2026-12-06", "09:15")).start == at("2026-12-06", "09:15")


def test_extra_opening_does_not_reopen_a_holiday_or_a_closure(url):
    add_extra(url, MAIRIE, "2026-12-25", "09:00", "12:00")
    add_extra(url, MAIRIE, "2026-12-24", "09:00", "12:00")
    assert slots(url, [MAIRIE], "2026-12-24", "2026-12-25") == []
    with pytest.raises(SlotNotOffered):
        book(url, MAIRIE, at("2026-12-25", "09:00"))


# ---- first_available and closed_reason --------------------------------------------------


def test_first_available(url):
    first = engine.first_available(BOTH, 30, after=day("2026-11-30"), now=NOW, url=url)
    assert first == engine.Slot(MAIRIE, at("2026-11-30", "09:00"), 30)
    after_christmas = engine.first_available([COTEAUX], 30, after=day("2026-12-24"), now=NOW, url=url)
    assert after_christmas.key == "villebrune-coteaux@2026-12-29T14:00"
    training = engine.first_available([COTEAUX], 60, after=day("2027-01-06"), now=NOW, url=url)
    assert training.key == "villebrune-coteaux@2027-01-12T14:00"  # Thursday 7 is closed
    last_day = engine.first_available([MAIRIE], 30, after=day("2027-01-29"), now=NOW, url=url)
    assert last_day.key == "villebrune-mairie@2027-01-29T08:45"
    assert engine.first_available([MAIRIE], 30, after=day("2027-01-30"), now=NOW, url=url) is None


def test_first_available_skips_taken_slots(url):
    book(url, COTEAUX, at("2026-12-01", "14:00"), people=2)
    first = engine.first_available([COTEAUX], 30, after=day("2026-11-30"), now=NOW, url=url)
    assert first.key == "villebrune-coteaux@2026-12-01T14:30"


@pytest.mark.parametrize(
    "site, on, reason",
    [
        (MAIRIE, "2026-12-25", "jour férié (Noël)"),
        (COTEAUX, "2027-01-01", "jour férié (jour de l'An)"),
        (MAIRIE, "2026-11-11", "jour férié (Armistice 1918)"),
        (MAIRIE, "2026-12-24", "veille de Noël"),
        (COTEAUX, "2026-12-24", "veille de Noël"),
        (MAIRIE, "2026-12-31", "veille du jour de l'An"),
        (COTEAUX, "2027-01-07", "formation des agents"),
        (MAIRIE, "2027-01-07", None),
        (MAIRIE, "2026-12-06", CLOSED),  # Sunday
        (COTEAUX, "2026-12-07", CLOSED),  # the annex is closed on Mondays
        ("nowhere", "2026-12-07", CLOSED),
        (MAIRIE, "2026-12-07", None),
        (COTEAUX, "2026-12-08", None),
    ],
)
def test_closed_reason(url, site, on, reason):
    assert engine.closed_reason(site, day(on), url=url) == reason


# ---- book ------------------------------------------------------------------------------


def test_book_returns_the_appointment(url):
    view = book(
        url,
        MAIRIE,
        at("2026-12-07", "09:00"),
        reason="CNI-PASSPORT",
        people=2,
        surname=" Lefèvre ",
        application_ids=["ab12345678", "CD12345678"],
        channel="telegram",
        sender_id="42",
    )
    assert REFERENCE.match(view.reference)
    assert (view.duration_minutes, view.documents, view.people) == (60, 4, 2)
    assert view == engine.AppointmentView(
        reference=view.reference,
        site_id=MAIRIE,
        site_name="Mairie de Villebrune",
        site_address="1 place de la Mairie, 45990 Villebrune",
        start=at("2026-12-07", "09:00"),
        duration_minutes=60,
        reason="CNI-PASSPORT",
        people=2,
        documents=4,
        application_ids=("AB12345678", "CD12345678"),
        status="booked",
        needs_agent_check=False,
        channel="telegram",
        surname="Lefèvre",
    )
    appt = stored(url, view.reference)
    assert (appt.station, appt.created_at, appt.updated_at, appt.cancelled_at) == (1, NOW, NOW, None)
    assert claims_of(url, view.reference) == [
        (MAIRIE, 1, at("2026-12-07", hhmm)) for hhmm in ("09:00", "09:15", "09:30", "09:45")
    ]
    assert rows(url, ApplicationClaim) == 2


def test_book_keeps_email_and_agent_check(url):
    slot = engine.Slot(COTEAUX, at("2026-12-03", "09:00"), 15)
    view = engine.book(
        slot,
        reason="PASSPORT",
        people=1,
        surname="Martin",
        channel="rest",
        sender_id="alice",
        email="martin@example.org",
        needs_agent_check=True,
        now=NOW,
        url=url,
    )
    assert view.needs_agent_check is True and view.application_ids == ()
    assert stored(url, view.reference).email == "martin@example.org"


def test_book_gives_each_booking_its_own_reference(url):
    first = book(url, MAIRIE, at("2026-12-07", "09:00"))
    second = book(url, MAIRIE, at("2026-12-07", "09:00"), sender_id="bob")
    assert first.reference != second.reference
    assert (stored(url, first.reference).station, stored(url, second.reference).station) == (1, 2)


def test_book_at_the_exact_notice_and_on_the_last_day_of_the_window(url):
    assert book(url, MAIRIE, at("2026-11-30", "09:00")).start == at("2026-11-30", "09:00")
    assert book(url, MAIRIE, at("2027-01-29", "16:15")).start == at("2027-01-29", "16:15")


@pytest.mark.parametrize(
    "site, start, why",
    [
        (MAIRIE, "2026-11-27T09:00", "past"),
        (MAIRIE, "2026-11-30T08:45", "within the 60 minutes' notice"),
        (MAIRIE, "2026-11-30T08:00", "now"),
        (MAIRIE, "2027-01-30T09:00", "first day beyond the window"),
        (MAIRIE, "2027-02-01T09:00", "beyond the window"),
        (MAIRIE, "2026-12-07T12:00", "lunch break"),
        (MAIRIE, "2026-12-07T11:30", "overruns the morning (30 minutes until 12:00 > 11:45)"),
        (MAIRIE, "2026-12-07T08:30", "before opening"),
        (MAIRIE, "2026-12-07T16:30", "overruns the afternoon"),
        (MAIRIE, "2026-12-06T10:00", "Sunday"),
        (MAIRIE, "2026-12-25T09:00", "Noël"),
        (MAIRIE, "2027-01-01T09:00", "jour de l'An"),
        (MAIRIE, "2026-12-24T09:00", "configured closure"),
        (COTEAUX, "2027-01-07T09:00", "closure of the annex"),
        (COTEAUX, "2026-12-07T10:00", "the annex is closed on Mondays"),
        (MAIRIE, "2026-12-07T09:10", "off the grid"),
        (MAIRIE, "2026-12-07T09:05", "off the grid"),
        ("nowhere", "2026-12-07T09:00", "unknown site"),
    ],
)
def test_book_refuses_a_slot_that_is_not_offered(url, site, start, why):
    with pytest.raises(SlotNotOffered):
        book(url, site, datetime.fromisoformat(start), people=2)
    assert rows(url, Appointment) == 0 and rows(url, SlotClaim) == 0


def test_the_annex_closure_does_not_close_the_town_hall(url):
    assert book(url, MAIRIE, at("2027-01-07", "09:00")).site_id == MAIRIE


@pytest.mark.parametrize(
    "reason, people, duration",
    [
        ("CNI", 1, 30),
        ("CNI", 2, 15),
        ("CNI-PASSPORT", 2, 30),
        ("PASSPORT", 1, 20),
        ("VISA", 1, 15),
        ("cni", 1, 15),
        ("", 1, 15),
    ],
)
def test_book_rejects_a_wrong_duration_or_an_unknown_reason(url, reason, people, duration):
    with pytest.raises(ValueError):
        book(url, MAIRIE, at("2026-12-07", "09:00"), reason=reason, people=people, duration=duration)
    assert rows(url, Appointment) == 0


def test_book_refuses_an_application_id_that_already_holds_an_appointment(url):
    first = book(url, MAIRIE, at("2026-12-07", "09:00"), application_ids=["ab12345678"])
    with pytest.raises(ApplicationAlreadyBooked) as caught:
        book(url, COTEAUX, at("2026-12-08", "14:00"), people=2, application_ids=["XY00000000", "AB12345678"])
    assert caught.value.application_id == "AB12345678"
    assert rows(url, Appointment) == 1 and rows(url, SlotClaim) == 1
    assert hours(slots(url, [COTEAUX], "2026-12-08"))[0] == "14:00"  # nothing was held
    # The id is free again once its appointment is cancelled.
    engine.cancel(first.reference, surname="Dupont", now=NOW, url=url)
    again = book(url, COTEAUX, at("2026-12-08", "14:00"), application_ids=["Ab12345678"])
    assert again.application_ids == ("AB12345678",)


def test_book_checks_the_application_id_before_taking_a_station(url):
    book(url, COTEAUX, at("2026-12-03", "09:00"), application_ids=["AB12345678"])
    with pytest.raises(ApplicationAlreadyBooked):
        book(url, MAIRIE, at("2026-12-03", "09:00"), application_ids=["AB12345678"], sender_id="bob")
    assert rows(url, Appointment) == 1


def test_book_accepts_an_aware_now(url):
    now = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)  # 08:00 in Paris
    assert book(url, MAIRIE, at("2026-11-30", "09:00"), now=now).start == at("2026-11-30", "09:00")
    with pytest.raises(SlotNotOffered):
        book(url, MAIRIE, at("2026-11-30", "08:45"), now=now)


# ---- cancel ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "booked_as, given",
    [
        ("Lefèvre", "LEFEVRE"),
        ("LEFEVRE", "lefèvre"),
        ("Da Silva", "dasilva"),
        ("Da Silva", "DA-SILVA"),
        ("Martin-Dupré", "martin dupre"),
        ("Dupont", " dupont "),
    ],
)
def test_cancel_by_surname(url, booked_as, given):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"), surname=booked_as)
    cancelled = engine.cancel(view.reference, surname=given, now=NOW, url=url)
    assert (cancelled.reference, cancelled.status) == (view.reference, "cancelled")


def test_cancel_frees_the_slot_and_the_application_ids(url):
    when = datetime(2026, 12, 1, 17, 30)
    view = book(url, COTEAUX, at("2026-12-03", "09:00"), people=2, application_ids=["AB12345678"])
    assert rows(url, SlotClaim) == 2 and rows(url, ApplicationClaim) == 1
    cancelled = engine.cancel(view.reference.lower(), surname="dupont", now=when, url=url)
    assert cancelled.status == "cancelled" and cancelled.start == view.start
    appt = stored(url, view.reference)
    assert (appt.status, appt.cancelled_at, appt.updated_at, appt.created_at) == (
        "cancelled",
        when,
        when,
        NOW,
    )
    assert rows(url, SlotClaim) == 0 and rows(url, ApplicationClaim) == 0
    assert hours(slots(url, [COTEAUX], "2026-12-03"))[0] == "09:00"
    assert engine.appointments_for_applications(["AB12345678"], url=url) == {"AB12345678": []}
    # The row stays for the agents.
    assert [a.status for a in engine.appointments_on(day("2026-12-03"), url=url)] == ["cancelled"]


def test_cancel_by_the_booking_sender_without_surname(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"), channel="telegram", sender_id="42")
    assert engine.cancel(view.reference, sender=("telegram", "42"), now=NOW, url=url).status == "cancelled"


def test_the_booking_sender_needs_no_surname_even_a_wrong_one(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"))
    cancelled = engine.cancel(view.reference, surname="Durand", sender=("rest", "alice"), now=NOW, url=url)
    assert cancelled.status == "cancelled"


@pytest.mark.parametrize(
    "surname, sender",
    [
        ("Durand", None),
        ("Dupond", None),
        ("", None),
        (None, None),
        (None, ("rest", "bob")),
        (None, ("telegram", "alice")),  # same sender id on another channel
        ("Durand", ("rest", "bob")),
    ],
)
def test_cancel_needs_the_surname_or_the_booking_sender(url, surname, sender):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"))
    with pytest.raises(AppointmentNotFound):
        engine.cancel(view.reference, surname=surname, sender=sender, now=NOW, url=url)
    assert stored(url, view.reference).status == "booked"
    assert rows(url, SlotClaim) == 1


def test_unknown_reference_and_wrong_surname_look_the_same(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"))
    with pytest.raises(AppointmentNotFound) as wrong_surname:
        engine.cancel(view.reference, surname="Durand", now=NOW, url=url)
    unknown = "RDV-ZZZZZZ" if view.reference != "RDV-ZZZZZZ" else "RDV-YYYYYY"
    with pytest.raises(AppointmentNotFound) as unknown_reference:
        engine.cancel(unknown, surname="Dupont", now=NOW, url=url)
    assert type(wrong_surname.value) is type(unknown_reference.value) is AppointmentNotFound
    assert wrong_surname.value.args == (view.reference,)
    assert unknown_reference.value.args == (unknown,)


def test_cancelling_twice(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"))
    engine.cancel(view.reference, surname="Dupont", now=NOW, url=url)
    with pytest.raises(AppointmentNotFound):
        engine.cancel(view.reference, surname="Dupont", now=NOW, url=url)
    with pytest.raises(AppointmentNotFound):
        engine.cancel(view.reference, sender=("rest", "alice"), now=NOW, url=url)


def test_cancel_leaves_the_other_appointment_of_the_slot(url):
    mine = book(url, MAIRIE, at("2026-12-07", "10:00"))
    theirs = book(url, MAIRIE, at("2026-12-07", "10:00"), surname="Martin", sender_id="bob")
    engine.cancel(mine.reference, surname="Dupont", now=NOW, url=url)
    assert claims_of(url, theirs.reference) == [(MAIRIE, 2, at("2026-12-07", "10:00"))]
    assert stored(url, theirs.reference).status == "booked"
    book(url, MAIRIE, at("2026-12-07", "10:00"), sender_id="carol")  # station 1 again
    with pytest.raises(SlotTaken):
        book(url, MAIRIE, at("2026-12-07", "10:00"), sender_id="dave")


def test_get_appointment(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"), surname="Da Silva")
    assert engine.get_appointment(view.reference, surname="DASILVA", url=url) == view
    assert engine.get_appointment(view.reference, sender=("rest", "alice"), url=url) == view
    with pytest.raises(AppointmentNotFound):
        engine.get_appointment(view.reference, surname="Silva", url=url)


# ---- reschedule -----------------------------------------------------------------------


def test_reschedule_within_the_annex_frees_the_old_slot(url):
    later = datetime(2026, 12, 1, 12, 0)
    view = book(url, COTEAUX, at("2026-12-03", "09:00"), people=2)
    moved = engine.reschedule(
        view.reference,
        engine.Slot(COTEAUX, at("2026-12-03", "10:00"), 30),
        surname="dupont",
        now=later,
        url=url,
    )
    assert (moved.reference, moved.start, moved.site_id, moved.status) == (
        view.reference,
        at("2026-12-03", "10:00"),
        COTEAUX,
        "booked",
    )
    assert claims_of(url, view.reference) == [
        (COTEAUX, 1, at("2026-12-03", "10:00")),
        (COTEAUX, 1, at("2026-12-03", "10:15")),
    ]
    assert stored(url, view.reference).updated_at == later
    assert hours(slots(url, [COTEAUX], "2026-12-03")) == quarter_hours("09:00", "09:30") + quarter_hours(
        "10:30", "11:30"
    )


def test_reschedule_to_another_site(url):
    view = book(url, COTEAUX, at("2026-12-03", "09:00"), people=2)
    book(url, MAIRIE, at("2026-12-07", "10:00"), people=2, sender_id="bob")  # station 1 is taken
    moved = engine.reschedule(
        view.reference,
        engine.Slot(MAIRIE, at("2026-12-07", "10:00"), 30),
        sender=("rest", "alice"),
        now=NOW,
        url=url,
    )
    assert (moved.site_id, moved.site_name, moved.site_address) == (
        MAIRIE,
        "Mairie de Villebrune",
        "1 place de la Mairie, 45990 Villebrune",
    )
    assert claims_of(url, view.reference) == [
        (MAIRIE, 2, at("2026-12-07", "10:00")),
        (MAIRIE, 2, at("2026-12-07", "10:15")),
    ]
    assert stored(url, view.reference).station == 2
    assert hours(slots(url, [COTEAUX], "2026-12-03"))[0] == "09:00"


def test_reschedule_may_overlap_its_own_slot(url):
    view = book(url, COTEAUX, at("2026-12-03", "09:00"), people=2)
    moved = engine.reschedule(
        view.reference,
        engine.Slot(COTEAUX, at("2026-12-03", "09:15"), 30),
        surname="Dupont",
        url=url,
        now=NOW,
    )
    assert moved.start == at("2026-12-03", "09:15")
    assert [start for _, _, start in claims_of(url, view.reference)] == [
        at("2026-12-03", "09:15"),
        at("2026-12-03", "09:30"),
    ]


def test_reschedule_to_a_taken_slot_keeps_the_old_one(url):
    view = book(url, COTEAUX, at("2026-12-03", "09:00"), people=2)
    book(url, COTEAUX, at("2026-12-03", "10:00"), sender_id="bob")
    before = claims_of(url, view.reference)
    with pytest.raises(SlotTaken):
        engine.reschedule(
            view.reference,
            engine.Slot(COTEAUX, at("2026-12-03", "09:45"), 30),  # 10:00 is taken
            surname="Dupont",
            now=datetime(2026, 12, 1, 12, 0),
            url=url,
        )
    assert engine.get_appointment(view.reference, surname="Dupont", url=url) == view
    assert claims_of(url, view.reference) == before
    assert stored(url, view.reference).updated_at == NOW
    assert "09:00" not in hours(slots(url, [COTEAUX], "2026-12-03"))


def test_reschedule_refuses_a_slot_that_is_not_offered(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"))
    for start in (at("2026-12-25", "09:00"), at("2026-12-07", "12:00"), at("2027-02-01", "09:00")):
        with pytest.raises(SlotNotOffered):
            engine.reschedule(
                view.reference, engine.Slot(MAIRIE, start, 15), surname="Dupont", now=NOW, url=url
            )
    assert engine.get_appointment(view.reference, surname="Dupont", url=url) == view


def test_reschedule_needs_the_surname_or_the_sender(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"))
    new = engine.Slot(MAIRIE, at("2026-12-08", "09:00"), 15)
    with pytest.raises(AppointmentNotFound):
        engine.reschedule(view.reference, new, surname="Durand", now=NOW, url=url)
    with pytest.raises(AppointmentNotFound):
        engine.reschedule(view.reference, new, sender=("rest", "bob"), now=NOW, url=url)
    engine.cancel(view.reference, surname="Dupont", now=NOW, url=url)
    with pytest.raises(AppointmentNotFound):  # a cancelled appointment cannot move
        engine.reschedule(view.reference, new, surname="Dupont", now=NOW, url=url)
    assert rows(url, SlotClaim) == 0


def test_reschedule_refuses_another_duration(url):
    view = book(url, MAIRIE, at("2026-12-07", "09:00"))
    with pytest.raises(ValueError):
        engine.reschedule(
            view.reference,
            engine.Slot(MAIRIE, at("2026-12-08", "09:00"), 30),
            surname="Dupont",
            now=NOW,
            url=url,
        )
    assert claims_of(url, view.reference) == [(MAIRIE, 1, at("2026-12-07", "09:00"))]


# ---- listings -----------------------------------------------------------------------------


def test_appointments_of_a_sender(url):
    later = book(url, MAIRIE, at("2026-12-03", "10:00"))
    sooner = book(url, COTEAUX, at("2026-12-01", "14:00"))
    today = book(url, MAIRIE, at("2026-11-30", "10:00"))
    book(url, MAIRIE, at("2026-12-02", "09:00"), sender_id="bob")
    book(url, MAIRIE, at("2026-12-02", "09:00"), channel="telegram")
    gone = book(url, MAIRIE, at("2026-12-02", "10:00"))
    engine.cancel(gone.reference, surname="Dupont", now=NOW, url=url)

    def references(now):
        return [a.reference for a in engine.appointments_of("rest", "alice", now=now, url=url)]

    assert references(NOW) == [today.reference, sooner.reference, later.reference]
    assert references(datetime(2026, 11, 30, 18, 0)) == [today.reference, sooner.reference, later.reference]
    assert references(datetime(2026, 12, 1, 8, 0)) == [sooner.reference, later.reference]
    assert references(datetime(2026, 12, 4, 8, 0)) == []
    assert engine.appointments_of("rest", "nobody", now=NOW, url=url) == []


def test_appointments_on_a_day(url):
    mairie_ten_1 = book(url, MAIRIE, at("2026-12-03", "10:00"))
    mairie_ten_2 = book(url, MAIRIE, at("2026-12-03", "10:00"), sender_id="bob")
    cancelled = book(url, MAIRIE, at("2026-12-03", "09:00"), sender_id="carol")
    engine.cancel(cancelled.reference, surname="Dupont", now=NOW, url=url)
    annex = book(url, COTEAUX, at("2026-12-03", "11:30"))
    book(url, MAIRIE, at("2026-12-04", "09:00"))  # another day
    book(url, MAIRIE, at("2026-12-02", "11:15"))  # the day before

    on_thursday = engine.appointments_on(day("2026-12-03"), url=url)
    assert [(a.reference, a.status) for a in on_thursday] == [
        (annex.reference, "booked"),  # sites in id order, then time, then station
        (cancelled.reference, "cancelled"),
        (mairie_ten_1.reference, "booked"),
        (mairie_ten_2.reference, "booked"),
    ]
    at_mairie = engine.appointments_on(day("2026-12-03"), MAIRIE, url=url)
    assert [a.reference for a in at_mairie] == [
        cancelled.reference,
        mairie_ten_1.reference,
        mairie_ten_2.reference,
    ]
    assert engine.appointments_on(day("2026-12-05"), url=url) == []


def test_appointments_for_applications(url):
    one = book(url, MAIRIE, at("2026-12-07", "09:00"), application_ids=["ab12345678"])
    two = book(
        url, COTEAUX, at("2026-12-08", "14:00"), people=2, application_ids=["CD12345678", "ef12345678"]
    )
    found = engine.appointments_for_applications(["ab12345678", "Cd12345678", "ZZ99999999"], url=url)
    assert {key: [a.reference for a in views] for key, views in found.items()} == {
        "AB12345678": [one.reference],
        "CD12345678": [two.reference],
        "ZZ99999999": [],
    }
    assert found["CD12345678"][0].application_ids == ("CD12345678", "EF12345678")
    assert engine.appointments_for_applications([], url=url) == {}


def test_list_sites(url):
    sites = engine.list_sites(url=url)
    assert [(s.id, s.stations, s.name, s.city) for s in sites] == [
        (COTEAUX, 1, "Mairie annexe des Coteaux", "Villebrune"),
        (MAIRIE, 2, "Mairie de Villebrune", "Villebrune"),
    ]


# ---- seeding ------------------------------------------------------------------------------


def closures_in(url) -> list[tuple[str | None, date, str, str]]:
    with session_scope(url) as session:
        found = session.execute(select(Closure.site_id, Closure.day, Closure.reason, Closure.source)).all()
    return sorted((tuple(row) for row in found), key=lambda row: row[1])


def test_seed_is_idempotent(url):
    add_closure(url, MAIRIE, "2026-12-08", "inventaire")
    add_extra(url, MAIRIE, "2026-12-06", "10:00", "12:00")
    prepare_database(url)
    prepare_database(url)
    assert rows(url, Site) == 3  # the two identity sites and the bulky-waste round
    assert rows(url, WeeklySchedule) == 10 + 2 + 2  # mairie: 2+2+1+2+2+1 intervals, coteaux: 2, round: 2
    assert closures_in(url) == [
        (MAIRIE, day("2026-12-08"), "inventaire", "agent"),  # agents' closures are left alone
        (None, day("2026-12-24"), "veille de Noël", "config"),
        (None, day("2026-12-31"), "veille du jour de l'An", "config"),
        (COTEAUX, day("2027-01-07"), "formation des agents", "config"),
    ]
    assert rows(url, ExtraOpening) == 1
    assert hours(slots(url, [MAIRIE], "2026-12-07")) == quarter_hours("08:45", "11:15") + quarter_hours(
        "13:45", "16:15"
    )


def test_a_site_removed_from_the_file_becomes_inactive(url):
    kept = book(url, COTEAUX, at("2026-12-03", "09:00"))
    config = file_config()
    seed(config.copy(update={"sites": [config.site(MAIRIE)], "closures": []}), url)

    with session_scope(url) as session:
        assert session.get(Site, COTEAUX).active is False  # never deleted: its appointments stay
    assert [s.id for s in engine.list_sites(url=url)] == [MAIRIE]
    assert slots(url, [COTEAUX], "2026-12-01", "2026-12-10") == []
    assert {s.site_id for s in slots(url, BOTH, "2026-12-01", "2026-12-10")} == {MAIRIE}
    assert engine.first_available([COTEAUX], 30, after=day("2026-11-30"), now=NOW, url=url) is None
    with pytest.raises(SlotNotOffered):
        book(url, COTEAUX, at("2026-12-08", "14:00"))
    assert [a.reference for a in engine.appointments_on(day("2026-12-03"), COTEAUX, url=url)] == [
        kept.reference
    ]

    seed(config, url)  # back in the file: active again
    assert hours(slots(url, [COTEAUX], "2026-12-08")) == quarter_hours("14:00", "16:30")


def test_weekly_hours_and_stations_follow_the_file(url):
    config = file_config()
    mairie = config.site(MAIRIE).copy(
        update={"stations": 3, "hours": {"monday": config.site(MAIRIE).hours["friday"]}}
    )
    seed(config.copy(update={"sites": [mairie, config.site(COTEAUX)]}), url)
    assert rows(url, WeeklySchedule) == 2 + 2 + 2  # + the bulky-waste round (another service)
    assert hours(slots(url, [MAIRIE], "2026-12-07")) == quarter_hours("08:45", "11:15") + quarter_hours(
        "13:45", "16:00"
    )
    assert slots(url, [MAIRIE], "2026-12-08") == []  # no Tuesday any more
    for sender in ("a", "b", "c"):
        book(url, MAIRIE, at("2026-12-07", "09:00"), sender_id=sender)
    with pytest.raises(SlotTaken):
        book(url, MAIRIE, at("2026-12-07", "09:00"), sender_id="d")


# ---- regressions: bugs found in review, fixed -------------------------------------------------


def test_book_rejects_zero_people(url):
    with pytest.raises(ValueError):
        book(url, MAIRIE, at("2026-12-07", "09:00"), people=0, duration=0)


def test_book_refuses_a_start_with_seconds(url):
    book(url, COTEAUX, at("2026-12-03", "09:00"))
    with pytest.raises(SlotNotOffered):
        book(url, COTEAUX, datetime(2026, 12, 3, 9, 0, 30), sender_id="bob")


def test_every_offered_slot_can_be_booked_with_a_45_minute_step(url):
    config = file_config(slot_step_minutes=45, minutes_per_document=45, limits=NO_CAPS)
    offered = engine.available_slots(
        [MAIRIE], day("2026-12-07"), day("2026-12-07"), 45, now=NOW, url=url, config=config
    )
    assert hours(offered) == ["09:00", "09:45", "10:30", "14:15", "15:00", "15:45"]
    for slot in offered:
        engine.book(
            slot,
            reason="CNI",
            people=1,
            surname="Dupont",
            channel="rest",
            sender_id="a",
            now=NOW,
            url=url,
            config=config,
        )


# ---- limits on active appointments (no squatting of the booking window) ----------------------


def capped(**limits) -> BookingConfig:
    return file_config(limits={**NO_CAPS, **limits})


def test_a_sender_holds_at_most_the_configured_active_appointments(url):
    config = capped(per_sender=2)
    first = book(url, MAIRIE, at("2026-12-01", "09:00"), surname="Un", config=config)
    book(url, COTEAUX, at("2026-12-01", "14:00"), surname="Deux", config=config)
    with pytest.raises(engine.TooManyAppointments) as refused:
        book(url, MAIRIE, at("2026-12-02", "09:00"), surname="Trois", config=config)
    assert (refused.value.kind, refused.value.limit) == ("sender", 2)
    assert "alice" not in str(refused.value)  # the error names the limit, never the person
    book(url, MAIRIE, at("2026-12-02", "09:00"), sender_id="bob", surname="Trois", config=config)
    book(url, MAIRIE, at("2026-12-02", "09:15"), channel="facebook", surname="Quatre", config=config)
    engine.cancel(first.reference, surname="Un", now=NOW, url=url)  # a cancelled one no longer counts
    book(url, MAIRIE, at("2026-12-02", "10:00"), surname="Cinq", config=config)


def test_past_appointments_do_not_count(url):
    config = capped(per_sender=1)
    book(url, MAIRIE, at("2026-12-01", "09:00"), config=config)
    later = datetime(2026, 12, 1, 12, 0)  # the first one has begun
    book(url, MAIRIE, at("2026-12-02", "09:00"), now=later, config=config)


def test_a_surname_holds_at_most_the_configured_appointments_at_one_site(url):
    config = capped(per_surname_and_site=2)
    book(url, MAIRIE, at("2026-12-01", "09:00"), surname="Lefèvre", sender_id="a", config=config)
    book(url, MAIRIE, at("2026-12-01", "09:15"), surname="LEFEVRE", sender_id="b", config=config)
    with pytest.raises(engine.TooManyAppointments) as refused:
        book(url, MAIRIE, at("2026-12-01", "09:30"), surname=" le-fèvre ", sender_id="c", config=config)
    assert refused.value.kind == "surname"
    book(url, COTEAUX, at("2026-12-01", "14:00"), surname="Lefèvre", sender_id="c", config=config)
    book(url, MAIRIE, at("2026-12-01", "09:30"), surname="Lefort", sender_id="c", config=config)


def test_the_paper_path_is_capped_like_the_online_one(url):
    config = capped(per_sender=1)
    book(url, MAIRIE, at("2026-12-01", "09:00"), application_ids=["AB12345678"], config=config)
    with pytest.raises(engine.TooManyAppointments):
        book(url, MAIRIE, at("2026-12-01", "10:00"), config=config)  # no pre-application number


def bulky_config(**limits) -> BookingConfig:
    return load_bulky_booking_config().copy(update={"limits": BookingLimits(**{**NO_CAPS, **limits})})


def book_pickup(url, on: str, address: str, sender_id: str, config: BookingConfig, surname="Martin"):
    return engine.book(
        engine.Slot("encombrants-villebrune", at(on, "08:00"), 240),
        reason="ENCOMBRANTS",
        people=1,
        surname=surname,
        channel="rest",
        sender_id=sender_id,
        address=address,
        now=NOW,
        url=url,
        config=config,
    )


def test_one_active_pickup_per_address(url):
    config = bulky_config(per_address=1)
    book_pickup(url, "2026-12-03", "12 rue des Lilas", "a", config)
    with pytest.raises(engine.TooManyAppointments) as refused:
        book_pickup(url, "2026-12-08", "12 RUE DES LILAS", "b", config, surname="Autre")
    assert refused.value.kind == "address"
    book_pickup(url, "2026-12-08", "14 rue des Lilas", "b", config, surname="Autre")


def test_the_limits_count_one_service_at_a_time(url):
    identity = capped(per_sender=1)
    book(url, MAIRIE, at("2026-12-01", "09:00"), config=identity)
    book_pickup(url, "2026-12-03", "12 rue des Lilas", "alice", bulky_config(per_sender=1))


def test_the_limits_have_defaults_and_are_checked_in_the_file():
    assert file_config().limits.dict() == {"per_sender": 3, "per_surname_and_site": 3, "per_address": 1}
    assert load_booking_config(DEMO_BOOKING).limits.per_sender == 2
    with pytest.raises(ValueError, match="entre 1 et 50"):
        file_config(limits={"per_sender": 0})
    with pytest.raises(ValueError):
        file_config(limits={"per_person": 2})  # a typo is reported, not ignored


def test_concurrent_bookings_of_one_sender_never_exceed_the_limit(url):
    config = capped(per_sender=2)
    free = slots(url, [MAIRIE], "2026-12-01", duration=15)[:8]
    barrier = threading.Barrier(len(free))

    def attempt(i: int):
        barrier.wait()
        try:
            return engine.book(free[i], reason="CNI", people=1, surname=f"Nom{i}", channel="rest",
                               sender_id="script", now=NOW, url=url, config=config)  # fmt: skip
        except engine.BookingError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(free)) as pool:
        results = list(pool.map(attempt, range(len(free))))
    assert sum(isinstance(r, engine.AppointmentView) for r in results) == 2
    assert all(isinstance(r, (engine.AppointmentView, engine.TooManyAppointments)) for r in results)
    assert len(engine.appointments_of("rest", "script", now=NOW, url=url)) == 2


def test_concurrent_bookings_of_one_surname_never_exceed_the_limit(url):
    config = capped(per_surname_and_site=2)
    free = slots(url, [MAIRIE], "2026-12-01", duration=15)[:8]
    barrier = threading.Barrier(len(free))

    def attempt(i: int):
        barrier.wait()
        try:
            return engine.book(free[i], reason="CNI", people=1, surname="Dupont", channel="rest",
                               sender_id=f"new-{i}", now=NOW, url=url, config=config)  # fmt: skip
        except engine.BookingError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(free)) as pool:
        results = list(pool.map(attempt, range(len(free))))
    assert sum(isinstance(r, engine.AppointmentView) for r in results) == 2

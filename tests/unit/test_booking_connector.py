"""The booking contract (booking/connector.py), run against both adapters: the local engine on its
database, and Publik Chrono (booking/chrono.py) against a local fake Chrono (tests/unit/fake_chrono.py)
that opens the same hours. Same calls, same answers, same errors.

The fixture booking file (tests/unit/test_booking_engine.py's docstring): villebrune-mairie has 2
stations (Mon/Tue 08:45-11:45 + 13:45-16:45, …), villebrune-coteaux 1 (Tue 14:00-17:00, Thu
09:00-12:00); closures 2026-12-24 and 2026-12-31. `now` is Monday 2026-11-30 08:00.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from booking import engine
from booking.config import BookingConfig, load_booking_config
from booking.connector import BookingBackend
from booking.engine import (
    ApplicationAlreadyBooked,
    AppointmentNotFound,
    SlotNotOffered,
    SlotTaken,
    TooManyAppointments,
)
from booking.local import LocalBookingBackend
from booking.models import Appointment, ExternalBooking
from core.db import session_scope
from tests.unit.conftest import BOOKING_FILE
from tests.unit.fake_chrono import chrono_served
from tests.unit.test_booking_engine import file_config

NOW = datetime(2026, 11, 30, 8, 0)  # a Monday
MAIRIE = "villebrune-mairie"
COTEAUX = "villebrune-coteaux"
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
REFERENCE = re.compile(r"^RDV-[A-Z0-9]{6}$")

pytestmark = pytest.mark.usefixtures("fixture_files")


NO_CAPS = file_config(limits={"per_sender": 50, "per_surname_and_site": 50, "per_address": 50})


class Agenda:
    """The backend under test and, for Chrono, its fake (to count what it holds)."""

    def __init__(self, backend: BookingBackend, fake=None) -> None:
        self.backend = backend
        self.fake = fake

    def held(self) -> int | None:
        """Live bookings in the external agenda (None for the local engine)."""
        return None if self.fake is None else len(self.fake.live())


@pytest.fixture(params=["local", "chrono"])
async def agenda(request, db_url):
    if request.param == "local":
        yield Agenda(LocalBookingBackend(db_url))
        return
    async with chrono_served(db_url, load_booking_config(BOOKING_FILE), lambda: NOW) as (fake, backend):
        yield Agenda(backend, fake)


async def slots(agenda: Agenda, sites, first: date, last: date | None = None, duration: int = 15, **options):
    options.setdefault("now", NOW)
    return await agenda.backend.available_slots(list(sites), first, last or first, duration, **options)


def starts(found) -> list[str]:
    return [f"{slot.start:%H:%M}" for slot in found]


async def book(
    agenda: Agenda,
    site: str,
    start: datetime,
    *,
    sender: str = "alice",
    surname: str = "Dupont",
    ids=(),
    people: int = 1,
    reason: str = "CNI",
    config: BookingConfig = NO_CAPS,
):
    duration = engine.duration_for(reason, people, config)
    return await agenda.backend.book(
        engine.Slot(site, start, duration),
        reason=reason,
        people=people,
        surname=surname,
        channel="rest",
        sender_id=sender,
        application_ids=ids,
        now=NOW,
        config=config,
    )


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm))


# ---- free slots ------------------------------------------------------------------------------------


async def test_free_slots_follow_the_opening_hours(agenda):
    found = await slots(agenda, [MAIRIE], MONDAY, duration=30)
    morning = [f"{h:02d}:{m:02d}" for h in range(8, 12) for m in (0, 15, 30, 45)]
    afternoon = [f"{h:02d}:{m:02d}" for h in range(13, 17) for m in (0, 15, 30, 45)]
    expected = [t for t in morning if "08:45" <= t <= "11:15"] + [
        t for t in afternoon if "13:45" <= t <= "16:15"
    ]
    assert starts(found) == expected
    assert {slot.site_id for slot in found} == {MAIRIE} and {s.duration_minutes for s in found} == {30}


@pytest.mark.parametrize(
    "options",
    [
        dict(limit=5),
        dict(limit=4, offset=4),
        dict(limit=6, preferred_time=time(14, 0)),
        dict(time_from=time(14, 0), time_to=time(15, 0)),
        dict(limit=3, time_from=time(9, 0), time_to=time(10, 0)),
    ],
    ids=["first five", "second page", "near two o'clock", "afternoon hour", "morning hour, paged"],
)
async def test_both_sites_in_the_engine_s_order(agenda, db_url, options):
    """What the adapter offers is, slot for slot, what the engine computes from the same hours."""
    found = await slots(agenda, [MAIRIE, COTEAUX], TUESDAY, TUESDAY + timedelta(days=9), **options)
    expected = engine.available_slots(
        [MAIRIE, COTEAUX], TUESDAY, TUESDAY + timedelta(days=9), 15, now=NOW, url=db_url, **options
    )
    assert found == expected and found


async def test_closed_days_have_no_slot(agenda):
    assert await slots(agenda, [MAIRIE], date(2026, 12, 25)) == []  # Noël
    assert await slots(agenda, [MAIRIE], date(2026, 12, 24)) == []  # closure of the booking file
    assert "jour férié" in (await agenda.backend.closed_reason(MAIRIE, date(2026, 12, 25)))


async def test_nothing_before_the_notice_or_beyond_the_window(agenda):
    today = await slots(agenda, [MAIRIE], NOW.date())
    assert today and today[0].start == at(NOW.date(), "09:00")  # 60 minutes' notice from 08:00
    assert await slots(agenda, [MAIRIE], NOW.date() + timedelta(days=61)) == []


# ---- booking ---------------------------------------------------------------------------------------


async def test_a_booking_has_a_reference_and_its_slot_is_taken_once_per_station(agenda):
    first = await book(agenda, MAIRIE, at(MONDAY, "10:00"), sender="a", ids=["ABCDE12345"])
    assert REFERENCE.match(first.reference)
    assert (first.site_id, first.start, first.duration_minutes) == (MAIRIE, at(MONDAY, "10:00"), 15)
    assert (first.status, first.application_ids, first.channel) == ("booked", ("ABCDE12345",), "rest")
    assert first.site_name == "Mairie de Villebrune"
    assert "10:00" in starts(await slots(agenda, [MAIRIE], MONDAY))  # a second station is free
    await book(agenda, MAIRIE, at(MONDAY, "10:00"), sender="b", surname="Martin")
    with pytest.raises(SlotTaken):
        await book(agenda, MAIRIE, at(MONDAY, "10:00"), sender="c", surname="Bernard")
    free = starts(await slots(agenda, [MAIRIE], MONDAY))
    assert "10:00" not in free and "10:15" in free and "09:45" in free
    assert agenda.held() in (None, 2)


async def test_a_longer_appointment_needs_the_whole_interval(agenda):
    await book(agenda, COTEAUX, at(TUESDAY, "14:30"))
    free = starts(await slots(agenda, [COTEAUX], TUESDAY, duration=30))
    assert "14:00" in free and "14:15" not in free and "14:30" not in free and "14:45" in free


async def test_slots_the_agenda_does_not_offer_are_refused(agenda):
    with pytest.raises(SlotNotOffered):
        await book(agenda, MAIRIE, at(MONDAY, "12:30"))  # lunch break
    with pytest.raises(SlotNotOffered):
        await book(agenda, MAIRIE, at(NOW.date(), "08:30"))  # within the notice
    with pytest.raises(SlotNotOffered):
        await book(agenda, "nowhere", at(MONDAY, "10:00"))
    assert agenda.held() in (None, 0)


async def test_a_pre_application_number_holds_one_appointment(agenda):
    await book(agenda, MAIRIE, at(MONDAY, "10:00"), ids=["ABCDE12345"])
    with pytest.raises(ApplicationAlreadyBooked):
        await book(agenda, MAIRIE, at(MONDAY, "11:00"), sender="b", surname="Martin", ids=["abcde12345"])
    assert agenda.held() in (None, 1)  # nothing left in Chrono by the refused one
    found = agenda.backend.appointments_for_applications(["ABCDE12345", "ZZZZZ99999"])
    assert [a.start for a in found["ABCDE12345"]] == [at(MONDAY, "10:00")] and found["ZZZZZ99999"] == []


async def test_the_limits_of_active_appointments(agenda):
    capped = file_config(limits={"per_sender": 1, "per_surname_and_site": 3, "per_address": 1})
    await book(agenda, MAIRIE, at(MONDAY, "10:00"), config=capped)
    with pytest.raises(TooManyAppointments) as refused:
        await book(agenda, MAIRIE, at(MONDAY, "11:00"), config=capped)
    assert refused.value.kind == "sender"
    assert agenda.held() in (None, 1)


async def test_concurrent_bookings_of_one_slot_have_one_winner(agenda):
    start = at(TUESDAY, "14:00")  # the annex has one station

    async def attempt(k: int):
        try:
            return await book(agenda, COTEAUX, start, sender=f"s{k}", surname=f"Nom{k}")
        except SlotTaken:
            return None

    results = await asyncio.gather(*(attempt(k) for k in range(8)))
    assert len([r for r in results if r is not None]) == 1
    assert agenda.held() in (None, 1)


# ---- finding, cancelling, moving -------------------------------------------------------------------


async def test_found_by_reference_and_surname_or_by_its_conversation(agenda):
    view = await book(agenda, MAIRIE, at(MONDAY, "10:00"), surname="Lefèvre")
    backend = agenda.backend
    assert backend.get_appointment(view.reference.lower(), surname="LEFEVRE").start == view.start
    assert backend.get_appointment(view.reference, sender=("rest", "alice")).reference == view.reference
    with pytest.raises(AppointmentNotFound):
        backend.get_appointment(view.reference, surname="Martin")
    with pytest.raises(AppointmentNotFound):
        backend.get_appointment(view.reference, sender=("rest", "mallory"))
    assert [a.reference for a in backend.appointments_of("rest", "alice", now=NOW)] == [view.reference]
    assert backend.appointment_by_reference(view.reference).surname == "Lefèvre"
    assert await backend.still_booked(view.reference)


async def test_a_cancellation_frees_the_slot_and_the_number(agenda):
    view = await book(agenda, COTEAUX, at(TUESDAY, "14:00"), ids=["ABCDE12345"])
    assert "14:00" not in starts(await slots(agenda, [COTEAUX], TUESDAY))
    cancelled = await agenda.backend.cancel(view.reference, surname="dupont", now=NOW)
    assert cancelled.status == "cancelled"
    assert "14:00" in starts(await slots(agenda, [COTEAUX], TUESDAY))
    assert agenda.held() in (None, 0)
    assert not await agenda.backend.still_booked(view.reference)
    with pytest.raises(AppointmentNotFound):
        await agenda.backend.cancel(view.reference, surname="dupont", now=NOW)
    again = await book(agenda, COTEAUX, at(TUESDAY, "14:00"), sender="b", ids=["ABCDE12345"])
    assert again.reference != view.reference


async def test_a_cancellation_needs_the_holder(agenda):
    view = await book(agenda, COTEAUX, at(TUESDAY, "14:00"))
    with pytest.raises(AppointmentNotFound):
        await agenda.backend.cancel(view.reference, surname="Martin", now=NOW)
    assert agenda.backend.get_appointment(view.reference, surname="Dupont").status == "booked"
    assert agenda.held() in (None, 1)


async def test_a_move_takes_the_new_slot_and_frees_the_old(agenda):
    view = await book(agenda, COTEAUX, at(TUESDAY, "14:00"), ids=["ABCDE12345"])
    moved = await agenda.backend.reschedule(
        view.reference, engine.Slot(COTEAUX, at(TUESDAY, "15:30"), 15), surname="Dupont", now=NOW
    )
    assert (moved.reference, moved.start, moved.application_ids) == (
        view.reference,
        at(TUESDAY, "15:30"),
        ("ABCDE12345",),
    )
    free = starts(await slots(agenda, [COTEAUX], TUESDAY))
    assert "14:00" in free and "15:30" not in free
    assert agenda.backend.get_appointment(view.reference, surname="Dupont").start == at(TUESDAY, "15:30")
    assert agenda.held() in (None, 1)


async def test_a_move_to_a_taken_slot_keeps_the_old_one(agenda):
    await book(agenda, COTEAUX, at(TUESDAY, "14:00"), sender="a", surname="Martin")
    view = await book(agenda, COTEAUX, at(TUESDAY, "15:00"), sender="b")
    with pytest.raises(SlotTaken):
        await agenda.backend.reschedule(
            view.reference, engine.Slot(COTEAUX, at(TUESDAY, "14:00"), 15), sender=("rest", "b"), now=NOW
        )
    assert agenda.backend.get_appointment(view.reference, surname="Dupont").start == at(TUESDAY, "15:00")
    assert "15:00" not in starts(await slots(agenda, [COTEAUX], TUESDAY))
    assert agenda.held() in (None, 2)


async def test_the_assistant_keeps_its_record_of_every_appointment(agenda, db_url):
    """Reminders, the agents' day list and the privacy purge read the assistant's database: the
    appointment is there whatever the agenda, with the agenda's booking id for Chrono."""
    view = await book(agenda, MAIRIE, at(MONDAY, "10:00"))
    with session_scope(db_url) as session:
        row = session.execute(select(Appointment).where(Appointment.reference == view.reference)).scalar_one()
        external = session.get(ExternalBooking, row.id)
        assert (row.surname, row.status) == ("Dupont", "booked")
        if agenda.fake is None:
            assert external is None
        else:
            (held,) = agenda.fake.live()
            assert (external.backend, external.agenda, external.booking_id) == (
                "chrono",
                MAIRIE,
                str(held.id),
            )
            assert held.body["label"].startswith(view.reference) and held.body["user_last_name"] == "Dupont"
            assert "user_email" not in held.body and "user_phone_number" not in held.body
    assert [a.reference for a in engine.appointments_on(MONDAY, url=db_url)] == [view.reference]


# ---- behaviours of the engine's own tests (test_booking_engine.py), through the contract -------------


async def test_the_booking_conversation_cancels_without_a_surname_and_spares_the_other_holder(agenda):
    # test_cancel_by_the_booking_sender_without_surname, test_cancel_leaves_the_other_appointment_of_the_slot
    first = await book(agenda, MAIRIE, at(MONDAY, "10:00"), sender="a", surname="Martin")
    second = await book(agenda, MAIRIE, at(MONDAY, "10:00"), sender="b")  # the mairie's second station
    assert "10:00" not in starts(await slots(agenda, [MAIRIE], MONDAY))
    cancelled = await agenda.backend.cancel(second.reference, sender=("rest", "b"), now=NOW)
    assert cancelled.status == "cancelled"
    assert agenda.backend.get_appointment(first.reference, surname="Martin").status == "booked"
    assert "10:00" in starts(await slots(agenda, [MAIRIE], MONDAY))  # one station free again
    assert agenda.held() in (None, 1)
    with pytest.raises(AppointmentNotFound):  # cancelling twice
        await agenda.backend.cancel(second.reference, sender=("rest", "b"), now=NOW)


async def test_a_move_to_the_other_site(agenda):
    # test_reschedule_to_another_site
    view = await book(agenda, MAIRIE, at(MONDAY, "10:00"), ids=["ABCDE12345"])
    moved = await agenda.backend.reschedule(
        view.reference, engine.Slot(COTEAUX, at(TUESDAY, "14:00"), 15), surname="Dupont", now=NOW
    )
    assert (moved.site_id, moved.start, moved.application_ids) == (
        COTEAUX,
        at(TUESDAY, "14:00"),
        ("ABCDE12345",),
    )
    assert "14:00" not in starts(await slots(agenda, [COTEAUX], TUESDAY))
    assert len([s for s in await slots(agenda, [MAIRIE], MONDAY) if s.start == at(MONDAY, "10:00")]) == 1
    assert agenda.held() in (None, 1)


async def test_a_move_needs_the_holder_and_an_offered_slot(agenda):
    # test_reschedule_needs_the_surname_or_the_sender, test_reschedule_refuses_a_slot_that_is_not_offered
    view = await book(agenda, COTEAUX, at(TUESDAY, "14:00"))
    with pytest.raises(AppointmentNotFound):
        await agenda.backend.reschedule(
            view.reference, engine.Slot(COTEAUX, at(TUESDAY, "15:00"), 15), surname="Martin", now=NOW
        )
    with pytest.raises(SlotNotOffered):  # Les Coteaux is closed on Monday
        await agenda.backend.reschedule(
            view.reference, engine.Slot(COTEAUX, at(MONDAY, "10:00"), 15), surname="Dupont", now=NOW
        )
    assert agenda.backend.get_appointment(view.reference, surname="Dupont").start == at(TUESDAY, "14:00")
    assert agenda.held() in (None, 1)


async def test_what_the_hub_reads_sites_and_appointments_by_application(agenda):
    # test_list_sites, test_appointments_for_applications
    assert [site.id for site in agenda.backend.list_sites()] == [COTEAUX, MAIRIE]
    view = await book(agenda, MAIRIE, at(MONDAY, "10:00"), ids=["ABCDE12345", "FGHIJ67890"])
    found = agenda.backend.appointments_for_applications(["abcde12345", "FGHIJ67890", "ZZZZZ99999"])
    assert {key: [a.reference for a in views] for key, views in found.items() if views} == {
        "ABCDE12345": [view.reference],
        "FGHIJ67890": [view.reference],
    }
    await agenda.backend.cancel(view.reference, surname="Dupont", now=NOW)
    assert not any(agenda.backend.appointments_for_applications(["ABCDE12345"]).values())

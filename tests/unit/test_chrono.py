"""The Publik Chrono adapter (booking/chrono.py) when Chrono misbehaves, and its configuration:
signed requests, 401, 5xx, timeouts, unreadable answers, a booking Chrono made though its answer
was lost, the hold given back when the assistant cannot confirm it, a cancellation made in Chrono's
back office. Against the local fake Chrono of tests/unit/fake_chrono.py."""

from __future__ import annotations

import logging
import time as clock
from datetime import date, datetime
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from sqlalchemy import select

from booking import chrono, engine
from booking.ants import AntsSettings
from booking.chrono import ChronoBookingBackend
from booking.config import load_booking_config, load_bulky_booking_config
from booking.connector import BookingUnavailable, booking_backend, chrono_agendas
from booking.engine import ApplicationAlreadyBooked, SlotTaken
from booking.local import LocalBookingBackend
from booking.models import ApplicationClaim, Appointment, ExternalBooking
from core.db import session_scope
from tests.unit.conftest import BOOKING_FILE, BULKY_BOOKING_FILE
from tests.unit.fake_chrono import KEY, ORIG, chrono_served
from tests.unit.local_server import serving
from tests.unit.test_ants import TOKEN as ANTS_TOKEN
from tests.unit.test_ants import VALIDATED, FakeAnts
from tests.unit.test_booking_engine import file_config

NOW = datetime(2026, 11, 30, 8, 0)
MAIRIE = "villebrune-mairie"
COTEAUX = "villebrune-coteaux"
TUESDAY = date(2026, 12, 8)
SLOT = engine.Slot(COTEAUX, datetime(2026, 12, 8, 14, 0), 15)

pytestmark = pytest.mark.usefixtures("fixture_files")


@pytest.fixture
async def served(db_url):
    async with chrono_served(db_url, load_booking_config(BOOKING_FILE), lambda: NOW, timeout_s=1.0) as pair:
        yield pair


async def book(backend, slot=SLOT, *, sender="alice", surname="Dupont", ids=()):
    return await backend.book(
        slot,
        reason="CNI",
        people=1,
        surname=surname,
        channel="rest",
        sender_id=sender,
        application_ids=ids,
        now=NOW,
    )


def records(db_url) -> list[Appointment]:
    with session_scope(db_url) as session:
        return list(session.execute(select(Appointment)).scalars())


# ---- signed requests -------------------------------------------------------------------------------


async def test_every_request_is_signed_with_a_fresh_nonce(served):
    fake, backend = served
    await book(backend)
    assert fake.calls and len(fake.nonces) == len(fake.calls)  # the fake refuses an unsigned or replayed one


async def test_a_refused_key_is_unavailable_and_logged_without_personal_data(served, db_url, caplog):
    fake, _backend = served
    wrong = ChronoBookingBackend(
        fake.base_url, ORIG, "another-key", {COTEAUX: COTEAUX}, url=db_url, timeout_s=1.0
    )
    caplog.set_level(logging.INFO, logger="booking.chrono")
    with pytest.raises(BookingUnavailable) as refused:
        await wrong.available_slots([COTEAUX], TUESDAY, TUESDAY, 15, now=NOW)
    assert refused.value.kind == "unauthorized"
    assert any("401" in r.getMessage() for r in caplog.records)
    assert "another-key" not in repr(wrong) and KEY not in repr(served[1])


async def test_logs_hold_no_name_nor_reference(served, caplog):
    fake, backend = served
    caplog.set_level(logging.DEBUG)
    view = await book(backend, surname="Lefèvre-Personne")
    fake.fail["cancel"].append("error500")
    await backend.cancel(view.reference, surname="Lefèvre-Personne", now=NOW)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Chrono POST /api/booking/<id>/cancel/" in text
    assert view.reference not in text and "Lef" not in text and "user_external_id" not in text


# ---- Chrono down -----------------------------------------------------------------------------------


async def test_a_5xx_on_a_read_is_retried_then_unavailable(served):
    fake, backend = served
    fake.fail["datetimes"] += ["error500", "error500"]
    assert await backend.available_slots([COTEAUX], TUESDAY, TUESDAY, 15, now=NOW)
    assert fake.calls_to("datetimes") == 3
    fake.fail["datetimes"] += ["error500"] * 3
    with pytest.raises(BookingUnavailable) as down:
        await backend.available_slots([COTEAUX], TUESDAY, TUESDAY, 15, now=NOW)
    assert down.value.kind == "server_error"


async def test_a_slow_chrono_times_out_within_the_budget(served):
    fake, backend = served
    fake.fail["datetimes"].append("slow")
    started = clock.monotonic()
    with pytest.raises(BookingUnavailable) as slow:
        await backend.available_slots([COTEAUX], TUESDAY, TUESDAY, 15, now=NOW)
    assert slow.value.kind == "timeout" and clock.monotonic() - started < 2.0


async def test_an_unreadable_answer_is_unavailable(served):
    fake, backend = served
    fake.fail["meetings"].append("malformed")
    with pytest.raises(BookingUnavailable) as unreadable:
        await backend.available_slots([COTEAUX], TUESDAY, TUESDAY, 15, now=NOW)
    assert unreadable.value.kind == "invalid_answer"


async def test_a_failed_fillslot_is_not_repeated_and_nothing_is_recorded(served, db_url):
    fake, backend = served
    fake.fail["fillslot"].append("error500")
    with pytest.raises(BookingUnavailable):
        await book(backend)
    assert fake.calls_to("fillslot") == 1 and fake.live() == [] and records(db_url) == []
    assert fake.calls_to("bookings") == 1  # Chrono was asked whether it booked all the same


async def test_a_booking_chrono_made_though_its_answer_was_lost_is_kept(served, db_url):
    fake, backend = served
    fake.fail["fillslot"].append("slow")  # books, then answers after the client gave up
    view = await book(backend)
    (held,) = fake.live()
    assert fake.calls_to("fillslot") == 1 and held.body["user_external_id"] == f"gru-{view.reference}"
    with session_scope(db_url) as session:
        assert [e.booking_id for e in session.execute(select(ExternalBooking)).scalars()] == [str(held.id)]


async def test_chrono_refusing_the_slot_is_a_slot_taken(served, db_url):
    fake, backend = served
    fake.fail["fillslot"].append("err")
    with pytest.raises(SlotTaken):
        await book(backend)
    assert records(db_url) == []


async def test_the_hold_is_given_back_when_the_record_cannot_be_written(served, db_url, monkeypatch):
    """A pre-application number claimed between the read-only checks and the record: the booking
    made in Chrono is cancelled again, and the citizen gets the engine's error."""
    fake, backend = served
    await book(backend, ids=["ABCDE12345"])
    monkeypatch.setattr(chrono, "precheck", lambda *args: engine.new_reference())  # skip the early check
    later = engine.Slot(COTEAUX, datetime(2026, 12, 8, 15, 0), 15)
    with pytest.raises(ApplicationAlreadyBooked):
        await book(backend, later, sender="bob", surname="Martin", ids=["ABCDE12345"])
    assert len(fake.live()) == 1 and len(fake.bookings) == 2  # the second was made, then cancelled
    assert len(records(db_url)) == 1


async def test_a_cancellation_while_chrono_is_down_changes_nothing(served, db_url):
    fake, backend = served
    view = await book(backend, ids=["ABCDE12345"])
    fake.fail["cancel"] += ["error500"] * 3
    with pytest.raises(BookingUnavailable):
        await backend.cancel(view.reference, surname="Dupont", now=NOW)
    assert fake.calls_to("cancel") == 3  # a cancellation may be repeated: Chrono says « already cancelled »
    assert len(fake.live()) == 1
    assert backend.get_appointment(view.reference, surname="Dupont").status == "booked"


async def test_a_cancellation_already_made_in_chrono_is_done(served):
    fake, backend = served
    view = await book(backend)
    fake.live()[0].cancelled = True  # an agent cancelled it in Chrono's back office
    assert (await backend.cancel(view.reference, surname="Dupont", now=NOW)).status == "cancelled"


async def test_a_move_asks_chrono_to_cancel_the_old_booking(served):
    fake, backend = served
    view = await book(backend)
    (old,) = fake.live()
    await backend.reschedule(
        view.reference, engine.Slot(MAIRIE, datetime(2026, 12, 8, 10, 0), 15), surname="Dupont", now=NOW
    )
    (new,) = fake.live()
    assert old.cancelled and new.agenda == MAIRIE and new.body["cancel_booking_id"] == str(old.id)


async def test_a_booking_cancelled_in_chrono_is_recorded_for_the_reminders(served, db_url):
    fake, backend = served
    view = await book(backend, ids=["ABCDE12345"])
    assert await backend.still_booked(view.reference)
    fake.live()[0].cancelled = True
    assert not await backend.still_booked(view.reference)
    with session_scope(db_url) as session:
        assert session.execute(select(Appointment.status)).scalar_one() == "cancelled"
        assert session.execute(select(ApplicationClaim)).first() is None
    fake.fail["booking"] += ["error500"] * 3
    other = await book(backend, sender="bob", surname="Martin")
    assert await backend.still_booked(other.reference)  # Chrono cannot say: the reminder still goes


async def test_a_cancellation_seen_in_chrono_is_withdrawn_from_ants(served, db_url):
    fake, backend = served
    ants = FakeAnts()
    app = web.Application()
    app.router.add_delete("/api/appointments", ants.appointments)
    async with serving(app) as base:
        backend.ants = AntsSettings(base_url=base + "/api", token=ANTS_TOKEN, timeout_s=2)
        view = await book(backend, ids=[VALIDATED])
        fake.live()[0].cancelled = True  # an agent cancelled it in Chrono's back office
        assert not await backend.still_booked(view.reference)
    assert [(r["method"], dict(r["query"])["application_id"]) for r in ants.requests] == [
        ("DELETE", VALIDATED)
    ]


async def test_sites_outside_chrono_stay_on_the_local_engine(db_url):
    """Bulky-waste rounds have their own booking file: not Chrono's agendas."""
    bulky = load_bulky_booking_config(BULKY_BOOKING_FILE)
    async with chrono_served(db_url, load_booking_config(BOOKING_FILE), lambda: NOW) as (fake, backend):
        site = bulky.sites[0].id
        found = await backend.available_slots(
            [site],
            date(2026, 12, 1),
            date(2026, 12, 20),
            bulky.minutes_per_document,
            now=NOW,
            limit=1,
            config=bulky,
        )
        assert found and fake.calls == []
        view = await backend.book(
            found[0],
            reason="ENCOMBRANTS",
            people=1,
            surname="Dupont",
            channel="rest",
            sender_id="alice",
            address="3 rue des Lilas",
            now=NOW,
            config=bulky,
        )
        assert view.site_id == site and fake.calls == []
        await backend.cancel(view.reference, sender=("rest", "alice"), now=NOW)
        assert fake.calls == []


async def test_an_agenda_without_the_meeting_type_offers_nothing(served, caplog):
    _fake, backend = served
    caplog.set_level(logging.WARNING, logger="booking.chrono")
    assert await backend.available_slots([COTEAUX], TUESDAY, TUESDAY, 165, now=NOW) == []
    assert "no meeting type of 165 minutes" in caplog.text


async def test_slot_urls_of_another_host_are_not_followed(served):
    """The adapter calls the configured Chrono only: of a fillslot_url it keeps the path."""
    fake, backend = served
    fake.base_url = "http://attacker.invalid"
    view = await book(backend)
    assert view.reference and len(fake.live()) == 1


# ---- configuration ---------------------------------------------------------------------------------


def test_the_local_engine_is_the_default():
    assert isinstance(booking_backend(env={}), LocalBookingBackend)


def test_chrono_needs_its_address_and_keys():
    with pytest.raises(ValueError, match="GRU_CHRONO_URL"):
        booking_backend(env={"GRU_BOOKING_BACKEND": "chrono"})
    with pytest.raises(ValueError, match="GRU_BOOKING_BACKEND"):
        booking_backend(env={"GRU_BOOKING_BACKEND": "rdv-solidarites"})
    env = {
        "GRU_BOOKING_BACKEND": "chrono",
        "GRU_CHRONO_URL": "https://agendas.example.fr",
        "GRU_CHRONO_ORIG": ORIG,
        "GRU_CHRONO_KEY": KEY,
        "GRU_CHRONO_TIMEOUT": "3",
        "GRU_CHRONO_AGENDAS": f"{COTEAUX}=cni-passeport-coteaux",
    }
    backend = booking_backend("sqlite:///x.db", env=env)
    assert isinstance(backend, ChronoBookingBackend) and backend.url == "sqlite:///x.db"
    assert backend.agendas == {MAIRIE: MAIRIE, COTEAUX: "cni-passeport-coteaux"}
    assert backend.client.timeout_s == 3.0 and KEY not in repr(backend)
    with pytest.raises(ValueError, match="GRU_CHRONO_TIMEOUT"):
        booking_backend(env={**env, "GRU_CHRONO_TIMEOUT": "soon"})


def test_an_incomplete_configuration_stops_the_start_with_a_french_message():
    from ops import render, servers

    servers.check_booking_backend({})
    with pytest.raises(render.ConfigError, match="l'agenda chrono a besoin de GRU_CHRONO_KEY"):
        servers.check_booking_backend(
            {"GRU_BOOKING_BACKEND": "chrono", "GRU_CHRONO_URL": "https://a.example", "GRU_CHRONO_ORIG": ORIG}
        )


def test_the_booking_file_names_the_agendas():
    config = file_config(backend={"kind": "chrono", "chrono_agendas": {MAIRIE: "cni-mairie"}})
    assert config.backend.kind == "chrono"
    assert chrono_agendas(config, env={}) == {MAIRIE: "cni-mairie", COTEAUX: COTEAUX}
    with pytest.raises(ValueError, match="nowhere"):
        chrono_agendas(config, env={"GRU_CHRONO_AGENDAS": "nowhere=x"})
    env = {"GRU_CHRONO_URL": "https://agendas.example.fr", "GRU_CHRONO_ORIG": ORIG, "GRU_CHRONO_KEY": KEY}
    assert isinstance(booking_backend(env=env, config=config), ChronoBookingBackend)
    assert isinstance(
        booking_backend(env={**env, "GRU_BOOKING_BACKEND": "local"}, config=config), LocalBookingBackend
    )


def test_a_wrong_backend_in_the_booking_file_is_reported_in_french():
    with pytest.raises(ValueError, match="« kind » doit valoir local ou chrono"):
        file_config(backend={"kind": "outlook"})
    with pytest.raises(ValueError, match="site « ailleurs » non défini"):
        file_config(backend={"kind": "chrono", "chrono_agendas": {"ailleurs": "x"}})
    with pytest.raises(ValueError, match="agenda Chrono du site"):
        file_config(backend={"kind": "chrono", "chrono_agendas": {MAIRIE: "../admin"}})


def test_signed_query_shape_with_a_nonce():
    from core.publik_signature import check_signature, sign_query

    signed = sign_query("a=1", KEY, ORIG, nonce="abc123")
    params = parse_qs(signed)
    assert params["nonce"] == ["abc123"] and params["orig"] == [ORIG] and check_signature(signed, KEY)
    assert not check_signature(signed.replace("nonce=abc123", "nonce=abc124"), KEY)

"""The waste actions on rasa-sdk trackers, with the demo content and a temporary database."""

from __future__ import annotations

from datetime import date

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import waste
from booking.models import RememberedAddress
from booking.seed import prepare_database
from channels.calendar import calendar_file
from core.db import session_scope
from tests.unit.test_booking_actions import message, tracker


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'gru.db'}"
    monkeypatch.setenv("GRU_DATABASE_URL", url)
    prepare_database(url)
    return url


async def extract(form, slot, latest, slots=None):
    dispatcher = CollectingDispatcher()
    result = await getattr(form, f"extract_{slot}")(dispatcher, tracker(latest, slots, loop="waste_form"), {})
    return result, dispatcher.messages


async def test_first_message_address_and_stream_are_kept(db):
    latest = message(
        "waste_collection_day",
        "quand passe la poubelle jaune 12 avenue jean jaures",
        [("waste_type", "recyclables"), ("address", "12 avenue jean jaures")],
    )
    result, _ = await extract(waste.ValidateWasteForm(), "waste_street", latest)
    assert result["waste_stream"] == "recyclables"
    assert (result["waste_street"], result["waste_number"], result["waste_sector"]) == (
        "Avenue Jean Jaurès",
        12,
        "gare",
    )


async def test_a_split_street_without_number_asks_for_it(db):
    form = waste.ValidateWasteForm()
    result, _ = await extract(
        form, "waste_street", message(text="rue victor hugo"), {"requested_slot": "waste_street"}
    )
    assert result["waste_street"] == "Rue Victor Hugo" and result["waste_sector"] is None
    slots = {**result, "requested_slot": "waste_number"}
    assert await form.required_slots(
        ["waste_street", "waste_number"], None, tracker(message(), slots), {}
    ) == [
        "waste_street",
        "waste_number",
    ]
    result, _ = await extract(form, "waste_number", message(text="le 7"), slots)
    assert result["waste_number"] == 7 and result["waste_sector"] == "centre"


async def test_an_unknown_address_says_so_with_the_service_contact(db):
    result, said = await extract(
        waste.ValidateWasteForm(),
        "waste_street",
        message(text="12 rue de Rivoli Paris"),
        {"requested_slot": "waste_street"},
    )
    assert result["waste_street"] is None and result["waste_failures"] == 1
    assert (
        "Je ne trouve pas cette adresse à Villebrune" in said[0]["text"]
        and "01 99 00 10 70" in said[0]["text"]
    )


async def test_close_candidates_become_buttons(db):
    result, said = await extract(
        waste.ValidateWasteForm(),
        "waste_street",
        message(text="rue de la paix"),
        {"requested_slot": "waste_street"},
    )
    titles = [b["title"] for b in said[0].get("buttons", [])] if said else []
    if result.get("waste_street") is None:  # two streets close enough to ask
        assert len(titles) >= 2 and all("street:" in b["payload"] for b in said[0]["buttons"])
    else:
        assert result["waste_street"] == "Rue de la Paix"


async def test_collection_days_answer_with_calendar_and_consent(db):
    slots = {"waste_street": "Avenue Jean Jaurès", "waste_number": 12, "waste_sector": "gare"}
    dispatcher = CollectingDispatcher()
    await waste.ActionWasteCollectionDays().run(dispatcher, tracker(message(), slots, loop=None), {})
    first, second = dispatcher.messages
    assert first["text"].startswith("Au 12 Avenue Jean Jaurès :")
    urls = [b["url"] for b in second["buttons"] if b.get("type") == "web_url"]
    assert urls and "sector=gare" in urls[0]
    assert {"Oui, retenez-la", "Non merci"} <= {b["title"] for b in second["buttons"]}


async def test_remember_then_delete_my_data(db):
    slots = {"waste_street": "Rue Pasteur", "waste_number": 3, "waste_sector": "centre"}
    await waste.ActionRememberAddress().run(CollectingDispatcher(), tracker(message(), slots, loop=None), {})
    with session_scope() as session:
        saved = session.get(RememberedAddress, ("rest", "citizen-1"))
        assert (saved.street, saved.housenumber) == ("Rue Pasteur", 3)
    later = message("waste_collection_day", "et le verre ?", [("waste_type", "verre")])
    result, said = await extract(waste.ValidateWasteForm(), "waste_street", later)
    assert result["waste_street"] == "Rue Pasteur" and "adresse enregistrée" in said[0]["text"]
    dispatcher = CollectingDispatcher()
    await waste.ActionDeleteMyData().run(dispatcher, tracker(message("delete_my_data"), loop=None), {})
    assert "effacée" in dispatcher.messages[0]["text"]
    with session_scope() as session:
        assert session.get(RememberedAddress, ("rest", "citizen-1")) is None


async def test_refused_bulky_items_are_explained():
    form = waste.ValidateBulkyForm()
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "bulky_items"}
    result = await form.extract_bulky_items(dispatcher, tracker(message(text="des gravats"), slots), {})
    assert result["bulky_items"] is None and "déchetterie" in dispatcher.messages[0]["text"]
    result = await form.extract_bulky_items(dispatcher, tracker(message(text="un canapé"), slots), {})
    assert result["bulky_items"] == "un canapé"


async def test_sorting_and_recycling_answers():
    dispatcher = CollectingDispatcher()
    await waste.ActionSortingRules().run(
        dispatcher, tracker(message("sorting_rules", "où jeter les piles ?")), {}
    )
    assert "pile" in dispatcher.messages[0]["text"].lower()
    dispatcher = CollectingDispatcher()
    await waste.ActionRecyclingCenter().run(dispatcher, tracker(message("recycling_center", "horaires")), {})
    text = dispatcher.messages[0]["text"]
    assert "déchetterie" in text.lower() and len(text) <= waste.MESSAGE_LIMIT


def test_calendar_file_is_served_for_a_known_sector_only():
    status, body = calendar_file("gare", "Avenue Jean Jaurès", date(2026, 12, 1))
    assert status == 200 and body.startswith("BEGIN:VCALENDAR\r\n") and "BEGIN:VEVENT" in body
    assert calendar_file("nowhere", "", date(2026, 12, 1))[0] == 404

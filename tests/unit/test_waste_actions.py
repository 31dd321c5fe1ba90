"""The waste actions on rasa-sdk trackers, with the demo content and a temporary database:
what they read, which response they choose and the values they pass (the texts are
responses of domain/waste.yml)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.waste_chat import bulky, collection, privacy, recycling, sorting
from booking import memory
from booking.seed import prepare_database
from channels.calendar import calendar_file
from tests.unit.test_booking_actions import message, tracker

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain" / "waste.yml").read_text(encoding="utf-8"))
FORMS = {"forms": DOMAIN["forms"]}


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'gru.db'}"
    monkeypatch.setenv("GRU_DATABASE_URL", url)
    prepare_database(url)
    return url


async def extract(form, slot, latest, slots=None, loop="waste_form"):
    dispatcher = CollectingDispatcher()
    result = await getattr(form, f"extract_{slot}")(dispatcher, tracker(latest, slots, loop=loop), {})
    return result, dispatcher.messages


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_every_response_the_actions_use_is_in_the_domain():
    used = set()
    for path in (ROOT / "actions" / "waste_chat").glob("*.py"):
        used |= set(re.findall(r"\"(utter_[a-z_]+)\"", path.read_text(encoding="utf-8")))
    responses = set()
    for path in (ROOT / "domain").glob("*.yml"):
        responses |= set(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    assert used and used <= responses, used - responses


# ---- collection days -----------------------------------------------------------------------------


async def test_first_message_address_and_stream_are_kept(db):
    latest = message(
        "waste_collection_day",
        "quand passe la poubelle jaune 12 avenue jean jaures",
        [("waste_type", "recyclables"), ("address", "12 avenue jean jaures")],
    )
    result, _ = await extract(collection.ValidateWasteForm(), "waste_street", latest)
    assert result["waste_stream"] == "recyclables"
    assert (result["waste_street"], result["waste_number"], result["waste_sector"]) == (
        "Avenue Jean Jaurès",
        12,
        "gare",
    )


async def test_a_split_street_without_number_asks_for_it(db):
    form = collection.ValidateWasteForm()
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
    result, said = await extract(form, "waste_number", message(text="pas de numéro"), slots)
    assert result["waste_number"] is None and said[0]["response"] == "utter_waste_number_needed"
    result, _ = await extract(form, "waste_number", message(text="le 7"), slots)
    assert result["waste_number"] == 7 and result["waste_sector"] == "centre"


async def test_an_unknown_address_says_so_with_the_service_contact(db):
    result, said = await extract(
        collection.ValidateWasteForm(),
        "waste_street",
        message(text="12 rue de Rivoli Paris"),
        {"requested_slot": "waste_street"},
    )
    assert result["waste_street"] is None and result["form_failures"] == 1
    assert said[0]["response"] == "utter_waste_address_unknown"
    assert (said[0]["city"], said[0]["phone"]) == ("Villebrune", "01 99 00 10 70")


async def test_close_candidates_become_buttons(db):
    result, said = await extract(
        collection.ValidateWasteForm(),
        "waste_street",
        message(text="rue de la paix"),
        {"requested_slot": "waste_street"},
    )
    if result.get("waste_street") is None:  # two streets close enough to ask
        assert said[0]["response"] == "utter_waste_which_street"
        assert len(said[0]["buttons"]) >= 2 and all("street:" in b["payload"] for b in said[0]["buttons"])
    else:
        assert result["waste_street"] == "Rue de la Paix"


async def test_three_unusable_addresses_end_the_form_with_the_way_out(db):
    form = collection.ValidateWasteForm()
    slots = {"requested_slot": "waste_street", "form_failures": 2}
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker(message(text="azertyuiop"), slots, loop="waste_form"), FORMS)
    assert slot_events(events)["form_outcome"] == "failed" and slot_events(events)["requested_slot"] is None
    done = CollectingDispatcher()
    after = {"form_outcome": "failed", "form_failures": 3}
    events = await collection.ActionWasteCollectionDays().run(done, tracker(message(), after, loop=None), {})
    assert (
        done.messages[0]["response"] == "utter_form_failed" and done.messages[0]["phone"] == "01 99 00 10 70"
    )
    assert [b["title"] for b in done.messages[0]["buttons"]] == ["Reprendre", "Parler à un agent"]
    assert done.messages[0]["buttons"][0]["payload"] == "/waste_collection_day"


async def test_stop_is_read_on_the_tracker_rasa_sends_to_the_validation(db):
    """Rasa validates on a copy of the tracker that ends with the form's own action."""
    latest = tracker(message("stop", "stop"), {"requested_slot": "waste_street"}, loop="waste_form")
    latest.latest_action_name = "waste_form"
    latest.events = [{"event": "action", "name": "action_listen"}, *latest.events]
    latest.events.append({"event": "action", "name": "waste_form"})
    events = await collection.ValidateWasteForm().run(CollectingDispatcher(), latest, FORMS)
    assert slot_events(events)["form_outcome"] == "stopped"


async def test_stop_in_the_middle_says_the_waste_stop(db):
    form = collection.ValidateWasteForm()
    events = await form.run(
        CollectingDispatcher(),
        tracker(message("stop", "stop"), {"requested_slot": "waste_street"}, loop="waste_form"),
        FORMS,
    )
    assert slot_events(events)["form_outcome"] == "stopped"
    dispatcher = CollectingDispatcher()
    events = await collection.ActionWasteCollectionDays().run(
        dispatcher,
        tracker(message(), {"form_outcome": "stopped", "waste_street": "Rue Pasteur"}, loop=None),
        {},
    )
    assert dispatcher.messages[0]["response"] == "utter_waste_stopped"
    assert slot_events(events)["waste_street"] is None


async def test_collection_days_answer_with_calendar_and_consent(db):
    slots = {"waste_street": "Avenue Jean Jaurès", "waste_number": 12, "waste_sector": "gare"}
    dispatcher = CollectingDispatcher()
    events = await collection.ActionWasteCollectionDays().run(
        dispatcher, tracker(message(), slots, loop=None), {}
    )
    first, second = dispatcher.messages
    assert first["response"] == "utter_waste_collections_at_number"
    assert (first["number"], first["street"]) == (12, "Avenue Jean Jaurès") and " : " in first["collections"]
    assert second["response"] == "utter_ask_remember_address_with_link"
    urls = [b["url"] for b in second["buttons"] if b.get("type") == "web_url"]
    assert urls and "sector=gare" in urls[0]
    kept = slot_events(events)
    assert "waste_street" not in kept and kept["waste_stream"] is None  # the address stays for the consent


async def test_messenger_gets_the_calendar_as_a_card(db):
    slots = {"waste_street": "Rue Pasteur", "waste_number": None, "waste_sector": "centre"}
    dispatcher = CollectingDispatcher()
    await collection.ActionWasteCollectionDays().run(
        dispatcher, tracker(message(), slots, loop=None, channel="facebook"), {}
    )
    heading, card, question = dispatcher.messages
    assert heading["response"] == "utter_waste_collections_in_street"
    assert card["elements"][0]["buttons"][0]["url"].endswith("sector=centre&street=Rue+Pasteur")
    assert question["response"] == "utter_ask_remember_address"


async def test_remember_then_delete_my_data(db):
    slots = {"waste_street": "Rue Pasteur", "waste_number": 3, "waste_sector": "centre"}
    dispatcher = CollectingDispatcher()
    await collection.ActionRememberAddress().run(dispatcher, tracker(message(), slots, loop=None), {})
    assert dispatcher.messages[0]["response"] == "utter_address_remembered"
    assert memory.recall("rest", "citizen-1").street == "Rue Pasteur"
    later = message("waste_collection_day", "et le verre ?", [("waste_type", "verre")])
    result, said = await extract(collection.ValidateWasteForm(), "waste_street", later)
    assert result["waste_street"] == "Rue Pasteur" and result["waste_stream"] == "verre"
    assert said[0] == {**said[0], "response": "utter_waste_saved_address_used", "address": "3 Rue Pasteur"}
    dispatcher = CollectingDispatcher()
    events = await privacy.ActionDeleteMyData().run(
        dispatcher, tracker(message("delete_my_data"), loop=None), {}
    )
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_my_address_deleted",
        "utter_my_data_other_requests",
    ]
    assert memory.recall("rest", "citizen-1") is None and slot_events(events)["waste_street"] is None
    dispatcher = CollectingDispatcher()
    await privacy.ActionDeleteMyData().run(dispatcher, tracker(message("delete_my_data"), loop=None), {})
    assert dispatcher.messages[0]["response"] == "utter_no_address_kept"


async def test_nothing_to_remember_without_an_address(db):
    dispatcher = CollectingDispatcher()
    await collection.ActionRememberAddress().run(dispatcher, tracker(message(), {}, loop=None), {})
    assert dispatcher.messages[0]["response"] == "utter_no_address_to_remember"
    dispatcher = CollectingDispatcher()
    await collection.ActionAddressNotKept().run(dispatcher, tracker(message("deny"), {}, loop=None), {})
    assert dispatcher.messages[0]["response"] == "utter_deny_ack"
    street = {"waste_street": "Rue Pasteur"}
    await collection.ActionAddressNotKept().run(dispatcher, tracker(message("deny"), street, loop=None), {})
    assert dispatcher.messages[1]["response"] == "utter_address_not_kept"


# ---- bulky waste ---------------------------------------------------------------------------------


async def test_refused_bulky_items_are_explained_from_the_content_file():
    form = bulky.ValidateBulkyForm()
    slots = {"requested_slot": "bulky_items"}
    result, said = await extract(form, "bulky_items", message(text="des gravats"), slots, loop="bulky_form")
    assert result["bulky_items"] is None and said[0]["response"] == "utter_bulky_item_refused"
    assert said[0]["item"] == "gravats"
    result, said = await extract(
        form, "bulky_items", message(text="une bouteille de gaz"), slots, loop="bulky_form"
    )
    assert (
        said[0]["response"] == "utter_bulky_item_refused_elsewhere"
        and said[0]["advice"] == "à rapporter au vendeur"
    )
    result, _ = await extract(form, "bulky_items", message(text="un canapé"), slots, loop="bulky_form")
    assert result["bulky_items"] == "un canapé" and result["form_failures"] == 0


async def test_a_refused_item_with_the_bulky_intent_does_not_leave_the_form():
    form = bulky.ValidateBulkyForm()
    slots = {"requested_slot": "bulky_items"}
    latest = message("bulky_waste", "des gravats et un canapé")
    events = await form.run(CollectingDispatcher(), tracker(latest, slots, loop="bulky_form"), FORMS)
    assert "form_outcome" not in slot_events(events) and slot_events(events)["form_failures"] == 1


async def test_another_flow_asked_for_ends_the_form_as_switched():
    form = bulky.ValidateBulkyForm()
    slots = {"requested_slot": "bulky_items"}
    latest = message("waste_collection_day", "et les jours de collecte ?")
    events = await form.run(CollectingDispatcher(), tracker(latest, slots, loop="bulky_form"), FORMS)
    assert slot_events(events)["form_outcome"] == "switched"


async def test_cancel_appointment_leaves_the_bulky_form():
    form = bulky.ValidateBulkyForm()
    latest = message("cancel_appointment", "annuler")
    events = await form.run(
        CollectingDispatcher(), tracker(latest, {"requested_slot": "bulky_items"}, loop="bulky_form"), FORMS
    )
    assert slot_events(events)["form_outcome"] == "stopped"


async def test_a_pick_up_is_booked_and_confirmed(db):
    form = bulky.ValidateBulkyForm()
    dispatcher = CollectingDispatcher()
    events = await bulky.ActionAskBulkySlot().run(dispatcher, tracker(message(), loop="bulky_form"), {})
    offered = slot_events(events)["bulky_offered"]
    assert offered and dispatcher.messages[0]["response"] == "utter_bulky_which_morning"
    assert all(
        b["title"].endswith("(matin)") and len(b["title"]) <= 20 for b in dispatcher.messages[0]["buttons"]
    )
    slots = {"requested_slot": "bulky_slot", "bulky_offered": offered}
    result, _ = await extract(form, "bulky_slot", message(text="le deuxième"), slots, loop="bulky_form")
    assert result["bulky_slot"] == offered[1]
    forged = message(text="/inform", entities=[("choice", "mairie-centre@2030-01-08T08:00")])
    result, said = await extract(form, "bulky_slot", forged, slots, loop="bulky_form")
    assert result["bulky_slot"] is None and said[0]["response"] == "utter_bulky_slot_invalid"
    result, _ = await extract(
        form,
        "bulky_surname",
        message(text="c'est Mme Girard"),
        {"requested_slot": "bulky_surname"},
        "bulky_form",
    )
    assert result["bulky_surname"] == "GIRARD"
    slots = {
        "requested_slot": "bulky_confirmed",
        "bulky_street": "Rue du Moulin",
        "bulky_number": 3,
        "bulky_items": "un canapé",
        "bulky_slot": offered[0],
        "bulky_surname": "GIRARD",
    }
    dispatcher = CollectingDispatcher()
    await bulky.ActionAskBulkyConfirmed().run(dispatcher, tracker(message(), slots, loop="bulky_form"), {})
    summary = dispatcher.messages[0]
    assert summary["response"] == "utter_bulky_summary" and summary["address"] == "3 Rue du Moulin"
    result, _ = await extract(form, "bulky_confirmed", message("affirm", "oui"), slots, loop="bulky_form")
    assert result["bulky_confirmed"] is True and result["bulky_reference"].startswith("RDV-")
    dispatcher = CollectingDispatcher()
    done = {**slots, **result, "requested_slot": None}
    events = await bulky.ActionBulkyDone().run(dispatcher, tracker(message(), done, loop=None), {})
    assert dispatcher.messages[0]["response"] == "utter_bulky_booked"
    assert dispatcher.messages[0]["reference"] == result["bulky_reference"]
    assert slot_events(events)["bulky_reference"] is None


async def test_no_to_the_summary_books_nothing(db):
    form = bulky.ValidateBulkyForm()
    result, _ = await extract(
        form, "bulky_confirmed", message("deny", "non"), {"requested_slot": "bulky_confirmed"}, "bulky_form"
    )
    assert result["bulky_confirmed"] is False
    dispatcher = CollectingDispatcher()
    await bulky.ActionBulkyDone().run(
        dispatcher, tracker(message(), {"bulky_confirmed": False}, loop=None), {}
    )
    assert dispatcher.messages[0]["response"] == "utter_bulky_not_booked"


# ---- recycling centre and sorting guide ----------------------------------------------------------


async def test_sorting_and_recycling_answers():
    dispatcher = CollectingDispatcher()
    await sorting.ActionSortingRules().run(
        dispatcher, tracker(message("sorting_rules", "où jeter les piles ?"), loop=None), {}
    )
    assert dispatcher.messages[0]["response"] == "utter_sorting_answer"
    assert "pile" in dispatcher.messages[0]["answer"].lower()
    dispatcher = CollectingDispatcher()
    await recycling.ActionRecyclingCenter().run(
        dispatcher, tracker(message("recycling_center", "horaires"), loop=None), {}
    )
    answer = dispatcher.messages[0]["answer"]
    assert dispatcher.messages[0]["response"] == "utter_recycling_center"
    assert "déchetterie" in answer.lower() and len(answer) <= 900
    dispatcher = CollectingDispatcher()
    latest = message("recycling_center", "/recycling_center", [("choice", "materials")])
    await recycling.ActionRecyclingCenter().run(dispatcher, tracker(latest, loop=None), {})
    assert dispatcher.messages[0]["response"] == "utter_recycling_center_materials"
    assert "gravats" in dispatcher.messages[0]["answer"]


def test_calendar_file_is_served_for_a_known_sector_only():
    status, body = calendar_file("gare", "Avenue Jean Jaurès", date(2026, 12, 1))
    assert status == 200 and body.startswith("BEGIN:VCALENDAR\r\n") and "BEGIN:VEVENT" in body
    assert calendar_file("nowhere", "", date(2026, 12, 1))[0] == 404
